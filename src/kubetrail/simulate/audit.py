"""The kube-apiserver's audit log for a simulated cluster, as its log backend writes it.

One `audit.k8s.io/v1` Event per line: the fields in the order of the Go struct, `&`, `<` and `>`
escaped as Go's JSON encoder escapes them, the lines in the order the backend writes them, that is
by `stageTimestamp` (a watch, a log stream or an exec writes `ResponseStarted` when it starts and
`ResponseComplete` when it ends). The audit policy imitated omits `RequestReceived`, logs pod
creations and bindings at RequestResponse and everything else at Metadata, so no Secret's data is
ever written. Its clock is the reference: the model's times are printed as they are.

The webhook backend, when asked for (`write_audit`), gets the same events: its POST bodies, one
`EventList` per line as a collector stores them, each the events of up to 30 s (at most 400, the
backend's batch defaults) in the log's order, the same bytes per event as in the log. A few
bodies are stored twice, verbatim: the collector kept the body but answered too late, and the
API server sent it again. So every event of the webhook file is one of the log's.

Two kinds of traffic are merged:
- the model's lifecycle at its own times: a rollout (the CI bot patches a workload, the deployment
  controller creates a ReplicaSet), and per pod its creation, binding, token requests, status,
  endpoint updates and deletion;
- the background chatter: a mix of request streams (leases, node and pod status, informer watches,
  operators and apps reading their objects, people using kubectl), each with the natural rate it
  has in a six-node cluster (`_background`), scaled together so that the requested number of
  events fills the cluster's period.
"""

from __future__ import annotations

import random
from bisect import bisect
from collections import defaultdict, deque
from collections.abc import Callable
from functools import partial
from itertools import accumulate
from pathlib import Path
from typing import IO, Any, Final, NamedTuple
from urllib.parse import urlencode

import orjson

from kubetrail.simulate.clock import TimeOrdered, Times, second
from kubetrail.simulate.cluster import (
    K8S_COMMIT,
    K8S_VERSION,
    NS,
    Cluster,
    Node,
    Pod,
    Revision,
    ServiceAccount,
    User,
    Workload,
    random_name,
    uuid4,
)

Json = dict[str, Any]
Act = Callable[["_Writer", int], None]

MS: Final = 1_000_000
_API_VERSION: Final = "audit.k8s.io/v1"
_OK: Final[Json] = {"metadata": {}, "code": 200}
_CREATED: Final[Json] = {"metadata": {}, "code": 201}
_SWITCHED: Final[Json] = {"metadata": {}, "code": 101}  # exec: the connection was upgraded
_WATCH_SECONDS: Final = (300, 600)  # client-go asks for a random timeout in [5, 10) minutes
_RESOURCE_VERSIONS_PER_S: Final = 25  # etcd writes per second: how fast resourceVersion grows
_BATCH_MAX: Final = 400  # --audit-webhook-batch-max-size
_BATCH_WAIT_NS: Final = 30 * NS  # --audit-webhook-batch-max-wait
_RESENT: Final = 0.03  # of webhook batches, those the collector stores twice
_EVENT_LIST: Final = b'{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":['


# ---- API resources -----------------------------------------------------------------------


class _Res(NamedTuple):
    group: str
    version: str
    plural: str

    def path(self, namespace: str = "") -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        return f"{base}/namespaces/{namespace}/{self.plural}" if namespace else f"{base}/{self.plural}"

    def ref(self, namespace: str = "", name: str = "", *, uid: str = "", rv: str = "", sub: str = "") -> dict[str, str]:
        """The event's objectRef, its fields in Go's order and empty ones omitted."""
        ref = {"resource": self.plural}
        if namespace:
            ref["namespace"] = namespace
        if name:
            ref["name"] = name
        if uid:
            ref["uid"] = uid
        if self.group:
            ref["apiGroup"] = self.group
        ref["apiVersion"] = self.version
        if rv:
            ref["resourceVersion"] = rv
        if sub:
            ref["subresource"] = sub
        return ref


PODS: Final = _Res("", "v1", "pods")
NODES: Final = _Res("", "v1", "nodes")
SECRETS: Final = _Res("", "v1", "secrets")
CONFIGMAPS: Final = _Res("", "v1", "configmaps")
SERVICES: Final = _Res("", "v1", "services")
NAMESPACES: Final = _Res("", "v1", "namespaces")
SERVICEACCOUNTS: Final = _Res("", "v1", "serviceaccounts")
PVCS: Final = _Res("", "v1", "persistentvolumeclaims")
LEASES: Final = _Res("coordination.k8s.io", "v1", "leases")
ENDPOINTSLICES: Final = _Res("discovery.k8s.io", "v1", "endpointslices")
DEPLOYMENTS: Final = _Res("apps", "v1", "deployments")
REPLICASETS: Final = _Res("apps", "v1", "replicasets")
DAEMONSETS: Final = _Res("apps", "v1", "daemonsets")
STATEFULSETS: Final = _Res("apps", "v1", "statefulsets")
JOBS: Final = _Res("batch", "v1", "jobs")
INGRESSES: Final = _Res("networking.k8s.io", "v1", "ingresses")
INGRESSCLASSES: Final = _Res("networking.k8s.io", "v1", "ingressclasses")
CERTIFICATES: Final = _Res("cert-manager.io", "v1", "certificates")
ISSUERS: Final = _Res("cert-manager.io", "v1", "issuers")
PROMETHEUSES: Final = _Res("monitoring.coreos.com", "v1", "prometheuses")
SERVICEMONITORS: Final = _Res("monitoring.coreos.com", "v1", "servicemonitors")
_WORKLOAD_RESOURCES: Final = {"Deployment": DEPLOYMENTS, "DaemonSet": DAEMONSETS, "StatefulSet": STATEFULSETS}

# ---- what the workloads ask the API server -----------------------------------------------
# Keyed by workload (namespace/name); a workload absent from a table makes no such requests.

# Informers: (resource, watched in the pod's own namespace only?). Each restarts its watch when
# the watch's timeout ends, so it starts one every ~7.5 minutes per replica.
_INFORMERS: Final[dict[str, tuple[tuple[_Res, bool], ...]]] = {
    "kube-system/coredns": ((SERVICES, False), (ENDPOINTSLICES, False), (NAMESPACES, False)),
    "kube-system/kube-proxy": ((SERVICES, False), (ENDPOINTSLICES, False)),
    "kube-system/metrics-server": ((NODES, False), (PODS, False)),
    "monitoring/prometheus": ((PODS, False), (SERVICES, False), (ENDPOINTSLICES, False), (NODES, False)),
    "monitoring/prometheus-operator": ((PROMETHEUSES, False), (SERVICEMONITORS, False), (STATEFULSETS, True),
                                       (SECRETS, True)),
    "monitoring/grafana": ((CONFIGMAPS, True),),
    "cert-manager/cert-manager": ((CERTIFICATES, False), (ISSUERS, False), (SECRETS, False)),
    "ingress-nginx/ingress-nginx-controller": ((INGRESSES, False), (INGRESSCLASSES, False), (SERVICES, False),
                                               (ENDPOINTSLICES, False), (SECRETS, False), (CONFIGMAPS, True)),
}  # fmt: skip
# Leader election: (lease namespace, lease name, requests/s). Every replica gets the lease; the
# leader (the oldest replica alive) also renews it.
_LEADER_LEASES: Final = {
    "cert-manager/cert-manager": ("kube-system", "cert-manager-controller", 0.13),
    "ingress-nginx/ingress-nginx-controller": ("ingress-nginx", "ingress-nginx-leader", 0.5),
}
# Objects a workload's pods read in their own namespace: (resource, name, gets/s per pod).
_READS: Final[dict[str, tuple[tuple[_Res, str, float], ...]]] = {
    "payments/payments-api": ((SECRETS, "payments-db-credentials", 0.02),),
    "payments/payments-worker": ((SECRETS, "stripe-api-key", 0.02),),
    "cert-manager/cert-manager": ((SECRETS, "letsencrypt-account-key", 0.01),),
    "monitoring/prometheus-operator": ((SECRETS, "alertmanager-main", 0.01), (CONFIGMAPS, "prometheus-k8s-rulefiles", 0.01)),
}
_AGENTS: Final = {
    "kube-system/kube-proxy": f"kube-proxy/{K8S_VERSION} (linux/amd64) kubernetes/{K8S_COMMIT}",
    "kube-system/fluent-bit": "fluent-bit/3.0.4",
    "monitoring/prometheus": "Prometheus/2.52.0",
    "ci/runner": "kubectl/v1.30.2 (linux/amd64) kubernetes/3968350",
}
_DEPLOYER: Final = "ci/runner"  # its pods run as system:serviceaccount:ci:deployer and roll out the apps
_APP_NAMESPACES: Final = ("shop", "payments")  # the apps the deployer watches over
_DEPLOYED_NAMESPACES: Final = (*_APP_NAMESPACES, "ci")  # rolled out by the deployer; the rest by the SRE
_LOG_COLLECTOR: Final = "kube-system/fluent-bit"  # asks for the metadata of pods on its node
_CONTROLLER_INFORMERS: Final = (PODS, NODES, REPLICASETS, DEPLOYMENTS, DAEMONSETS, STATEFULSETS, JOBS, SERVICES,
                                ENDPOINTSLICES, NAMESPACES, SERVICEACCOUNTS, SECRETS, CONFIGMAPS, PVCS, LEASES)  # fmt: skip
_SCHEDULER_INFORMERS: Final = (PODS, NODES, PVCS, NAMESPACES, STATEFULSETS)
_OWNER_CONTROLLERS: Final = {"ReplicaSet": "replicaset-controller", "DaemonSet": "daemon-set-controller",
                             "StatefulSet": "statefulset-controller"}  # fmt: skip
_SHELLS: Final = (("sh",), ("bash",), ("/bin/sh",))
_COMMANDS: Final = (("sh", "-c", "cat /etc/os-release"), ("env",), ("ps", "aux"), ("cat", "/etc/resolv.conf"),
                    ("sh", "-c", "curl -s localhost:8080/healthz"), ("ls", "-la", "/app"))  # fmt: skip


# ---- the writer --------------------------------------------------------------------------


def write_audit_log(path: Path | str, *, cluster: Cluster, events: int, seed: int) -> int:
    """Write `events` audit events (lines) about `cluster` to `path`; returns the number written.

    The same cluster and seed give the same bytes. Memory stays bounded: lines are written as
    they are made, except those of requests still open (watches, exec sessions).
    """
    if events < 0:
        raise ValueError(f"events must be zero or more, not {events}")
    with open(path, "wb", buffering=1 << 20) as out:
        return _Writer(cluster, random.Random(seed), out, None).run(events)


def write_audit(log: Path | str, webhook: Path | str, *, cluster: Cluster, events: int, seed: int) -> tuple[int, int]:
    """Write the log as `write_audit_log` does, and the same events as the webhook backend's
    `EventList` bodies to `webhook`; returns the events in each file (the webhook's repeats
    counted)."""
    if events < 0:
        raise ValueError(f"events must be zero or more, not {events}")
    with open(log, "wb", buffering=1 << 20) as out, open(webhook, "wb", buffering=1 << 20) as bodies:
        sink = _Webhook(bodies, random.Random(f"kubetrail-delivery:audit-webhook:{seed}"))
        return _Writer(cluster, random.Random(seed), out, sink).run(events), sink.events


class _Webhook:
    """The webhook backend's batches, written one `EventList` per line; some written twice."""

    def __init__(self, out: IO[bytes], rng: random.Random) -> None:
        self.out, self.rng = out, rng
        self.items: list[bytes] = []
        self.opened = 0  # when the batch being filled got its first event
        self.events = 0

    def add(self, t: int, line: bytes) -> None:
        """The event of `line`, its stage done at `t` (events come in the log's order)."""
        if self.items and (len(self.items) == _BATCH_MAX or t >= self.opened + _BATCH_WAIT_NS):
            self.send()
        if not self.items:
            self.opened = t
        self.items.append(line.rstrip(b"\n"))

    def send(self) -> None:
        if not self.items:
            return
        body = b"".join((_EVENT_LIST, b",".join(self.items), b"]}\n"))
        copies = 2 if self.rng.random() < _RESENT else 1
        self.out.write(body * copies)
        self.events += copies * len(self.items)
        self.items.clear()


class _Writer:
    """Merges the lifecycle and the background mix in time order and writes their lines."""

    def __init__(self, cluster: Cluster, rng: random.Random, out: IO[bytes], webhook: _Webhook | None) -> None:
        self.cluster, self.rng, self.out, self.webhook = cluster, rng, out, webhook
        self.live = _Live(cluster.pods)
        self.actors = _Actors(cluster, rng)
        self.order = TimeOrdered()  # lines by stageTimestamp (open requests end later)
        self.ready: list[bytes] = []  # lines due, not yet written
        self.rv_base = rng.randrange(10**6, 10**8)
        self.uids: dict[str, str] = {}
        self.leases: dict[tuple[str, str], tuple[str, str]] = {}  # (namespace, name) -> (request URI, uid)
        self.suffixes: dict[str, str] = {}

    def run(self, events: int) -> int:
        due = _lifecycle(self)[:events]
        mix = _Mix(_background(self))
        times = Times(self.rng, self.cluster.start_ns, self.cluster.end_ns, events - len(due))
        i = 0
        while i < len(due) or times.left > 0:
            if times.left > 0 and (i == len(due) or times.peek() < due[i].t):
                t = times.take((stream := mix.pick(self.rng, times.left)).lines)
                self.now(t)
                stream.act(self, t)
            else:
                self.now(due[i].t)
                due[i].act(self, due[i].t)
                i += 1
        self.flush(None)
        return self.order.made

    def now(self, t: int) -> None:
        """Move the clock to `t`: pods start and end, and lines finished by then are written."""
        self.live.advance(t)
        self.flush(t)

    def flush(self, until: int | None) -> None:
        """Write the lines whose stage ended by `until` (all of them when None)."""
        ready, webhook = self.ready, self.webhook
        if webhook is None:
            ready.extend(self.order.due(until))
        else:
            for t, line in self.order.due_timed(until):
                ready.append(line)
                webhook.add(t, line)
        if len(ready) >= 4096 or until is None:
            self.out.write(b"".join(ready))
            ready.clear()
        if until is None and webhook is not None:
            webhook.send()

    def call(self, t: int, who: _Who, verb: str, uri: str, ref: dict[str, str], *, status: Json = _OK,
             annotations: dict[str, str] | None = None, level: str = "Metadata",
             bodies: tuple[Json, Json] | None = None, impersonated: Json | None = None, lasts: int = 0) -> None:  # fmt: skip
        """One request: a ResponseComplete line, preceded by ResponseStarted when it `lasts` (ns)."""
        event: Json = {"kind": "Event", "apiVersion": _API_VERSION, "level": level, "auditID": uuid4(self.rng),
                       "stage": "ResponseComplete", "requestURI": uri, "verb": verb, "user": who.user,
                       "sourceIPs": who.ips, "userAgent": who.agent, "objectRef": ref, "responseStatus": status,
                       "requestReceivedTimestamp": _timestamp(t)}  # fmt: skip
        if impersonated is not None or bodies is not None:
            event = _with_optional(event, impersonated, bodies)
        done, annotations = t + 300_000 + int(self.rng.random() * 9 * MS), annotations or who.allow  # latency
        if lasts:
            self.emit(event, "ResponseStarted", done, annotations)
            done = max(done, min(t + lasts, self.cluster.end_ns - 1))
        self.emit(event, "ResponseComplete", done, annotations)

    def emit(self, event: Json, stage: str, at: int, annotations: dict[str, str]) -> None:
        event["stage"], event["stageTimestamp"], event["annotations"] = stage, _timestamp(at), annotations
        line = orjson.dumps(event, option=orjson.OPT_APPEND_NEWLINE)
        self.order.push(at, _go_escape(line))

    def rv(self, t: int) -> str:
        """The cluster's resourceVersion at `t`: it grows with every write to etcd."""
        return str(self.rv_base + (t - self.cluster.start_ns) * _RESOURCE_VERSIONS_PER_S // NS)

    def uid(self, key: str) -> str:
        """The uid of an object the model does not hold (a lease, an EndpointSlice)."""
        if key not in self.uids:
            self.uids[key] = uuid4(self.rng)
        return self.uids[key]

    def suffix(self, key: str) -> str:
        """The generated name suffix of an object the model does not hold."""
        if key not in self.suffixes:
            self.suffixes[key] = random_name(self.rng, 5)
        return self.suffixes[key]

    def lease(self, t: int, who: _Who, namespace: str, name: str, *, renew: float, timeout: str = "5s") -> None:
        """Get or (with probability `renew`) update a lease, as leader election and kubelets do."""
        uri, uid = self.leases.get((namespace, name)) or self._new_lease(namespace, name, timeout)
        if self.rng.random() < renew:
            self.call(t, who, "update", uri, LEASES.ref(namespace, name, uid=uid, rv=self.rv(t)))
        else:
            self.call(t, who, "get", uri, LEASES.ref(namespace, name))

    def _new_lease(self, namespace: str, name: str, timeout: str) -> tuple[str, str]:
        made = self.leases[namespace, name] = (f"{LEASES.path(namespace)}/{name}?timeout={timeout}", uuid4(self.rng))
        return made

    def watch(self, t: int, who: _Who, res: _Res, namespace: str = "", name: str = "") -> None:
        """A watch that lasts until its timeout; with `name`, of one object (a field selector)."""
        secs = self.rng.randrange(*_WATCH_SECONDS)
        selector = f"&fieldSelector=metadata.name%3D{name}" if name else ""
        uri = (f"{res.path(namespace)}?allowWatchBookmarks=true{selector}&resourceVersion={self.rv(t)}"
               f"&timeout={secs // 60}m{secs % 60}s&timeoutSeconds={secs}&watch=true")  # fmt: skip
        self.call(t, who, "watch", uri, res.ref(namespace, name), lasts=secs * NS)


def _with_optional(event: Json, impersonated: Json | None, bodies: tuple[Json, Json] | None) -> Json:
    """`event` with impersonatedUser after user and the bodies after responseStatus (Go's order)."""
    out: Json = {}
    for key, value in event.items():
        out[key] = value
        if key == "user" and impersonated is not None:
            out["impersonatedUser"] = impersonated
        elif key == "responseStatus" and bodies is not None:
            out["requestObject"], out["responseObject"] = bodies
    return out


def _go_escape(line: bytes) -> bytes:
    """Go's encoding/json escapes these three even inside strings; orjson does not."""
    return line.replace(b"&", b"\\u0026").replace(b"<", b"\\u003c").replace(b">", b"\\u003e")


def _timestamp(ns: int) -> str:
    """metav1.MicroTime: RFC 3339, UTC, six fractional digits."""
    return "%s.%06dZ" % (second(ns // NS), ns % NS // 1000)  # noqa: UP031 (faster than an f-string here)


def _whole_seconds(ns: int) -> str:
    """metav1.Time, as in creationTimestamp."""
    return f"{second(ns // NS)}Z"


# ---- who asks ------------------------------------------------------------------------------


class _Who(NamedTuple):
    """A client as the audit event shows it, and the annotations its requests get when allowed."""

    user: Json
    ips: list[str]
    agent: str
    allow: dict[str, str]


def _annotations(decision: str, reason: str) -> dict[str, str]:
    return {"authorization.k8s.io/decision": decision, "authorization.k8s.io/reason": reason}


_FORBID: Final = _annotations("forbid", "")


class _Actors:
    """Every client of the API server, built once; pods' clients are built per token."""

    def __init__(self, cluster: Cluster, rng: random.Random) -> None:
        self.kubelets = [_kubelet(node) for node in cluster.nodes]
        kcm, scheduler = cluster.controller_manager, cluster.scheduler
        self.kcm = _component(kcm, "leader-election", _binding_reason(kcm.username))
        self.kcm_informers = _component(kcm, "shared-informers", _binding_reason(kcm.username))
        self.scheduler_lease = _component(scheduler, "leader-election", _binding_reason(scheduler.username))
        self.scheduler = _component(scheduler, "scheduler", _binding_reason(scheduler.username))
        self.controllers = {sa.name: _controller(kcm, sa, f"JTI={uuid4(rng)}") for sa in cluster.controllers}
        self.developer = next(h for h in cluster.humans if "developers" in h.groups)
        self.sre = next(h for h in cluster.humans if "sre" in h.groups)
        self.humans = {h.username: _human(h) for h in cluster.humans}
        self.mounts = {w.key: _mounted(w) for w in cluster.workloads}
        self.informers = [(self.kcm_informers, res) for res in _CONTROLLER_INFORMERS]
        self.informers += [(self.scheduler, res) for res in _SCHEDULER_INFORMERS]
        self._pods: dict[str, tuple[int, _Who]] = {}  # pod uid -> (valid until, client)

    def pod(self, pod: Pod, t: int) -> _Who:
        """The client in `pod` at `t`: its service account, bound token and pod IP."""
        cached = self._pods.get(pod.uid)
        if cached is None or t >= cached[0]:
            cached = _pod_client(pod, t)
            self._pods[pod.uid] = cached
        return cached[1]


def _kubelet(node: Node) -> _Who:
    user = {"username": node.username, "groups": ["system:nodes", "system:authenticated"]}
    agent = f"kubelet/{K8S_VERSION} (linux/amd64) kubernetes/{K8S_COMMIT}"
    return _Who(user, [node.ip], agent, _annotations("allow", ""))  # the Node authorizer gives no reason


def _component(user: User, client: str, reason: str) -> _Who:
    return _Who(_plain_user(user), [user.source_ip], f"{user.user_agent}/{client}", _annotations("allow", reason))


def _plain_user(user: User) -> Json:
    return {"username": user.username, "groups": list(user.groups)}


def _controller(kcm: User, sa: ServiceAccount, credential_id: str) -> _Who:
    """A controller of kube-controller-manager, on its own service account's token."""
    user = _account_user(sa, {"authentication.kubernetes.io/credential-id": [credential_id]})
    role = f"system:controller:{sa.name}"
    reason = f'RBAC: allowed by ClusterRoleBinding "{role}" of ClusterRole "{role}" to ServiceAccount "{sa.name}/{sa.namespace}"'
    return _Who(user, [kcm.source_ip], f"{kcm.user_agent}/{sa.username}", _annotations("allow", reason))


def _account_user(sa: ServiceAccount, extra: dict[str, list[str]]) -> Json:
    return {"username": sa.username, "uid": sa.uid, "groups": list(sa.groups), "extra": extra}


def _binding_reason(username: str) -> str:
    """RBAC's reason for the control plane's own ClusterRoleBinding (named after the user)."""
    return f'RBAC: allowed by ClusterRoleBinding "{username}" of ClusterRole "{username}" to User "{username}"'


def _human(user: User) -> _Who:
    if "sre" in user.groups:
        reason = 'RBAC: allowed by ClusterRoleBinding "sre" of ClusterRole "cluster-admin" to Group "sre"'
    else:
        reason = 'RBAC: allowed by RoleBinding "developers/shop" of ClusterRole "edit" to Group "developers"'
    return _Who(_plain_user(user), [user.source_ip], user.user_agent, _annotations("allow", reason))


def _pod_client(pod: Pod, t: int) -> tuple[int, _Who]:
    """The client of `pod` with the token it holds at `t`, and until when that token is current."""
    token = pod.token_at(t)
    if token is None:
        raise ValueError(f"pod {pod.namespace}/{pod.name} has no service-account token at {t}")
    later = [tok.issued_ns for tok in pod.tokens if tok.issued_ns > t]
    until = later[0] if later else (pod.end_ns if pod.end_ns is not None else 1 << 63)
    extra = {"authentication.kubernetes.io/credential-id": [token.credential_id],
             "authentication.kubernetes.io/node-name": [pod.node.name],
             "authentication.kubernetes.io/node-uid": [pod.node.uid],
             "authentication.kubernetes.io/pod-name": [pod.name],
             "authentication.kubernetes.io/pod-uid": [pod.uid]}  # fmt: skip
    w = pod.workload
    agent = _AGENTS.get(w.key, f"{w.name}/v0.0.0 (linux/amd64) kubernetes/$Format")
    return until, _Who(_account_user(w.service_account, extra), [pod.ip], agent, _annotations("allow", _workload_reason(w)))


def _workload_reason(w: Workload) -> str:
    """Cluster-wide informers need a ClusterRoleBinding; the rest make do with a RoleBinding."""
    subject = f'ServiceAccount "{w.service_account.name}/{w.namespace}"'
    if w.key in _INFORMERS:
        return f'RBAC: allowed by ClusterRoleBinding "{w.name}" of ClusterRole "{w.name}" to {subject}'
    return f'RBAC: allowed by RoleBinding "{w.name}/{w.namespace}" of Role "{w.name}" to {subject}'


def _mounted(w: Workload) -> tuple[tuple[_Res, str], ...]:
    """The objects the kubelet watches for a pod: its volumes, and the CA bundle of its token."""
    mounts = tuple((SECRETS if m.kind == "secret" else CONFIGMAPS, m.name) for m in w.mounts)
    return (*mounts, (CONFIGMAPS, "kube-root-ca.crt")) if w.automount_token else mounts


# ---- the pods alive now --------------------------------------------------------------------


class _Live:
    """The model's pods alive at the writer's current time, kept up to date as time moves on."""

    def __init__(self, pods: tuple[Pod, ...]) -> None:
        starts = [(p.start_ns, 1, i) for i, p in enumerate(pods)]
        ends = [(p.end_ns, 0, i) for i, p in enumerate(pods) if p.end_ns is not None]
        self.pods, self.changes, self.next = pods, sorted(starts + ends), 0
        self.all: list[Pod] = []
        self.on_node: dict[str, list[Pod]] = defaultdict(list)
        self.of: dict[str, list[Pod]] = defaultdict(list)  # by workload key
        self.gone: deque[Pod] = deque(maxlen=32)  # the latest pods to end

    def advance(self, t: int) -> None:
        changes = self.changes
        while self.next < len(changes) and changes[self.next][0] <= t:
            _, arriving, i = changes[self.next]
            self.next += 1
            if arriving:
                self._arrive(self.pods[i])
            else:
                self._leave(self.pods[i])

    def _arrive(self, pod: Pod) -> None:
        for pods in (self.all, self.on_node[pod.node.name], self.of[pod.workload.key]):
            pods.append(pod)

    def _leave(self, pod: Pod) -> None:
        for pods in (self.all, self.on_node[pod.node.name], self.of[pod.workload.key]):
            pods.remove(pod)
        self.gone.append(pod)

    def leader(self, key: str) -> Pod | None:
        """The replica holding a workload's lease: the oldest one alive."""
        return min(self.of[key], key=lambda p: p.start_ns, default=None)


def _pick(rng: random.Random, pods: list[Pod]) -> Pod | None:
    return rng.choice(pods) if pods else None


# ---- the background mix --------------------------------------------------------------------


class _Stream(NamedTuple):
    rate: float  # requests per second in the modelled cluster
    lines: int  # 2 when the request writes ResponseStarted too
    act: Act


class _Mix:
    """Picks the next request's stream in proportion to the streams' rates."""

    def __init__(self, streams: list[_Stream]) -> None:
        one_line = [s for s in streams if s.lines == 1]
        self.any = (streams, list(accumulate(s.rate for s in streams)))
        self.one_line = (one_line, list(accumulate(s.rate for s in one_line)))

    def pick(self, rng: random.Random, lines_left: int) -> _Stream:
        """A stream of any kind, or of one-line requests when only one line is left to write."""
        streams, bounds = self.any if lines_left > 1 else self.one_line
        return streams[bisect(bounds, rng.random() * bounds[-1])]


def _background(w: _Writer) -> list[_Stream]:
    """Every stream of background requests, with its natural rate in requests/s."""
    nodes = len(w.cluster.nodes)
    return [
        _Stream(1.0, 1, _controller_manager_lease),  # leader election: get + update every 2 s
        _Stream(1.0, 1, _scheduler_lease),
        _Stream(0.1 * nodes, 1, _kubelet_lease),  # node heartbeat every 10 s
        _Stream(0.1 * nodes, 1, _kubelet_node),  # node status check every 10 s, a patch every 5 min
        _Stream(0.02 * nodes, 1, _kubelet_pod),
        _Stream(_mount_watches(w) / 450, 2, _kubelet_mount),
        _Stream(len(w.actors.informers) / 450, 2, _control_plane_watch),
        *_workload_streams(w),
        _Stream(0.005 * nodes, 1, _log_collector),
        _Stream(0.02, 1, _deployer),
        _Stream(0.04, 1, _human_read),
        _Stream(0.01, 2, _human_logs),
        _Stream(0.003, 2, _human_exec),
        _Stream(0.002, 1, _human_forbidden),
        _Stream(0.002, 1, _human_missing),
        _Stream(0.001, 1, _impersonation),
    ]


def _replicas(w: _Writer, key: str) -> int:
    workload = next(x for x in w.cluster.workloads if x.key == key)
    return len(w.cluster.nodes) if workload.kind == "DaemonSet" else workload.replicas


def _mount_watches(w: _Writer) -> int:
    return sum(len(w.actors.mounts[x.key]) * _replicas(w, x.key) for x in w.cluster.workloads)


def _workload_streams(w: _Writer) -> list[_Stream]:
    streams = [_Stream(rate, 1, partial(_leader_lease, key=key, namespace=ns, name=name))
               for key, (ns, name, rate) in _LEADER_LEASES.items()]  # fmt: skip
    for key, informers in _INFORMERS.items():
        rate = _replicas(w, key) / 450
        streams += [_Stream(rate, 2, partial(_informer, key=key, res=res, scoped=scoped)) for res, scoped in informers]
    for key, reads in _READS.items():
        replicas = _replicas(w, key)
        streams += [_Stream(rate * replicas, 1, partial(_read, key=key, res=res, name=name)) for res, name, rate in reads]
    return streams


def _controller_manager_lease(w: _Writer, t: int) -> None:
    w.lease(t, w.actors.kcm, "kube-system", "kube-controller-manager", renew=0.5)


def _scheduler_lease(w: _Writer, t: int) -> None:
    w.lease(t, w.actors.scheduler_lease, "kube-system", "kube-scheduler", renew=0.5)


def _kubelet_lease(w: _Writer, t: int) -> None:
    node = w.rng.choice(w.cluster.nodes)
    w.lease(t, w.actors.kubelets[node.index], "kube-node-lease", node.name, renew=0.98, timeout="10s")


def _kubelet_node(w: _Writer, t: int) -> None:
    node = w.rng.choice(w.cluster.nodes)
    who, path = w.actors.kubelets[node.index], f"{NODES.path()}/{node.name}"
    if w.rng.random() < 0.97:
        w.call(t, who, "get", f"{path}?resourceVersion=0&timeout=10s", NODES.ref(name=node.name))
    else:
        w.call(t, who, "patch", f"{path}/status?timeout=10s", NODES.ref(name=node.name, sub="status"))


def _kubelet_pod(w: _Writer, t: int) -> None:
    pod = _pick(w.rng, w.live.all)
    if pod is None:
        _kubelet_node(w, t)
        return
    who, path = w.actors.kubelets[pod.node.index], f"{PODS.path(pod.namespace)}/{pod.name}"
    if w.rng.random() < 0.5:
        w.call(t, who, "get", path, PODS.ref(pod.namespace, pod.name))
    else:
        w.call(t, who, "patch", f"{path}/status", PODS.ref(pod.namespace, pod.name, sub="status"))


def _kubelet_mount(w: _Writer, t: int) -> None:
    """A kubelet re-watches a Secret or ConfigMap one of its pods mounts."""
    pod = _pick(w.rng, w.live.all)
    mounts = w.actors.mounts[pod.workload.key] if pod is not None else ()
    if pod is None or not mounts:
        _control_plane_watch(w, t)
        return
    res, name = w.rng.choice(mounts)
    w.watch(t, w.actors.kubelets[pod.node.index], res, pod.namespace, name)


def _control_plane_watch(w: _Writer, t: int) -> None:
    who, res = w.rng.choice(w.actors.informers)
    w.watch(t, who, res)


def _leader_lease(w: _Writer, t: int, *, key: str, namespace: str, name: str) -> None:
    pod = _pick(w.rng, w.live.of[key])
    if pod is None:
        _controller_manager_lease(w, t)
        return
    renew = 0.5 if pod is w.live.leader(key) else 0.0
    w.lease(t, w.actors.pod(pod, t), namespace, name, renew=renew)


def _informer(w: _Writer, t: int, *, key: str, res: _Res, scoped: bool) -> None:
    pod = _pick(w.rng, w.live.of[key])
    if pod is None:
        _control_plane_watch(w, t)
        return
    w.watch(t, w.actors.pod(pod, t), res, pod.namespace if scoped else "")


def _read(w: _Writer, t: int, *, key: str, res: _Res, name: str) -> None:
    """An app or operator reads an object of its own namespace (Secrets at Metadata: no data)."""
    pod = _pick(w.rng, w.live.of[key])
    if pod is None:
        _controller_manager_lease(w, t)
        return
    w.call(t, w.actors.pod(pod, t), "get", f"{res.path(pod.namespace)}/{name}", res.ref(pod.namespace, name))


def _log_collector(w: _Writer, t: int) -> None:
    """The log collector on a node asks for the metadata of a pod whose logs it tails there."""
    collector = _pick(w.rng, w.live.of[_LOG_COLLECTOR])
    pod = _pick(w.rng, w.live.on_node[collector.node.name]) if collector is not None else None
    if collector is None or pod is None:
        _kubelet_node(w, t)
        return
    uri = f"{PODS.path(pod.namespace)}/{pod.name}"
    w.call(t, w.actors.pod(collector, t), "get", uri, PODS.ref(pod.namespace, pod.name))


def _deployer(w: _Writer, t: int) -> None:
    """The CI bot checks the apps it deploys; now and then it tries what it may not do."""
    runner = _pick(w.rng, w.live.of[_DEPLOYER])
    if runner is None:
        _controller_manager_lease(w, t)
        return
    who, app, roll = w.actors.pod(runner, t), w.rng.choice(_apps(w.cluster)), w.rng.random()
    if roll < 0.85:
        uri = f"{DEPLOYMENTS.path(app.namespace)}/{app.name}"
        w.call(t, who, "get", uri, DEPLOYMENTS.ref(app.namespace, app.name))
    elif roll < 0.97:
        uri = f"{PODS.path(app.namespace)}?labelSelector=app%3D{app.name}"
        w.call(t, who, "list", uri, PODS.ref(app.namespace))
    else:
        _forbidden(w, t, who, "list", SECRETS, "kube-system")


def _apps(cluster: Cluster) -> list[Workload]:
    return [x for x in cluster.workloads if x.kind == "Deployment" and x.namespace in _APP_NAMESPACES]


def _forbidden(w: _Writer, t: int, who: _Who, verb: str, res: _Res, namespace: str, name: str = "") -> None:
    """A request RBAC denies: 403, decision forbid."""
    target = f'{res.plural} "{name}"' if name else res.plural
    message = (f'{target} is forbidden: User "{who.user["username"]}" cannot {verb} resource "{res.plural}" '
               f'in API group "{res.group}" in the namespace "{namespace}"')  # fmt: skip
    details = {"name": name, "kind": res.plural} if name else {"kind": res.plural}
    status = {"metadata": {}, "status": "Failure", "message": message, "reason": "Forbidden", "details": details,
              "code": 403}  # fmt: skip
    uri = f"{res.path(namespace)}/{name}" if name else res.path(namespace)
    w.call(t, who, verb, uri, res.ref(namespace, name), status=status, annotations=_FORBID)


def _human_target(w: _Writer) -> tuple[User, Pod | None]:
    """A person and a pod they look at: the developer stays in `shop`, the SRE goes anywhere."""
    if w.rng.random() < 0.6:
        return w.actors.developer, _pick(w.rng, [p for p in w.live.all if p.namespace == "shop"])
    return w.actors.sre, _pick(w.rng, w.live.all)


def _human_read(w: _Writer, t: int) -> None:
    user, pod = _human_target(w)
    who, roll = w.actors.humans[user.username], w.rng.random()
    if pod is None or roll < 0.3:
        namespace = pod.namespace if pod is not None else "shop"
        w.call(t, who, "list", f"{PODS.path(namespace)}?limit=500", PODS.ref(namespace))
    elif roll < 0.8:
        w.call(t, who, "get", f"{PODS.path(pod.namespace)}/{pod.name}", PODS.ref(pod.namespace, pod.name))
    else:
        w.call(t, who, "list", f"{DEPLOYMENTS.path(pod.namespace)}?limit=500", DEPLOYMENTS.ref(pod.namespace))


def _human_logs(w: _Writer, t: int) -> None:
    user, pod = _human_target(w)
    if pod is None:
        _control_plane_watch(w, t)
        return
    follow = w.rng.random() < 0.3
    query = urlencode([("container", w.rng.choice(pod.containers).name), ("follow", "true") if follow else ("tailLines", "100")])
    lasts = int(w.rng.uniform(30, 900) * NS) if follow else int(w.rng.uniform(0.05, 0.5) * NS)
    uri = f"{PODS.path(pod.namespace)}/{pod.name}/log?{query}"
    w.call(t, w.actors.humans[user.username], "get", uri, PODS.ref(pod.namespace, pod.name, sub="log"), lasts=lasts)


def _human_exec(w: _Writer, t: int) -> None:
    """`kubectl exec`: an interactive shell (-it) or a one-off command, open until it exits."""
    user, pod = _human_target(w)
    if pod is None:
        _control_plane_watch(w, t)
        return
    interactive = w.rng.random() < 0.5
    command = w.rng.choice(_SHELLS if interactive else _COMMANDS)
    flags = (("stdin", "true"), ("stdout", "true"), ("tty", "true")) if interactive else (("stderr", "true"), ("stdout", "true"))
    query = urlencode([*(("command", part) for part in command), ("container", pod.containers[0].name), *flags])
    lasts = int(w.rng.uniform(20, 1200) * NS) if interactive else int(w.rng.uniform(0.2, 3) * NS)
    uri, ref = f"{PODS.path(pod.namespace)}/{pod.name}/exec?{query}", PODS.ref(pod.namespace, pod.name, sub="exec")
    w.call(t, w.actors.humans[user.username], _exec_verb(user), uri, ref, status=_SWITCHED, lasts=lasts)


def _exec_verb(user: User) -> str:
    """kubectl 1.30 moved exec from SPDY (POST: verb create) to WebSocket (GET: verb get)."""
    minor = int(user.user_agent.split("/v", 1)[1].split(".")[1])
    return "get" if minor >= 30 else "create"


def _human_forbidden(w: _Writer, t: int) -> None:
    """The developer tries Secrets RBAC keeps from them."""
    who = w.actors.humans[w.actors.developer.username]
    if w.rng.random() < 0.7:
        _forbidden(w, t, who, "get", SECRETS, "payments", "payments-db-credentials")
    else:
        _forbidden(w, t, who, "list", SECRETS, "kube-system")


def _human_missing(w: _Writer, t: int) -> None:
    """Someone asks for a pod that is gone (404)."""
    user = w.actors.sre if w.rng.random() < 0.5 else w.actors.developer
    alive = {(p.namespace, p.name) for p in w.live.all}  # a StatefulSet's new pod takes the old name
    gone = _pick(w.rng, [p for p in w.live.gone if (p.namespace, p.name) not in alive])
    namespace, name = (gone.namespace, gone.name) if gone is not None else ("shop", "frontend")
    status = {"metadata": {}, "status": "Failure", "message": f'pods "{name}" not found', "reason": "NotFound",
              "details": {"name": name, "kind": "pods"}, "code": 404}  # fmt: skip
    uri = f"{PODS.path(namespace)}/{name}"
    w.call(t, w.actors.humans[user.username], "get", uri, PODS.ref(namespace, name), status=status)


def _impersonation(w: _Writer, t: int) -> None:
    """The SRE checks what the developer sees: `kubectl get pods --as alice --as-group developers`."""
    dev = w.actors.developer
    reason = 'RBAC: allowed by RoleBinding "developers-view/payments" of ClusterRole "view" to Group "developers"'
    w.call(t, w.actors.humans[w.actors.sre.username], "list", f"{PODS.path('payments')}?limit=500", PODS.ref("payments"),
           annotations=_annotations("allow", reason), impersonated=_plain_user(dev))  # fmt: skip


# ---- the lifecycle of the model ----------------------------------------------------------------


class _Due(NamedTuple):
    t: int
    order: int
    act: Act


def _lifecycle(w: _Writer) -> list[_Due]:
    """The requests the model's rollouts and pods cause, at their times within the period."""
    c, services = w.cluster, {s.workload.key: s.name for s in w.cluster.services if s.workload is not None}
    acts = [act for pod in c.pods for act in _pod_acts(w, pod, services.get(pod.workload.key))]
    acts += [act for revision in c.revisions for act in _rollout_acts(revision)]
    due = [_Due(t, i, act) for i, (t, act) in enumerate(acts) if c.start_ns <= t < c.end_ns]
    return sorted(due, key=lambda d: (d.t, d.order))


def _pod_acts(w: _Writer, pod: Pod, service: str | None) -> list[tuple[int, Act]]:
    """What a pod's birth causes: creation, binding, the kubelet's first requests, readiness."""
    start, mounts = pod.start_ns, w.actors.mounts[pod.workload.key]
    acts: list[tuple[int, Act]] = [(start - 1600 * MS, partial(_create_pod, pod=pod)),
                                   (start - 1550 * MS, partial(_bind_pod, pod=pod)),
                                   (start + 2500 * MS, partial(_pod_running, pod=pod))]  # fmt: skip
    acts += [(start - 800 * MS, partial(_list_mounted, pod=pod, res=res, name=name)) for res, name in mounts]
    acts += [(token.issued_ns, partial(_issue_token, pod=pod)) for token in pod.tokens]
    if service is not None:
        acts.append((start + 4 * NS, partial(_update_endpoints, pod=pod, service=service)))
    return acts if pod.end_ns is None else acts + _ending_acts(w, pod, pod.end_ns, service)


def _ending_acts(w: _Writer, pod: Pod, end: int, service: str | None) -> list[tuple[int, Act]]:
    """What a pod's death causes: the controller deletes it, the kubelet stops it and removes it."""
    asked = end - int(w.rng.uniform(1, 25) * NS)
    acts: list[tuple[int, Act]] = [(asked, partial(_delete_pod, pod=pod)), (end, partial(_remove_pod, pod=pod))]
    if service is not None:
        acts.append((asked + 200 * MS, partial(_update_endpoints, pod=pod, service=service)))
    return acts


def _rollout_acts(revision: Revision) -> list[tuple[int, Act]]:
    acts: list[tuple[int, Act]] = [(revision.created_ns - 3 * NS, partial(_patch_workload, revision=revision))]
    if revision.owner_kind == "ReplicaSet":
        acts.append((revision.created_ns - NS, partial(_create_replicaset, revision=revision)))
    return acts


def _patch_workload(w: _Writer, t: int, *, revision: Revision) -> None:
    """`kubectl set image`: by the CI bot for the apps, by the SRE for the platform."""
    workload = revision.workload
    runner = _pick(w.rng, w.live.of[_DEPLOYER]) if workload.namespace in _DEPLOYED_NAMESPACES else None
    who = w.actors.pod(runner, t) if runner is not None else w.actors.humans[w.actors.sre.username]
    res = _WORKLOAD_RESOURCES[workload.kind]
    uri = f"{res.path(workload.namespace)}/{workload.name}?fieldManager=kubectl-set"
    w.call(t, who, "patch", uri, res.ref(workload.namespace, workload.name))


def _create_replicaset(w: _Writer, t: int, *, revision: Revision) -> None:
    ns, who = revision.workload.namespace, w.actors.controllers["deployment-controller"]
    w.call(t, who, "create", REPLICASETS.path(ns), REPLICASETS.ref(ns, revision.owner_name), status=_CREATED)


def _create_pod(w: _Writer, t: int, *, pod: Pod) -> None:
    who = w.actors.controllers[_OWNER_CONTROLLERS[pod.revision.owner_kind]]
    named = pod.name if pod.revision.owner_kind == "StatefulSet" else ""  # others send generateName
    bodies = (_pod_request(pod), _pod_response(pod, t, w.rv(t)))
    w.call(t, who, "create", PODS.path(pod.namespace), PODS.ref(pod.namespace, named), status=_CREATED,
           level="RequestResponse", bodies=bodies)  # fmt: skip


def _bind_pod(w: _Writer, t: int, *, pod: Pod) -> None:
    binding = {"kind": "Binding", "apiVersion": "v1",
               "metadata": {"name": pod.name, "namespace": pod.namespace, "uid": pod.uid, "creationTimestamp": None},
               "target": {"kind": "Node", "name": pod.node.name}}  # fmt: skip
    done = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}
    uri, ref = f"{PODS.path(pod.namespace)}/{pod.name}/binding", PODS.ref(pod.namespace, pod.name, uid=pod.uid, sub="binding")
    w.call(t, w.actors.scheduler, "create", uri, ref, status=_CREATED, level="RequestResponse", bodies=(binding, done))


def _issue_token(w: _Writer, t: int, *, pod: Pod) -> None:
    """The kubelet asks for the pod's projected service-account token (TokenRequest)."""
    ns, sa = pod.namespace, pod.workload.service_account.name
    uri, ref = f"{SERVICEACCOUNTS.path(ns)}/{sa}/token", SERVICEACCOUNTS.ref(ns, sa, sub="token")
    w.call(t, w.actors.kubelets[pod.node.index], "create", uri, ref, status=_CREATED)


def _list_mounted(w: _Writer, t: int, *, pod: Pod, res: _Res, name: str) -> None:
    """The kubelet lists an object the pod mounts before it starts watching it (reflector ListAndWatch)."""
    uri = f"{res.path(pod.namespace)}?fieldSelector=metadata.name%3D{name}&limit=500&resourceVersion=0"
    w.call(t, w.actors.kubelets[pod.node.index], "list", uri, res.ref(pod.namespace, name))


def _pod_running(w: _Writer, t: int, *, pod: Pod) -> None:
    uri, ref = f"{PODS.path(pod.namespace)}/{pod.name}/status", PODS.ref(pod.namespace, pod.name, sub="status")
    w.call(t, w.actors.kubelets[pod.node.index], "patch", uri, ref)


def _update_endpoints(w: _Writer, t: int, *, pod: Pod, service: str) -> None:
    ns, key = pod.namespace, f"slice/{pod.namespace}/{service}"
    name = f"{service}-{w.suffix(key)}"
    ref = ENDPOINTSLICES.ref(ns, name, uid=w.uid(key), rv=w.rv(t))
    w.call(t, w.actors.controllers["endpointslice-controller"], "update", f"{ENDPOINTSLICES.path(ns)}/{name}", ref)


def _delete_pod(w: _Writer, t: int, *, pod: Pod) -> None:
    who = w.actors.controllers[_OWNER_CONTROLLERS[pod.revision.owner_kind]]
    w.call(t, who, "delete", f"{PODS.path(pod.namespace)}/{pod.name}", PODS.ref(pod.namespace, pod.name))


def _remove_pod(w: _Writer, t: int, *, pod: Pod) -> None:
    """The kubelet's final delete once the containers are gone (grace period 0)."""
    uri = f"{PODS.path(pod.namespace)}/{pod.name}"
    w.call(t, w.actors.kubelets[pod.node.index], "delete", uri, PODS.ref(pod.namespace, pod.name))


# ---- request and response bodies ---------------------------------------------------------------


def _pod_request(pod: Pod) -> Json:
    """The Pod a controller sends: built from the template, no name for a ReplicaSet's or DaemonSet's."""
    meta: Json = (
        {"name": pod.name} if pod.revision.owner_kind == "StatefulSet" else {"generateName": f"{pod.revision.owner_name}-"}
    )
    meta |= {"creationTimestamp": None, "labels": _labels(pod), "ownerReferences": [_owner(pod.revision)]}
    return {"kind": "Pod", "apiVersion": "v1", "metadata": meta, "spec": _pod_spec(pod, defaulted=False), "status": {}}


def _pod_response(pod: Pod, t: int, rv: str) -> Json:
    """The Pod as stored: named, defaulted, not yet scheduled."""
    meta: Json = {"name": pod.name}
    if pod.revision.owner_kind != "StatefulSet":
        meta["generateName"] = f"{pod.revision.owner_name}-"
    meta |= {"namespace": pod.namespace, "uid": pod.uid, "resourceVersion": rv, "creationTimestamp": _whole_seconds(t),
             "labels": _labels(pod), "ownerReferences": [_owner(pod.revision)]}  # fmt: skip
    status = {"phase": "Pending", "qosClass": "BestEffort"}
    return {"kind": "Pod", "apiVersion": "v1", "metadata": meta, "spec": _pod_spec(pod, defaulted=True), "status": status}


def _labels(pod: Pod) -> dict[str, str]:
    """The template's labels plus the controller's (a Go map: keys sorted)."""
    revision, app = pod.revision, pod.workload.name
    if revision.owner_kind == "ReplicaSet":
        return {"app": app, "pod-template-hash": revision.template_hash}
    if revision.owner_kind == "DaemonSet":
        return {"app": app, "controller-revision-hash": revision.template_hash}
    return {"app": app, "controller-revision-hash": f"{app}-{revision.template_hash}",
            "statefulset.kubernetes.io/pod-name": pod.name}  # fmt: skip


def _owner(revision: Revision) -> Json:
    return {"apiVersion": "apps/v1", "kind": revision.owner_kind, "name": revision.owner_name, "uid": revision.owner_uid,
            "controller": True, "blockOwnerDeletion": True}  # fmt: skip


_TOLERATIONS: Final = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
]


def _pod_spec(pod: Pod, *, defaulted: bool) -> Json:
    """PodSpec in Go's field order; `defaulted` adds what the API server fills in."""
    w = pod.workload
    spec: Json = {}
    if w.mounts:
        spec["volumes"] = [_volume(m.kind, m.name) for m in w.mounts]
    spec["containers"] = [_container(pod, c.name, c.image) for c in pod.containers]
    spec |= {"restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
             "dnsPolicy": "ClusterFirstWithHostNet" if w.host_network else "ClusterFirst",
             "serviceAccountName": w.service_account.name}  # fmt: skip
    if defaulted:
        spec["serviceAccount"] = w.service_account.name
    if w.host_network:
        spec["hostNetwork"] = True
    spec |= {"securityContext": {}, "schedulerName": "default-scheduler"}
    if defaulted:
        spec["tolerations"] = _TOLERATIONS
    return spec


def _volume(kind: str, name: str) -> Json:
    if kind == "secret":
        return {"name": name, "secret": {"secretName": name, "defaultMode": 420}}
    return {"name": name, "configMap": {"name": name, "defaultMode": 420}}


def _container(pod: Pod, name: str, image: str) -> Json:
    container: Json = {"name": name, "image": image, "resources": {}}
    if pod.workload.mounts:
        container["volumeMounts"] = [
            {"name": m.name, "readOnly": True, "mountPath": f"/etc/{m.name}"} for m in pod.workload.mounts
        ]
    container |= {"terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
                  "imagePullPolicy": "IfNotPresent"}  # fmt: skip
    return container
