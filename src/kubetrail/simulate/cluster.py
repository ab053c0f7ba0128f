"""A seeded model of a living Kubernetes cluster: nodes, workloads, and pods over time.

Every writer of the simulator draws on one model, so the audit log, runtime events and flows made
from one seed agree on who was who when: each pod's name, uid, node, IP, containers and
service-account tokens, and the interval `[start_ns, end_ns)` in which it held them. Pods die
and are replaced (rollouts, evictions); a node hands a freed pod IP to a later pod, as IPAM does.
In a period of an hour or more, one of our apps ships a planned release in the period's first
third (`Cluster.release`), and its team rolls that app out again no sooner than three hours later.

Every time in the model is true time, which the API server's clock (the audit log's) reads
exactly. Each node's clock is off by a constant `clock_offset_ns` (within ±1 s, under
kubetrail's default 2 s `--skew`), and the sensors on that node (Tetragon, Falco, Hubble) print
`node.stamp(t)` for what happened there at `t`.

The model holds identity only. What each workload does (API calls, processes, connections) is
the business of the writer that emits it.
"""

from __future__ import annotations

import random
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final, Literal, NamedTuple

NS: Final = 1_000_000_000
MINUTE: Final = 60 * NS
HOUR: Final = 60 * MINUTE
DAY: Final = 24 * HOUR
K8S_VERSION: Final = "v1.30.4"
K8S_COMMIT: Final = "a51b3b7"  # the short git commit client-go puts in user agents
ALPHABET: Final = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery/pkg/util/rand: no vowels, no 0/1/3
TOKEN_REFRESH_NS: Final = 2886 * NS  # the kubelet renews a 3607 s projected token at 80 % of its life
MAX_CLOCK_OFFSET_NS: Final = NS  # a node's clock is off by less than this, either way

Kind = Literal["Deployment", "DaemonSet", "StatefulSet"]
MountKind = Literal["secret", "configmap"]


@dataclass(frozen=True, slots=True)
class Node:
    name: str
    uid: str
    ip: str
    index: int  # N of the node's pod range 10.244.N.0/24
    clock_offset_ns: int = 0  # what the node's clock reads minus true time; |offset| < MAX_CLOCK_OFFSET_NS

    def stamp(self, t: int) -> int:
        """The time the node's sensors print for true time `t`."""
        return t + self.clock_offset_ns

    @property
    def username(self) -> str:
        """The kubelet's API user (node client certificate)."""
        return f"system:node:{self.name}"

    @property
    def pod_cidr(self) -> str:
        return f"10.244.{self.index}.0/24"


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    namespace: str
    name: str
    uid: str

    @property
    def username(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.name}"

    @property
    def groups(self) -> tuple[str, ...]:
        return ("system:serviceaccounts", f"system:serviceaccounts:{self.namespace}", "system:authenticated")


@dataclass(frozen=True, slots=True)
class Mount:
    """A Secret or ConfigMap a workload's pods mount as a volume."""

    kind: MountKind
    name: str


@dataclass(frozen=True, slots=True)
class Workload:
    kind: Kind
    namespace: str
    name: str
    uid: str
    replicas: int  # a DaemonSet runs one pod per node instead
    service_account: ServiceAccount
    images: tuple[tuple[str, str], ...]  # (container name, image) of the first revision
    mounts: tuple[Mount, ...]
    host_network: bool
    automount_token: bool
    port: int  # the port of its Service; 0 when it has none

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class Revision:
    """One pod template of a workload: a ReplicaSet, or a DaemonSet/StatefulSet revision."""

    workload: Workload
    owner_kind: str  # the kind of the pods' controller: ReplicaSet, DaemonSet or StatefulSet
    owner_name: str
    owner_uid: str
    template_hash: str
    images: tuple[tuple[str, str], ...]
    created_ns: int


@dataclass(frozen=True, slots=True)
class Container:
    name: str
    container_id: str  # 64 hex digits, as the runtime names it
    image: str


@dataclass(frozen=True, slots=True)
class Token:
    """A projected service-account token the kubelet requested for a pod."""

    issued_ns: int
    credential_id: str  # "JTI=<uuid>", as the API server reports it in user.extra


@dataclass(frozen=True, slots=True)
class Pod:
    namespace: str
    name: str
    uid: str
    revision: Revision
    node: Node
    ip: str  # the node's IP for a host-network pod
    start_ns: int  # sandbox up, IP assigned
    end_ns: int | None  # sandbox gone, IP freed; None while alive at the end of the period
    containers: tuple[Container, ...]
    tokens: tuple[Token, ...]  # ordered by issue; empty when no token is mounted

    @property
    def workload(self) -> Workload:
        return self.revision.workload

    def alive(self, t: int) -> bool:
        return self.start_ns <= t and (self.end_ns is None or t < self.end_ns)

    def token_at(self, t: int) -> Token | None:
        """The token the pod's clients present at `t`: the latest one issued by then."""
        current = None
        for token in self.tokens:
            if token.issued_ns > t:
                break
            current = token
        return current


@dataclass(frozen=True, slots=True)
class Service:
    namespace: str
    name: str
    cluster_ip: str
    port: int
    workload: Workload | None  # None for the API server's own `kubernetes` Service


@dataclass(frozen=True, slots=True)
class User:
    """A client authenticated by certificate or OIDC: a person or a control-plane component."""

    username: str
    groups: tuple[str, ...]
    source_ip: str
    user_agent: str


@dataclass(frozen=True, slots=True)
class Cluster:
    name: str
    version: str
    start_ns: int
    end_ns: int
    control_plane_ip: str
    nodes: tuple[Node, ...]
    namespaces: tuple[str, ...]
    workloads: tuple[Workload, ...]
    revisions: tuple[Revision, ...]
    pods: tuple[Pod, ...]  # ordered by start
    services: tuple[Service, ...]
    humans: tuple[User, ...]
    controller_manager: User
    scheduler: User
    controllers: tuple[ServiceAccount, ...]  # kube-controller-manager's per-controller accounts
    # Whether Cilium is configured with the cluster's name (`cluster.name`): Hubble then prints node
    # names as "cluster/node" (as Relay does) and labels endpoints with the name; otherwise node names
    # alone and Cilium's name for an unnamed cluster, "default", in the label.
    hubble_names_cluster: bool = True
    release: Revision | None = None  # the planned release of one of our apps, in periods of an hour or more

    @property
    def cilium_name(self) -> str | None:
        """The cluster's name as Cilium knows it, if it does."""
        return self.name if self.hubble_names_cluster else None


# ---- the catalog -----------------------------------------------------------------------


class _Spec(NamedTuple):
    kind: Kind
    namespace: str
    name: str
    replicas: int
    images: tuple[tuple[str, str], ...]
    mounts: tuple[tuple[MountKind, str], ...] = ()
    port: int = 0
    host_network: bool = False
    automount: bool = True
    account: str = ""  # the service account's name; the workload's name when empty


# fmt: off
_CATALOG: Final = (
    _Spec("Deployment", "kube-system", "coredns", 2, (("coredns", "registry.k8s.io/coredns/coredns:v1.11.1"),),
          (("configmap", "coredns"),), port=53),
    _Spec("Deployment", "kube-system", "metrics-server", 1,
          (("metrics-server", "registry.k8s.io/metrics-server/metrics-server:v0.7.1"),), port=443),
    _Spec("DaemonSet", "kube-system", "kube-proxy", 0, (("kube-proxy", f"registry.k8s.io/kube-proxy:{K8S_VERSION}"),),
          (("configmap", "kube-proxy"),), host_network=True),
    _Spec("DaemonSet", "kube-system", "fluent-bit", 0, (("fluent-bit", "cr.fluentbit.io/fluent/fluent-bit:3.0.4"),),
          (("configmap", "fluent-bit-config"),)),
    _Spec("DaemonSet", "monitoring", "node-exporter", 0, (("node-exporter", "quay.io/prometheus/node-exporter:v1.8.1"),),
          host_network=True, automount=False),
    _Spec("StatefulSet", "monitoring", "prometheus", 2,
          (("prometheus", "quay.io/prometheus/prometheus:v2.52.0"),
           ("config-reloader", "quay.io/prometheus-operator/prometheus-config-reloader:v0.74.0")),
          (("secret", "prometheus-k8s-tls-assets"), ("configmap", "prometheus-k8s-rulefiles")), port=9090),
    _Spec("Deployment", "monitoring", "prometheus-operator", 1,
          (("prometheus-operator", "quay.io/prometheus-operator/prometheus-operator:v0.74.0"),), port=8080),
    _Spec("Deployment", "monitoring", "grafana", 1, (("grafana", "docker.io/grafana/grafana:11.0.0"),),
          (("secret", "grafana-admin"), ("configmap", "grafana-dashboards")), port=3000),
    _Spec("Deployment", "cert-manager", "cert-manager", 1,
          (("cert-manager-controller", "quay.io/jetstack/cert-manager-controller:v1.14.5"),), port=9402),
    _Spec("Deployment", "ingress-nginx", "ingress-nginx-controller", 2,
          (("controller", "registry.k8s.io/ingress-nginx/controller:v1.10.1"),),
          (("secret", "ingress-nginx-admission"),), port=80, account="ingress-nginx"),
    _Spec("Deployment", "payments", "payments-api", 3,
          (("api", "registry.example.com/payments/api:2.14.3"), ("envoy", "docker.io/envoyproxy/envoy:v1.30.2")),
          (("secret", "payments-db-credentials"),), port=8080),
    _Spec("Deployment", "payments", "payments-worker", 2, (("worker", "registry.example.com/payments/worker:2.14.3"),),
          (("secret", "stripe-api-key"),)),
    _Spec("StatefulSet", "payments", "postgres", 1, (("postgres", "docker.io/library/postgres:16.3"),),
          (("secret", "postgres-credentials"),), port=5432, automount=False),
    _Spec("Deployment", "shop", "frontend", 4, (("frontend", "registry.example.com/shop/frontend:1.8.3"),), port=8080),
    _Spec("Deployment", "shop", "cart", 2, (("cart", "registry.example.com/shop/cart:1.8.3"),),
          (("configmap", "cart-config"),), port=8080),
    _Spec("StatefulSet", "shop", "redis", 1, (("redis", "docker.io/library/redis:7.2.5"),), port=6379, automount=False),
    _Spec("Deployment", "ci", "runner", 2, (("runner", "registry.example.com/ci/runner:3.2.0"),), account="deployer"),
)
# fmt: on
_SYSTEM_NAMESPACES: Final = ("default", "kube-system", "kube-public", "kube-node-lease")
_CONTROLLERS: Final = (
    "replicaset-controller",
    "deployment-controller",
    "daemon-set-controller",
    "statefulset-controller",
    "endpointslice-controller",
)
_REGIONS: Final = ("us-east-1", "eu-west-1", "eu-central-1")
_ROLLOUTS_PER_DAY: Final = {"shop": 6.0, "payments": 3.0, "ci": 1.0}  # elsewhere: _RARE_ROLLOUTS
_RARE_ROLLOUTS: Final = 0.25
_DEATHS_PER_POD_DAY: Final = 0.3  # evictions, node drains, failed probes
_QUIET_END_NS: Final = 15 * MINUTE  # no disruption starts this close to the end of the period
_RELEASE_MIN_PERIOD: Final = HOUR  # a period this long or longer has a planned release
_RELEASE_FREEZE: Final = 3 * HOUR  # its app is rolled out again no sooner than this after it
_RELEASED: Final = ("shop", "payments")  # namespaces of the apps that ship releases (Deployments of 2+ replicas)
_IMAGE_BUILDS: Final = "registry.example.com/"  # our own images get a new tag on each rollout
_UUID_CLEAR: Final = ~((0xF << 76) | (0x3 << 62)) & ((1 << 128) - 1)
_UUID_SET: Final = (0x4 << 76) | (0x2 << 62)  # version 4, RFC 4122 variant


# ---- building --------------------------------------------------------------------------


def build_cluster(seed: int, start_ns: int, hours: float) -> Cluster:
    """The cluster of `seed`, its pods' lifetimes covering [start_ns, start_ns + hours)."""
    if hours <= 0:
        raise ValueError(f"hours must be positive, not {hours}")
    rng = random.Random(seed)
    period = (start_ns, start_ns + int(hours * HOUR))
    region = rng.choice(_REGIONS)
    nodes = _nodes(rng, random.Random(f"kubetrail-clocks:{seed}"), region, 6)
    control_plane_ip = _free_ip(rng, {n.ip for n in nodes}, subnet=0)
    workloads = tuple(_workload(rng, spec) for spec in _CATALOG)
    released, release_at = _release(random.Random(f"kubetrail-release:{seed}"), workloads, period)
    planners = [_Planner(rng, w, nodes, period, release_at if w is released else None) for w in workloads]
    lives = [life for planner in planners for life in planner.run()]
    return Cluster(
        name=f"{rng.choice(('prod', 'staging'))}-{region}",
        version=K8S_VERSION,
        start_ns=period[0],
        end_ns=period[1],
        control_plane_ip=control_plane_ip,
        nodes=nodes,
        namespaces=tuple(dict.fromkeys((*_SYSTEM_NAMESPACES, *(s.namespace for s in _CATALOG)))),
        workloads=workloads,
        revisions=tuple(r for planner in planners for r in planner.revisions),
        pods=_pods(rng, lives, _assign_ips(lives), period),
        services=_services(rng, workloads),
        humans=_humans(rng),
        controller_manager=_component("kube-controller-manager", control_plane_ip),
        scheduler=_component("kube-scheduler", control_plane_ip),
        controllers=tuple(ServiceAccount("kube-system", name, uuid4(rng)) for name in _CONTROLLERS),
        release=next((p.released for p in planners if p.released is not None), None),
    )


def _release(rng: random.Random, workloads: tuple[Workload, ...], period: tuple[int, int]) -> tuple[Workload | None, int]:
    """Which app ships the planned release, and when: in the period's first third, after its first sixth."""
    span = period[1] - period[0]
    apps = [w for w in workloads if w.kind == "Deployment" and w.namespace in _RELEASED and w.replicas >= 2]
    if span < _RELEASE_MIN_PERIOD:
        return None, 0
    return rng.choice(apps), period[0] + int(span * rng.uniform(1 / 6, 1 / 3))


def uuid4(rng: random.Random) -> str:
    """A version-4 UUID drawn from `rng` (uuid.uuid4 would read the OS's randomness)."""
    h = (rng.getrandbits(128) & _UUID_CLEAR | _UUID_SET).to_bytes(16, "big").hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def random_name(rng: random.Random, n: int) -> str:
    """`n` characters of the alphabet Kubernetes draws generated names from."""
    return "".join(rng.choices(ALPHABET, k=n))


def _nodes(rng: random.Random, clocks: random.Random, region: str, count: int) -> tuple[Node, ...]:
    """The nodes; their clock offsets come from `clocks`, so the rest of the model does not
    depend on them."""
    domain = "ec2.internal" if region == "us-east-1" else f"{region}.compute.internal"
    used: set[str] = set()
    for index in range(count):
        used.add(_free_ip(rng, used, subnet=1 + index % 3))
    ips = sorted(used, key=lambda ip: tuple(map(int, ip.split("."))))
    offsets = [clocks.randrange(1 - MAX_CLOCK_OFFSET_NS, MAX_CLOCK_OFFSET_NS) for _ in ips]
    return tuple(Node(f"ip-{ip.replace('.', '-')}.{domain}", uuid4(rng), ip, i, offsets[i]) for i, ip in enumerate(ips))


def _free_ip(rng: random.Random, used: set[str], subnet: int) -> str:
    """An unused address in 10.0.<subnet>.0/24: one subnet per availability zone."""
    while (ip := f"10.0.{subnet}.{rng.randrange(10, 250)}") in used:
        pass
    return ip


def _workload(rng: random.Random, spec: _Spec) -> Workload:
    account = ServiceAccount(spec.namespace, spec.account or spec.name, uuid4(rng))
    mounts = tuple(Mount(kind, name) for kind, name in spec.mounts)
    return Workload(spec.kind, spec.namespace, spec.name, uuid4(rng), spec.replicas, account, spec.images,
                    mounts, spec.host_network, spec.automount, spec.port)  # fmt: skip


def _humans(rng: random.Random) -> tuple[User, ...]:
    """A developer on an older kubectl (exec over SPDY: verb create) and an SRE on a newer one
    (exec over WebSocket: verb get)."""
    return (
        User("alice@example.com", ("developers", "system:authenticated"), f"203.0.113.{rng.randrange(2, 250)}",
             "kubectl/v1.29.6 (darwin/arm64) kubernetes/062798d"),
        User("sam.rivera@example.com", ("sre", "system:authenticated"), f"198.51.100.{rng.randrange(2, 250)}",
             "kubectl/v1.31.1 (linux/amd64) kubernetes/948afe5"),
    )  # fmt: skip


def _component(name: str, source_ip: str) -> User:
    agent = f"{name}/{K8S_VERSION} (linux/amd64) kubernetes/{K8S_COMMIT}"
    return User(f"system:{name}", ("system:authenticated",), source_ip, agent)


# ---- pods over time --------------------------------------------------------------------


class _Life(NamedTuple):
    """One pod before it has a name: its template, node, replica slot and lifetime."""

    revision: Revision
    node: Node
    slot: int  # replica index (a StatefulSet's ordinal; a DaemonSet's node)
    start: int
    end: int | None


class _Planner:
    """Plans one workload's pods: which template runs where, from when to when."""

    def __init__(
        self, rng: random.Random, workload: Workload, nodes: tuple[Node, ...], period: tuple[int, int], release: int | None
    ) -> None:
        self.rng, self.workload, self.nodes, self.period, self.release = rng, workload, nodes, period, release
        first = self._revision(workload.images, period[0] - int(rng.uniform(2, 20) * DAY))
        self.revisions = [first]
        slots = len(nodes) if workload.kind == "DaemonSet" else workload.replicas
        self.current = [self._initial(first, slot) for slot in range(slots)]
        self.lives: list[_Life] = []
        self.released: Revision | None = None  # the revision the planned release made

    def run(self) -> list[_Life]:
        for t, slot in self._disruptions():
            if slot < 0:
                self._rollout(t)
                if t == self.release:
                    self.released = self.revisions[-1]
            else:
                self._replace(slot, t)
        return self.lives + self.current

    def _initial(self, revision: Revision, slot: int) -> _Life:
        earliest = max(revision.created_ns, self.period[0] - 5 * DAY) + 5 * NS
        start = int(self.rng.uniform(earliest, self.period[0] - MINUTE))
        return _Life(revision, self._node(slot), slot, start, None)

    def _node(self, slot: int) -> Node:
        return self.nodes[slot] if self.workload.kind == "DaemonSet" else self.rng.choice(self.nodes)

    def _revision(self, images: tuple[tuple[str, str], ...], created_ns: int) -> Revision:
        w, template_hash = self.workload, random_name(self.rng, 10)
        if w.kind != "Deployment":
            return Revision(w, w.kind, w.name, w.uid, template_hash, images, created_ns)
        name = f"{w.name}-{template_hash}"
        return Revision(w, "ReplicaSet", name, uuid4(self.rng), template_hash, images, created_ns)

    def _disruptions(self) -> list[tuple[int, int]]:
        """Rollouts (slot -1) and the deaths of single pods, in time order."""
        rate = _ROLLOUTS_PER_DAY.get(self.workload.namespace, _RARE_ROLLOUTS)
        events = [(t, -1) for t in self._poisson(rate)]
        if self.release is not None:  # none just before the planned release, nor for a while after it
            events = [(t, s) for t, s in events if not self.release - HOUR < t < self.release + _RELEASE_FREEZE]
            events.append((self.release, -1))
        for slot in range(len(self.current)):
            events.extend((t, slot) for t in self._poisson(_DEATHS_PER_POD_DAY))
        return sorted(events)

    def _poisson(self, per_day: float) -> Iterator[int]:
        t, stop = float(self.period[0]), self.period[1] - _QUIET_END_NS
        while (t := t + self.rng.expovariate(per_day / DAY)) < stop:
            yield int(t)

    def _rollout(self, t: int) -> None:
        revision = self._revision(_bump(self.revisions[-1].images), t)
        self.revisions.append(revision)
        slots = range(len(self.current))
        t += 2 * NS
        for slot in reversed(slots) if self.workload.kind == "StatefulSet" else slots:
            t = max(t + int(self.rng.uniform(3, 12) * NS), self.current[slot].start + MINUTE)
            self._swap(slot, t, revision)

    def _swap(self, slot: int, t: int, revision: Revision) -> None:
        """Replace a slot's pod at `t`: a Deployment surges (new pod first), the others recreate."""
        gap = int(self.rng.uniform(2, 20) * NS)
        surge = self.workload.kind == "Deployment"
        self._close(slot, t + gap if surge else t)
        self.current[slot] = _Life(revision, self._node(slot), slot, t if surge else t + gap, None)

    def _replace(self, slot: int, t: int) -> None:
        life = self.current[slot]
        if t >= life.start + MINUTE:  # a pod this young was just replaced already
            self._close(slot, t)
            start = t + int(self.rng.uniform(1, 4) * NS)
            self.current[slot] = _Life(life.revision, self._node(slot), slot, start, None)

    def _close(self, slot: int, end: int) -> None:
        self.lives.append(self.current[slot]._replace(end=end))


def _bump(images: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """Our own images get the next patch tag; third-party images stay (a config rollout)."""
    return tuple((name, _next_tag(image) if image.startswith(_IMAGE_BUILDS) else image) for name, image in images)


def _next_tag(image: str) -> str:
    repo, _, tag = image.rpartition(":")
    head, _, patch = tag.rpartition(".")
    return f"{repo}:{head}.{int(patch) + 1}"


@dataclass(slots=True)
class _Pool:
    """A node's pod IPs: freed addresses are handed out again, oldest first, before new ones."""

    index: int
    free: deque[str] = field(default_factory=deque)
    next_host: int = 2

    def take(self) -> str:
        if self.free:
            return self.free.popleft()
        if self.next_host > 254:
            raise RuntimeError(f"10.244.{self.index}.0/24 has no free address")
        self.next_host += 1
        return f"10.244.{self.index}.{self.next_host - 1}"


def _assign_ips(lives: list[_Life]) -> list[str]:
    """Each pod's IP; host-network pods keep their node's."""
    ips = [life.node.ip for life in lives]
    for index, changes in _ip_changes(lives).items():
        pool = _Pool(index)
        for _, arriving, i in sorted(changes):
            if arriving:
                ips[i] = pool.take()
            else:
                pool.free.append(ips[i])
    return ips


def _ip_changes(lives: list[_Life]) -> dict[int, list[tuple[int, int, int]]]:
    """Per node: when each pod-network pod takes (1) and frees (0) an IP, by index in `lives`.

    Sorted, a pod leaving frees its IP before one arriving at the same instant takes one.
    """
    changes: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for i, life in enumerate(lives):
        if not life.revision.workload.host_network:
            changes[life.node.index].append((life.start, 1, i))
            if life.end is not None:
                changes[life.node.index].append((life.end, 0, i))
    return changes


def _pods(rng: random.Random, lives: list[_Life], ips: list[str], period: tuple[int, int]) -> tuple[Pod, ...]:
    pods = [_pod(rng, life, ip, period) for life, ip in zip(lives, ips, strict=True)]
    return tuple(sorted(pods, key=lambda p: (p.start_ns, p.name)))


def _pod(rng: random.Random, life: _Life, ip: str, period: tuple[int, int]) -> Pod:
    w, revision = life.revision.workload, life.revision
    name = f"{w.name}-{life.slot}" if w.kind == "StatefulSet" else f"{revision.owner_name}-{random_name(rng, 5)}"
    containers = tuple(Container(c, f"{rng.getrandbits(256):064x}", image) for c, image in revision.images)
    stop = period[1] if life.end is None else min(life.end, period[1])
    tokens = _tokens(rng, life.start, stop, period[0]) if w.automount_token else ()
    return Pod(w.namespace, name, uuid4(rng), revision, life.node, ip, life.start, life.end, containers, tokens)


def _tokens(rng: random.Random, start: int, stop: int, period_start: int) -> tuple[Token, ...]:
    """The tokens the kubelet requests for a pod, from the one in use at `period_start` on."""
    first = start - NS  # requested just before the containers start
    skipped = max(0, (period_start - first) // TOKEN_REFRESH_NS)
    issued = range(first + skipped * TOKEN_REFRESH_NS, stop, TOKEN_REFRESH_NS)
    return tuple(Token(t, f"JTI={uuid4(rng)}") for t in issued)


def _services(rng: random.Random, workloads: tuple[Workload, ...]) -> tuple[Service, ...]:
    used = {"10.96.0.1", "10.96.0.10"}
    services = [Service("default", "kubernetes", "10.96.0.1", 443, None)]
    for w in (w for w in workloads if w.port):
        if w.name == "coredns":
            services.append(Service(w.namespace, "kube-dns", "10.96.0.10", w.port, w))
            continue
        while (ip := _service_ip(rng.randrange(16, 1 << 20))) in used:
            pass
        used.add(ip)
        services.append(Service(w.namespace, w.name, ip, w.port, w))
    return tuple(services)


def _service_ip(offset: int) -> str:
    """The address `offset` into the service range 10.96.0.0/12."""
    return f"10.{96 + (offset >> 16)}.{(offset >> 8) & 255}.{offset & 255}"
