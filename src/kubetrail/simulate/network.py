"""The network side of a simulated cluster: Hubble flows and the OpenTelemetry traces of its apps.

`write_hubble` writes `hubble observe -o jsonpb` lines for the model's background traffic: the
workloads that talk to each other (ingress -> frontend -> cart/payments -> redis/postgres,
Prometheus scraping the apps, Grafana querying Prometheus), each connection as its request flow
(TCP SYN) and its reply (SYN-ACK); lookups through kube-dns as L7 DNS flows, for in-cluster
service names and for the few external names the apps are expected to reach (an object store, a
package mirror, a payment provider, an ACME server), followed by the connection to the answered
address. Every endpoint is a pod alive when the flow happened, with the IP it held then.

Beside that traffic, jobs every replica of some workloads runs on a timer (`JOBS`), benign
look-alikes of a beacon: a sync to the object store every 15 minutes (one address per answer, out
of many), a metrics push to a SaaS every 5 minutes by two apps, an hourly licence check and an NTP
poll every 1024 s by both payments apps, each with its scheduler's jitter, resolving the name
again when its cached answer has expired. They take at most a third of the flows asked for: at
sizes too small for all of them, those that do not fit are left out.

`write_otlp` writes OTLP/JSON `ExportTraceServiceRequest` documents, one trace per line: an HTTP
request served by a frontend pod, its client call and the server span of the API pod it calls,
each span stamped by the clock of its pod's node (the SDK reads the host's clock), so an API
span on another node may seem to start before the call that caused it.

Flows are as Hubble Relay exports them from all nodes: each stamped by the clock of the node that
observed it (the client's: `node.stamp`, off by its `clock_offset_ns`), merged by that time with a
few lines up to 300 ms late, and about 1 % of them delivered twice, the same uuid and bytes
(`clock.Delivery`). Traces are written in the order their requests came. Both are built from
per-pod templates and dumped with orjson.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import IO, Any, Final, NamedTuple

import orjson

from kubetrail.simulate.clock import Delivery, rfc3339_ns
from kubetrail.simulate.cluster import HOUR, MINUTE, NS, Cluster, Pod, Service, uuid4

Json = dict[str, Any]

US: Final = 1_000
MS: Final = 1_000_000
_WORLD: Final[Json] = {"identity": 2, "labels": ["reserved:world"]}
_EPHEMERAL: Final = (32768, 60999)  # Linux's default ip_local_port_range
_DNS_TTL: Final = 30  # CoreDNS's default cache TTL for cluster names
_SYN: Final[Json] = {"SYN": True}
_SYN_ACK: Final[Json] = {"SYN": True, "ACK": True}


class _Talk(NamedTuple):
    """A client workload that calls a server workload's Service, `weight` times as often as 1."""

    client: str
    server: str
    weight: float


class _External(NamedTuple):
    """A name outside the cluster a workload resolves and connects to."""

    client: str
    name: str
    weight: float
    prefix: str  # the first two octets of its addresses
    port: int = 443
    rotating: bool = False  # each answer is one of its many addresses (an object store), else all of its few


class Job(NamedTuple):
    """What every pod of some workloads does on a timer: resolve `name` (when the answer it cached
    for `ttl` s has expired) and connect to the address answered."""

    workloads: tuple[str, ...]
    name: str
    prefix: str  # the first two octets of its addresses
    port: int
    protocol: str  # "TCP" or "UDP"
    every: int  # ns
    timing: str  # "loop": `every` after the last run and its work; "timer": every `every` from the start; "cron": on the clock
    late: tuple[float, float]  # s: how long the work takes plus how much the wait errs (loop), how late a run starts (else)
    ttl: int  # s, of the DNS answers
    rotating: bool = False


class _Run(NamedTuple):
    """One run of a job: by `pod` at `t`, after a lookup answering `answer` when `lookup`."""

    t: int
    pod: Pod
    job: Job
    address: str
    answer: tuple[str, ...]
    lookup: bool

    @property
    def lines(self) -> int:
        return 4 if self.lookup else 2


# fmt: off
_TALKS: Final = (
    _Talk("ingress-nginx/ingress-nginx-controller", "shop/frontend", 8.0),
    _Talk("shop/frontend", "shop/cart", 5.0),
    _Talk("shop/frontend", "payments/payments-api", 3.0),
    _Talk("shop/cart", "shop/redis", 6.0),
    _Talk("payments/payments-api", "payments/postgres", 4.0),
    _Talk("payments/payments-worker", "payments/postgres", 2.0),
    _Talk("payments/payments-worker", "payments/payments-api", 1.0),
    _Talk("monitoring/prometheus", "payments/payments-api", 1.0),
    _Talk("monitoring/prometheus", "shop/frontend", 1.0),
    _Talk("monitoring/prometheus", "shop/cart", 1.0),
    _Talk("monitoring/grafana", "monitoring/prometheus", 0.5),
)
_RECEIPTS: Final = "payments-receipts.s3.us-east-1.amazonaws.com."
_EXTERNALS: Final = (
    _External("payments/payments-api", _RECEIPTS, 0.6, "52.216", rotating=True),
    _External("payments/payments-worker", "api.stripe.com.", 1.0, "54.187"),
    _External("ci/runner", "pypi.org.", 0.3, "151.101"),
    _External("ci/runner", "files.pythonhosted.org.", 0.3, "146.75"),
    _External("ci/runner", "deb.debian.org.", 0.2, "199.232"),
    _External("cert-manager/cert-manager", "acme-v02.api.letsencrypt.org.", 0.05, "172.65"),
    _External("monitoring/grafana", "grafana.com.", 0.05, "34.120"),
)
JOBS: Final = (
    # payments-worker's replicas sync the receipts payments-api writes to its bucket: a sync, then
    # `sleep 900`; S3 answers one of many addresses, for 5 s
    Job(("payments/payments-worker",), _RECEIPTS, "52.216", 443, "TCP", 15 * MINUTE, "loop", (3.0, 40.0), 5, rotating=True),
    # the OTel SDKs of two apps export metrics every 5 min (OTEL_METRIC_EXPORT_INTERVAL=300000) to a
    # SaaS; its gateway closes idle connections sooner, so each export opens one
    Job(("shop/cart", "payments/payments-api"), "otlp.nr-data.net.", "162.247", 4318, "TCP", 5 * MINUTE, "timer",
         (0.001, 0.05), 60),
    # the payments apps' fraud-scoring SDK checks its licence at the top of every hour
    Job(("payments/payments-api", "payments/payments-worker"), "license.riskgate.io.", "34.102", 443, "TCP", HOUR, "cron",
         (0.1, 3.0), 300),
    # their signing library checks the clock against NTP every 1024 s (an SNTP client's poll)
    Job(("payments/payments-api", "payments/payments-worker"), "time.cloudflare.com.", "162.159", 123, "UDP", 1024 * NS,
         "loop", (-50.0, 50.0), 300),
)
# fmt: on
_PERIODIC_SHARE: Final = 1 / 3  # of the flows asked for, at most this many are the jobs' (those that fit, in order)
_DNS: Final = "kube-system/coredns"
_CONNECT_ONLY: Final = 0.6  # a connection whose name the client had cached: no lookup first
_EXTERNAL_SHARE: Final = 0.12  # of lookups, those of an external name
_HOLD: Final = 100 * MS  # an exchange's pods are alive this long after it starts: all its flows fall within
_TWICE: Final = 0.01  # of flows, those Relay delivers twice (the same uuid and bytes)


# ---- who is alive ------------------------------------------------------------------------


class _Live:
    """The pods alive at a moving time, per workload (namespace/name); time only moves forward."""

    def __init__(self, pods: tuple[Pod, ...]) -> None:
        self.changes = sorted(
            [(p.start_ns, 1, i) for i, p in enumerate(pods)]
            + [(p.end_ns, 0, i) for i, p in enumerate(pods) if p.end_ns is not None]
        )
        self.pods, self.next = pods, 0
        self.by_workload: dict[str, list[Pod]] = {}

    def advance(self, t: int) -> None:
        changes, pods = self.changes, self.pods
        while self.next < len(changes) and changes[self.next][0] <= t:
            _, arriving, i = changes[self.next]
            pod = pods[i]
            alive = self.by_workload.setdefault(pod.workload.key, [])
            if arriving:
                alive.append(pod)
            else:
                alive.remove(pod)
            self.next += 1

    def pick(self, rng: random.Random, key: str, until: int) -> Pod | None:
        """A pod of workload `key` alive from the time advanced to until `until`; None when none is."""
        alive = [p for p in self.by_workload.get(key, ()) if p.alive(until)]
        return alive[int(rng.random() * len(alive))] if alive else None


# ---- time --------------------------------------------------------------------------------


def _sorted_times(rng: random.Random, start: int, end: int, count: int) -> list[int]:
    span = end - start
    return sorted(start + int(rng.random() * span) for _ in range(count))


# ---- Hubble --------------------------------------------------------------------------------


def endpoint(pod: Pod, cluster_name: str | None, identity: int, endpoint_id: int) -> Json:
    """A pod's Hubble endpoint as `hubble observe` prints it (`cluster_name`: as Cilium knows it)."""
    w = pod.workload
    app = "k8s:k8s-app=kube-dns" if w.key == _DNS else f"k8s:app={w.name}"
    labels = sorted((app, f"k8s:io.cilium.k8s.policy.cluster={cluster_name or 'default'}",
                     f"k8s:io.cilium.k8s.policy.serviceaccount={w.service_account.name}",
                     f"k8s:io.kubernetes.pod.namespace={pod.namespace}"))  # fmt: skip
    return {"ID": endpoint_id, "identity": identity, "namespace": pod.namespace, "labels": labels, "pod_name": pod.name,
            "workloads": [{"name": w.name, "kind": w.kind}]}  # fmt: skip


class Endpoints:
    """Hubble endpoints of a cluster's pods: a security identity per workload (drawn now), and
    each pod's endpoint made once (its id drawn then) and shared by all its flows."""

    def __init__(self, cluster: Cluster, rng: random.Random) -> None:
        self.cluster, self.rng = cluster, rng
        self.identities = {w.key: rng.randrange(1000, 65000) for w in cluster.workloads}
        self.made: dict[str, Json] = {}  # pod uid -> its endpoint object

    def of(self, pod: Pod) -> Json:
        if (made := self.made.get(pod.uid)) is None:
            identity = self.identities[pod.workload.key]
            made = self.made[pod.uid] = endpoint(pod, self.cluster.cilium_name, identity, self.rng.randrange(1, 4096))
        return made


def flow_record(
    t: int, cluster: str | None, observer: Pod, uuid: str, src: Json, dst: Json, src_ip: str, dst_ip: str, l4: Json, kind: str,
    event_type: Json, reply: bool, point: str | None, l7: Json | None, summary: str,
) -> Json:  # fmt: skip
    """One `hubble observe -o jsonpb` line, as seen on the observer pod's node; `t` is the time
    printed, as that node's clock reads it (`observer.node.stamp` of the true time); `cluster`: its
    name as Cilium knows it, if it does (Relay then prints node names as "cluster/node")."""
    stamp, node = rfc3339_ns(t), f"{cluster}/{observer.node.name}" if cluster else observer.node.name
    flow: Json = {"time": stamp, "uuid": uuid, "verdict": "FORWARDED",
                  "IP": {"source": src_ip, "destination": dst_ip, "ipVersion": "IPv4"}, "l4": l4,
                  "source": src, "destination": dst, "Type": kind, "node_name": node}  # fmt: skip
    if l7 is not None:
        flow["l7"] = l7
    flow["event_type"], flow["traffic_direction"] = event_type, "EGRESS"
    if point is not None:
        flow["trace_observation_point"] = point
    flow["is_reply"], flow["Summary"] = reply, summary
    return {"flow": flow, "node_name": node, "time": stamp}


def write_hubble(path: Path | str, *, cluster: Cluster, events: int, seed: int) -> int:
    """Write `events` Hubble flow lines (`hubble observe -o jsonpb`) about `cluster` to `path`.

    The same cluster and seed give the same bytes; returns the number of lines written.
    """
    if events < 0:
        raise ValueError(f"events must be zero or more, not {events}")
    with open(path, "wb", buffering=1 << 20) as out:
        delivery = Delivery(random.Random(f"kubetrail-delivery:hubble:{seed}"), twice=_TWICE)
        pools = _pools(random.Random(f"kubetrail-addresses:{seed}"))
        jobs = [_schedule(cluster, job, pools[job.name], random.Random(f"kubetrail-jobs:{seed}:{job.name}")) for job in JOBS]
        return _Hubble(cluster, random.Random(seed), delivery, out, pools).run(events, _fitting(jobs, events))


def _pools(rng: random.Random) -> dict[str, list[str]]:
    """The addresses of each external name: many for one that answers one at a time, else 1 to 4."""
    rotating = {e.name for e in _EXTERNALS if e.rotating} | {j.name for j in JOBS if j.rotating}
    prefixes = {e.name: e.prefix for e in _EXTERNALS} | {j.name: j.prefix for j in JOBS}
    pools = {}
    for name, prefix in prefixes.items():
        count = 16 if name in rotating else rng.choice((1, 2, 4))
        pools[name] = [f"{prefix}.{rng.randrange(1, 255)}.{rng.randrange(1, 255)}" for _ in range(count)]
    return pools


def _answer(rng: random.Random, pool: list[str], rotating: bool) -> tuple[str, ...]:
    return (pool[int(rng.random() * len(pool))],) if rotating else tuple(pool)


def _schedule(cluster: Cluster, job: Job, pool: list[str], rng: random.Random) -> list[_Run]:
    """The runs of a job by every pod of its workloads in the period, in time order."""
    runs = []
    for pod in cluster.pods:
        if pod.workload.key not in job.workloads:
            continue
        origin = pod.start_ns + int(rng.uniform(5, 60) * NS)  # the process is up, its scheduler started
        stop = min(pod.end_ns or cluster.end_ns, cluster.end_ns) - _HOLD
        cached: tuple[str, tuple[str, ...]] = ("", ())
        expires = 0
        for t in _ticks(rng, job, origin, max(origin, cluster.start_ns), stop):
            lookup = t >= expires
            if lookup:
                answer = _answer(rng, pool, job.rotating)
                cached, expires = (answer[int(rng.random() * len(answer))], answer), t + job.ttl * NS
            runs.append(_Run(t, pod, job, cached[0], cached[1], lookup))
    return sorted(runs, key=lambda r: (r.t, r.pod.uid))


def _ticks(rng: random.Random, job: Job, origin: int, begin: int, stop: int) -> list[int]:
    """When a pod whose scheduler started at `origin` runs the job in [begin, stop)."""
    every, (lo, hi) = job.every, job.late
    if job.timing == "loop":
        t, out = begin if origin >= begin else begin + int(rng.random() * every), []
        while t < stop:
            out.append(t)
            t += every + int(rng.uniform(lo, hi) * NS)
        return out
    first = origin if job.timing == "timer" else 0  # cron: on the wall clock
    ticks = range(first + -(-(begin - first) // every) * every, stop, every)
    return [t for tick in ticks if (t := tick + int(rng.uniform(lo, hi) * NS)) < stop]


def _fitting(jobs: list[list[_Run]], events: int) -> list[_Run]:
    """The runs of the jobs that fit in their share of `events` lines, in order, merged by time."""
    room, kept = int(events * _PERIODIC_SHARE), []
    for runs in jobs:
        lines = sum(r.lines for r in runs)
        if lines <= room:
            room -= lines
            kept += runs
    return sorted(kept, key=lambda r: (r.t, r.pod.uid))


class _Hubble:
    def __init__(
        self, cluster: Cluster, rng: random.Random, delivery: Delivery, out: IO[bytes], pools: dict[str, list[str]]
    ) -> None:
        self.cluster, self.rng, self.out = cluster, rng, out
        self.live = _Live(cluster.pods)
        self.services = {s.workload.key: s for s in cluster.services if s.workload is not None}
        self.endpoints = Endpoints(cluster, rng)
        self.endpoint_ids: dict[str, int] = {}
        self.world_ips = pools
        self.talk_weights = _cumulative([t.weight for t in _TALKS])
        self.external_weights = _cumulative([e.weight for e in _EXTERNALS])
        self.order = delivery

    def run(self, events: int, runs: list[_Run]) -> int:
        rng = self.rng
        plan: list[bool] = []  # per exchange: does a lookup come first (4 lines) or not (2)?
        lines = sum(r.lines for r in runs)
        while lines < events:
            lookup = rng.random() >= _CONNECT_ONLY
            plan.append(lookup)
            lines += 4 if lookup else 2
        times = _sorted_times(rng, self.cluster.start_ns, self.cluster.end_ns - 50 * MS, len(plan))
        written, chunk, i = 0, [], 0
        for lookup, t in zip(plan, times, strict=True):
            while i < len(runs) and runs[i].t <= t:
                self._run(runs[i])
                i += 1
            self.live.advance(t)
            due = self.order.due(t, events - written)
            chunk += due
            written += len(due)
            if len(chunk) >= 4096:
                self.out.write(b"".join(chunk))
                chunk.clear()
            self._exchange(t, lookup)
        for run in runs[i:]:
            self._run(run)
        while self.order.made < events:  # a run that found no DNS server left its lines to others
            self._exchange(times[-1] if times else self.cluster.start_ns, False)
        due = self.order.due(None, events - written)
        chunk += due
        written += len(due)
        self.out.write(b"".join(chunk))
        return written

    def _run(self, run: _Run) -> None:
        """A job's run: the lookup (when its cached answer expired), then the connection or datagram."""
        t, client = run.t, run.pod
        self.live.advance(t)
        if run.lookup:
            dns = self.live.pick(self.rng, _DNS, t + _HOLD)
            if dns is None:
                return
            t = self._lookup(t, client, dns, run.job.name, list(run.answer), run.job.ttl)
        if run.job.protocol == "UDP":
            self._datagram(t, client, run.address, run.job.port)
        else:
            self._connect(t, client, None, run.address, run.job.port)

    def _exchange(self, t: int, lookup: bool) -> None:
        """A connection, after a lookup of its name when `lookup` (external names always need one)."""
        rng = self.rng
        if lookup and rng.random() < _EXTERNAL_SHARE:
            ext = _EXTERNALS[_choose(rng, self.external_weights)]
            client = self.live.pick(rng, ext.client, t + _HOLD)
            dns = self.live.pick(rng, _DNS, t + _HOLD)
            if client is not None and dns is not None:
                ips = list(_answer(rng, self.world_ips[ext.name], ext.rotating))
                t = self._lookup(t, client, dns, ext.name, ips)
                self._connect(t, client, None, rng.choice(ips), ext.port)
                return
        for _ in range(50):
            talk = _TALKS[_choose(rng, self.talk_weights)]
            client, server = self.live.pick(rng, talk.client, t + _HOLD), self.live.pick(rng, talk.server, t + _HOLD)
            dns = self.live.pick(rng, _DNS, t + _HOLD) if lookup else None
            if client is None or server is None or (lookup and dns is None):
                continue
            service = self.services[talk.server]
            if dns is not None:
                name = f"{service.name}.{service.namespace}.svc.cluster.local."
                t = self._lookup(t, client, dns, name, [service.cluster_ip])
            self._connect(t, client, server, server.ip, service.port)
            return
        raise RuntimeError(f"no pair of workloads that talk is alive at {t}")

    def _lookup(self, t: int, client: Pod, dns: Pod, name: str, ips: list[str], ttl: int | None = None) -> int:
        """A DNS query and its answer (its TTL `ttl` s, else as usual for the name); returns the
        time the answer arrived."""
        rng = self.rng
        port = rng.randrange(*_EPHEMERAL)
        dns_port = self.services[_DNS].port
        latency = 200 * US + int(rng.random() * 3 * MS)
        if ttl is None:
            ttl = _DNS_TTL if name.endswith(".cluster.local.") else rng.randrange(20, 300)
        src, dst = self.endpoints.of(client), self.endpoints.of(dns)
        query = {"type": "REQUEST", "dns": {"query": name, "observation_source": "proxy", "qtypes": ["A"]}}
        self._emit(t, client, src, dst, client.ip, dns.ip, {"UDP": {"source_port": port, "destination_port": dns_port}},
                   "L7", {"type": 129}, False, None, query, f"DNS Query {name} A")  # fmt: skip
        answer = {"type": "RESPONSE", "latency_ns": latency,
                  "dns": {"query": name, "ips": ips, "ttl": ttl, "observation_source": "proxy", "rcode": 0,
                          "qtypes": ["A"], "rrtypes": ["A"]}}  # fmt: skip
        quoted = ",".join(f'"{ip}"' for ip in ips)
        self._emit(t + latency, client, dst, src, dns.ip, client.ip,
                   {"UDP": {"source_port": dns_port, "destination_port": port}}, "L7", {"type": 129}, True, None,
                   answer, f"DNS Answer {quoted} TTL: {ttl} (Proxy {name} A)")  # fmt: skip
        return t + latency + 20 * US + int(rng.random() * 200 * US)

    def _connect(self, t: int, client: Pod, server: Pod | None, ip: str, port: int) -> None:
        """A TCP handshake's SYN and SYN-ACK, as the client's node sees them."""
        rng = self.rng
        sport = rng.randrange(*_EPHEMERAL)
        src = self.endpoints.of(client)
        dst = _WORLD if server is None else self.endpoints.of(server)
        if server is None:
            point, sub = "TO_STACK", 3
        elif server.node is client.node:
            point, sub = "TO_ENDPOINT", 0
        else:
            point, sub = "TO_OVERLAY", 4
        request_type = {"type": 4, "sub_type": sub} if sub else {"type": 4}
        self._emit(t, client, src, dst, client.ip, ip, {"TCP": {"source_port": sport, "destination_port": port, "flags": _SYN}},
                   "L3_L4", request_type, False, point, None, "TCP Flags: SYN")  # fmt: skip
        rtt = 60 * US + int(rng.random() * (40 * MS if server is None else 900 * US))
        self._emit(t + rtt, client, dst, src, ip, client.ip,
                   {"TCP": {"source_port": port, "destination_port": sport, "flags": _SYN_ACK}},
                   "L3_L4", {"type": 4}, True, "TO_ENDPOINT", None, "TCP Flags: SYN, ACK")  # fmt: skip

    def _datagram(self, t: int, client: Pod, ip: str, port: int) -> None:
        """A UDP request to an address outside and its answer, as the client's node sees them."""
        rng = self.rng
        sport, src = rng.randrange(*_EPHEMERAL), self.endpoints.of(client)
        self._emit(t, client, src, _WORLD, client.ip, ip, {"UDP": {"source_port": sport, "destination_port": port}},
                   "L3_L4", {"type": 4, "sub_type": 3}, False, "TO_STACK", None, "UDP")  # fmt: skip
        rtt = 2 * MS + int(rng.random() * 30 * MS)
        self._emit(t + rtt, client, _WORLD, src, ip, client.ip, {"UDP": {"source_port": port, "destination_port": sport}},
                   "L3_L4", {"type": 4}, True, "TO_ENDPOINT", None, "UDP")  # fmt: skip

    def _emit(self, t: int, observer: Pod, src: Json, dst: Json, src_ip: str, dst_ip: str, l4: Json, kind: str,
              event_type: Json, reply: bool, point: str | None, l7: Json | None, summary: str) -> None:  # fmt: skip
        stamp = observer.node.stamp(t)  # the observer's node stamps the flow
        record = flow_record(stamp, self.cluster.cilium_name, observer, uuid4(self.rng), src, dst, src_ip, dst_ip, l4, kind,
                             event_type, reply, point, l7, summary)  # fmt: skip
        self.order.push(stamp, orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))


def _cumulative(weights: list[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


def _choose(rng: random.Random, cumulative: list[float]) -> int:
    x, i = rng.random() * cumulative[-1], 0
    while cumulative[i] <= x:
        i += 1
    return i


# ---- OpenTelemetry ---------------------------------------------------------------------------


class _Route(NamedTuple):
    """A frontend route, the API workload it calls and that call's route; `weight`: how often it is asked for."""

    method: str
    route: str
    api: str  # namespace/name of the workload called
    api_method: str
    api_route: str
    weight: float


# fmt: off
_ROUTES: Final = (
    _Route("GET", "/products/{id}", "shop/cart", "GET", "/api/v1/cart/{userId}", 6.0),
    _Route("GET", "/cart", "shop/cart", "GET", "/api/v1/cart/{userId}", 3.0),
    _Route("POST", "/cart", "shop/cart", "POST", "/api/v1/cart/{userId}/items", 2.0),
    _Route("POST", "/checkout", "payments/payments-api", "POST", "/v1/payments", 1.0),
    _Route("GET", "/orders/{id}", "payments/payments-api", "GET", "/v1/payments/{id}", 1.0),
)
# fmt: on
_WEB: Final = "shop/frontend"
_INGRESS: Final = "ingress-nginx/ingress-nginx-controller"
_LOGGED_IN: Final = 0.55
_USERS: Final = 400
_SCOPES: Final = {
    "shop/frontend": {"name": "@opentelemetry/instrumentation-http", "version": "0.52.1"},
    "shop/cart": {"name": "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp", "version": "0.52.0"},
    "payments/payments-api": {"name": "io.opentelemetry.spring-webmvc-6.0", "version": "2.5.0-alpha"},
}
SERVER: Final = 2
CLIENT: Final = 3


def write_otlp(path: Path | str, *, cluster: Cluster, requests: int, seed: int) -> int:
    """Write `requests` traces about `cluster` to `path`, one OTLP/JSON document per line.

    The same cluster and seed give the same bytes; returns the number of spans written.
    """
    if requests < 0:
        raise ValueError(f"requests must be zero or more, not {requests}")
    with open(path, "wb", buffering=1 << 20) as out:
        return _Otlp(cluster, random.Random(seed)).run(out, requests)


class _Otlp:
    def __init__(self, cluster: Cluster, rng: random.Random) -> None:
        self.cluster, self.rng = cluster, rng
        self.live = _Live(cluster.pods)
        self.services: dict[str, Service] = {s.workload.key: s for s in cluster.services if s.workload is not None}
        self.resources: dict[str, Json] = {}
        self.weights = _cumulative([r.weight for r in _ROUTES])
        self.users = [f"customer-{rng.randrange(10_000, 99_999)}" for _ in range(_USERS)]

    def run(self, out: IO[bytes], requests: int) -> int:
        times = _sorted_times(self.rng, self.cluster.start_ns, self.cluster.end_ns - NS, requests)
        spans, chunk = 0, []
        for t in times:
            self.live.advance(t)
            doc = self._trace(t)
            spans += 3  # the frontend's server and client spans, the API's server span
            chunk.append(orjson.dumps(doc, option=orjson.OPT_APPEND_NEWLINE))
            if len(chunk) >= 1024:
                out.write(b"".join(chunk))
                chunk.clear()
        out.write(b"".join(chunk))
        return spans

    def _trace(self, t: int) -> Json:
        rng = self.rng
        for _ in range(50):
            route = _ROUTES[_choose(rng, self.weights)]
            web, ingress = self.live.pick(rng, _WEB, t + _HOLD), self.live.pick(rng, _INGRESS, t)
            call = t + 150 * US + int(rng.random() * 2 * MS)
            served = call + 300 * US + int(rng.random() * 700 * US)
            api = self.live.pick(rng, route.api, served)
            if web is not None and ingress is not None and api is not None:
                break
        else:
            raise RuntimeError(f"no frontend and API pod are alive at {t}")
        work = 500 * US + int(rng.expovariate(1 / (8 * MS)))
        api_end = served + work
        call_end = api_end + 100 * US + int(rng.random() * 400 * US)
        end = call_end + 200 * US + int(rng.random() * 2 * MS)
        trace_id = f"{rng.getrandbits(128):032x}"
        web_id, client_id, api_id = (f"{rng.getrandbits(64):016x}" for _ in range(3))
        ident = rng.randrange(1, 100_000)
        user = self.users[int(rng.random() * _USERS)] if rng.random() < _LOGGED_IN else None
        code = _status(rng, route.api_method)
        front_code = code if code < 500 else 502
        path = route.route.replace("{id}", str(ident))
        api_path = route.api_route.replace("{userId}", user or "anonymous").replace("{id}", str(ident))
        service = self.services[route.api]
        server_attrs = [_s("http.request.method", route.method), _s("http.route", route.route),
                        _s("url.path", path), _s("url.scheme", "http"), _i("http.response.status_code", front_code),
                        _s("client.address", ingress.ip), _s("user_agent.original", _agent(rng))]  # fmt: skip
        if user is not None:
            server_attrs.append(_s("enduser.id", user))
        host = f"{service.name}.{service.namespace}.svc.cluster.local"
        client_attrs = [_s("http.request.method", route.api_method), _s("url.full", f"http://{host}:{service.port}{api_path}"),
                        _s("server.address", host), _i("server.port", service.port),
                        _i("http.response.status_code", code)]  # fmt: skip
        api_attrs = [_s("http.request.method", route.api_method), _s("http.route", route.api_route),
                     _s("url.path", api_path), _s("url.scheme", "http"), _i("http.response.status_code", code),
                     _s("client.address", web.ip)]  # fmt: skip
        here, there = web.node.stamp, api.node.stamp  # each SDK reads its node's clock
        web_spans = [
            _span(trace_id, web_id, None, f"{route.method} {route.route}", SERVER, here(t), here(end), server_attrs),
            _span(trace_id, client_id, web_id, route.api_method, CLIENT, here(call), here(call_end), client_attrs),
        ]
        api_spans = [_span(trace_id, api_id, client_id, f"{route.api_method} {route.api_route}", SERVER, there(served),
                           there(api_end), api_attrs)]  # fmt: skip
        return {"resourceSpans": [self._resource(web, web_spans), self._resource(api, api_spans)]}

    def _resource(self, pod: Pod, spans: list[Json]) -> Json:
        if (made := self.resources.get(pod.uid)) is None:
            made = self.resources[pod.uid] = otlp_resource(pod)
        return resource_spans(pod, made, spans)


def otlp_resource(pod: Pod) -> Json:
    """The OTel resource of a pod's service: its service, k8s and container attributes."""
    w = pod.workload
    return {
        "attributes": [
            _s("service.name", w.name),
            _s("service.namespace", w.namespace),
            _s("k8s.namespace.name", pod.namespace),
            _s("k8s.pod.name", pod.name),
            _s("k8s.pod.uid", pod.uid),
            _s("k8s.node.name", pod.node.name),
            _s("k8s.deployment.name", w.name),
            _s("container.id", pod.containers[0].container_id),
        ]
    }


def resource_spans(pod: Pod, resource: Json, spans: list[Json]) -> Json:
    """One ResourceSpans: the spans of a pod's service under its instrumentation scope."""
    return {"resource": resource, "scopeSpans": [{"scope": _SCOPES[pod.workload.key], "spans": spans}]}


def _span(trace_id: str, span_id: str, parent: str | None, name: str, kind: int, start: int, end: int,
          attributes: list[Json]) -> Json:  # fmt: skip
    span: Json = {"traceId": trace_id, "spanId": span_id}
    if parent is not None:
        span["parentSpanId"] = parent
    span.update(name=name, kind=kind, startTimeUnixNano=str(start), endTimeUnixNano=str(end), attributes=attributes)
    return span


def _s(key: str, value: str) -> Json:
    return {"key": key, "value": {"stringValue": value}}


def _i(key: str, value: int) -> Json:
    """OTLP/JSON writes 64-bit integers as strings."""
    return {"key": key, "value": {"intValue": str(value)}}


def _status(rng: random.Random, method: str) -> int:
    x = rng.random()
    if x < 0.01:
        return 500
    if x < 0.04:
        return 404
    return 201 if method == "POST" else 200


_AGENTS: Final = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
)


def _agent(rng: random.Random) -> str:
    return _AGENTS[int(rng.random() * len(_AGENTS))]
