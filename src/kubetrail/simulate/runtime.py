"""Runtime sensors' output for a simulated cluster: Cilium Tetragon's JSON export and Falco's
`json_output`, both about the model's background activity.

Tetragon (`write_tetragon`): each container's main process (pid 1 in the container, its parent
the pod's containerd-shim outside any container), exec'd when the pod starts, or reported from
/proc (`procFS`) when Tetragon starts with the period; its exit when the pod ends; the periodic
children some workloads run (health checks, cron-ish shell jobs, iptables syncs, CI tools), each
an exec and an exit, some with a `tcp_connect` kprobe between; and now and then a `tcp_connect`
of a main process. exec ids are base64 of `node:ktime:pid`, as Tetragon makes them.

Falco (`write_falco`): benign alerts real clusters raise all day (a log agent reading a
sensitive file, operators contacting the API server), and each node's metrics snapshot every 5
minutes.

Both write exactly the requested number of lines, the same bytes for the same cluster and seed.
Every time a line prints (its event time, a process's start_time, a container's, Falco's start
and boot times) is read on the clock of the node it comes from, off by `node.clock_offset_ns`;
only exec ids, made of the kernel's time since boot, do not carry it. Each file merges all
nodes' lines by the time printed, a few of them up to 300 ms late (`clock.Delivery`). Lines are
made from per-process templates (dicts built once) and orjson.
"""

from __future__ import annotations

import hashlib
import random
from base64 import b64encode
from bisect import bisect
from itertools import accumulate
from pathlib import Path
from typing import IO, Any, Final, NamedTuple

import orjson

from kubetrail.simulate.clock import Delivery, Times, rfc3339_ns, second
from kubetrail.simulate.cluster import DAY, MINUTE, NS, Cluster, Container, Node, Pod

Json = dict[str, Any]

MS: Final = 1_000_000
_DUMPS_OPTION: Final = orjson.OPT_APPEND_NEWLINE
_AUID_UNSET: Final = 4294967295  # no login uid, as for every process a container runs
_SHIM: Final = "/usr/bin/containerd-shim-runc-v2"
_POLICY: Final = "monitor-network-activity"
_METRICS_EVERY: Final = 5 * MINUTE
_FALCO_VERSION: Final = "0.38.1"
_KERNEL: Final = "6.1.94-99.176.amzn2023.x86_64"


class _Cmd(NamedTuple):
    """A program: binary, arguments, user id, and for a child what it connects to (port, or 0)."""

    binary: str
    arguments: str
    uid: int = 0
    connects: int = 0  # the destination port of a tcp_connect it makes; 0 for none
    local: bool = False  # connects to 127.0.0.1 (a health check) rather than to a Service


# Main processes by container name; a container not listed runs /<name>.
_MAINS: Final = {
    "coredns": _Cmd("/coredns", "-conf /etc/coredns/Corefile"),
    "metrics-server": _Cmd("/metrics-server", "--cert-dir=/tmp --secure-port=10250 --kubelet-use-node-status-port", 65534),
    "kube-proxy": _Cmd("/usr/local/bin/kube-proxy", "--config=/var/lib/kube-proxy/config.conf"),
    "fluent-bit": _Cmd("/fluent-bit/bin/fluent-bit", "-c /fluent-bit/etc/fluent-bit.conf"),
    "node-exporter": _Cmd("/bin/node_exporter", "--path.procfs=/host/proc --path.sysfs=/host/sys", 65534),
    "prometheus": _Cmd("/bin/prometheus", "--config.file=/etc/prometheus/config_out/prometheus.env.yaml "
                       "--storage.tsdb.path=/prometheus --web.enable-lifecycle", 1000),
    "config-reloader": _Cmd("/bin/prometheus-config-reloader",
                            "--listen-address=:8080 --reload-url=http://127.0.0.1:9090/-/reload", 1000),
    "prometheus-operator": _Cmd("/bin/operator", "--kubelet-service=kube-system/kubelet", 65534),
    "grafana": _Cmd("/usr/share/grafana/bin/grafana", "server --homepath=/usr/share/grafana", 472),
    "cert-manager-controller": _Cmd("/app/cmd/controller/controller",
                                    "--v=2 --leader-election-namespace=kube-system", 1000),
    "controller": _Cmd("/nginx-ingress-controller",
                       "--publish-service=ingress-nginx/ingress-nginx-controller --election-id=ingress-nginx-leader", 101),
    "api": _Cmd("/app/payments-api", "--port=8080", 10001),
    "envoy": _Cmd("/usr/local/bin/envoy", "-c /etc/envoy/envoy.yaml", 101),
    "worker": _Cmd("/app/payments-worker", "--queue=payments", 10001),
    "postgres": _Cmd("/usr/lib/postgresql/16/bin/postgres", "", 999),
    "frontend": _Cmd("/app/frontend", "--port=8080", 10001),
    "cart": _Cmd("/app/cart", "--port=8080", 10001),
    "redis": _Cmd("/usr/local/bin/redis-server", "*:6379", 999),
    "runner": _Cmd("/usr/local/bin/runner", "--config /etc/runner/config.toml", 1000),
}  # fmt: skip
_HEALTHZ: Final = _Cmd("/usr/bin/wget", "-q -O- http://127.0.0.1:8080/healthz", 10001, 8080, local=True)
# What main processes run periodically, by container name; containers not listed run nothing.
_CHILDREN: Final[dict[str, tuple[_Cmd, ...]]] = {
    "kube-proxy": (_Cmd("/usr/sbin/iptables", "-w 5 -W 100000 -S KUBE-KUBELET-CANARY -t mangle"),
                   _Cmd("/usr/sbin/ip6tables", "-w 5 -W 100000 -S KUBE-KUBELET-CANARY -t mangle"),
                   _Cmd("/usr/sbin/iptables-save", "-t nat"),
                   _Cmd("/usr/sbin/iptables-restore", "-w 5 -W 100000 --noflush --counters")),
    "controller": (_Cmd("/usr/bin/nginx", "-c /etc/nginx/nginx.conf -t", 101),
                   _Cmd("/usr/bin/wget", "-q -O- http://127.0.0.1:10254/healthz", 101, 10254, local=True)),
    "api": (_HEALTHZ,),
    "frontend": (_HEALTHZ,),
    "cart": (_HEALTHZ,),
    "worker": (_Cmd("/bin/sh", "-c date", 10001), _Cmd("/bin/sh", "-c \"/app/payments-worker --reconcile\"", 10001)),
    "postgres": (_Cmd("/bin/sh", "-c \"test ! -f /archive/wal && cp pg_wal/0000000100000000000000A1 /archive/\"", 999),),
    "runner": (_Cmd("/usr/bin/git", "fetch --depth=1 origin main", 1000, 443),
               _Cmd("/usr/local/bin/kubectl", "apply -f deploy/ --server-side", 1000, 443),
               _Cmd("/bin/sh", "-c date", 1000)),
}  # fmt: skip
_EXTERNAL: Final = ("140.82.112.3", "140.82.113.4")  # git fetches from GitHub
_API_SERVER: Final = "10.96.0.1"


# ---- shared --------------------------------------------------------------------------------


def _clock(ns: int) -> str:
    """Falco's default output prefix time: HH:MM:SS.nnnnnnnnn."""
    return "%s.%09d" % (second(ns // NS)[11:], ns % NS)  # noqa: UP031


def _image_ref(image: str) -> str:
    """The image's repo digest: a fixed sha256 per image name."""
    repo = image.rpartition(":")[0] if ":" in image.rpartition("/")[2] else image
    return f"{repo}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


def _labels(pod: Pod) -> dict[str, str]:
    rev = pod.revision
    if rev.owner_kind == "ReplicaSet":
        return {"app.kubernetes.io/name": pod.workload.name, "pod-template-hash": rev.template_hash}
    return {"app.kubernetes.io/name": pod.workload.name, "controller-revision-hash": f"{rev.owner_name}-{rev.template_hash}"}


def tetragon_pod(pod: Pod, container: Container, started: int) -> Json:
    """The pod block Tetragon prints for a process of `container` (started at true time `started`,
    as its node's clock reads it); the container's pid is its main process's, 1."""
    return {
        "namespace": pod.namespace,
        "name": pod.name,
        "container": {
            "id": f"containerd://{container.container_id}",
            "name": container.name,
            "image": {"id": _image_ref(container.image), "name": container.image},
            "start_time": f"{second(pod.node.stamp(started) // NS)}Z",
            "pid": 1,
        },
        "pod_labels": _labels(pod),
        "workload": pod.workload.name,
        "workload_kind": pod.workload.kind,
    }


class _Lives:
    """Pods alive at the current time, in a list per workload key (for Falco's picks)."""

    def __init__(self, pods: tuple[Pod, ...]) -> None:
        changes = [(p.start_ns, 1, i) for i, p in enumerate(pods)]
        changes += [(p.end_ns, 0, i) for i, p in enumerate(pods) if p.end_ns is not None]
        self.pods, self.changes, self.next = pods, sorted(changes), 0
        self.of: dict[str, list[Pod]] = {}

    def advance(self, t: int) -> None:
        changes = self.changes
        while self.next < len(changes) and changes[self.next][0] <= t:
            _, arriving, i = changes[self.next]
            self.next += 1
            pod = self.pods[i]
            pods = self.of.setdefault(pod.workload.key, [])
            if arriving:
                pods.append(pod)
            else:
                pods.remove(pod)


# ---- Tetragon ------------------------------------------------------------------------------


def write_tetragon(path: Path | str, *, cluster: Cluster, events: int, seed: int) -> int:
    """Write `events` Tetragon export lines about `cluster` to `path`; returns the number written."""
    if events < 0:
        raise ValueError(f"events must be zero or more, not {events}")
    with open(path, "wb", buffering=1 << 20) as out:
        delivery = Delivery(random.Random(f"kubetrail-delivery:tetragon:{seed}"))
        return _Tetragon(cluster, random.Random(seed), delivery, out).run(events)


class _Proc:
    """A container's main process: its templates, and the state of its children."""

    __slots__ = ("block", "children", "container", "exec_id", "next_pid", "node", "pod", "pod_block", "shim", "stop", "uid")

    def __init__(self, pod: Pod, container: Container, block: Json, shim: Json, stop: int | None) -> None:
        self.pod, self.container, self.node = pod, container, pod.node
        self.block, self.pod_block, self.shim, self.stop = block, block["pod"], shim, stop
        self.exec_id: str = block["exec_id"]
        self.uid: int = block["uid"]
        self.children = _CHILDREN.get(container.name, ())
        self.next_pid = 7 + len(pod.containers)  # pids in the container's namespace after start-up


class _Due(NamedTuple):
    t: int
    order: int
    exit: bool
    proc: _Proc


class _Tetragon:
    def __init__(self, cluster: Cluster, rng: random.Random, delivery: Delivery, out: IO[bytes]) -> None:
        self.cluster, self.rng, self.out = cluster, rng, out
        self.boot = {n.name: cluster.start_ns - int(rng.uniform(3, 40) * DAY) for n in cluster.nodes}
        self.pids = {n.name: rng.randrange(2000, 9000) for n in cluster.nodes}
        self.order = delivery
        self.ready: list[bytes] = []
        self.reported = cluster.start_ns + int(rng.uniform(1, 3) * NS)
        self.running: list[_Proc] = []  # main processes alive, in exec order
        self.busy: list[_Proc] = []  # those of them with periodic children
        self.containerd = {n.name: self._exec_id(n, self.boot[n.name] + int(rng.uniform(8, 30) * NS), rng.randrange(600, 1500))
                           for n in cluster.nodes}  # fmt: skip
        self.targets = [(s.cluster_ip, s.port) for s in cluster.services if s.workload is not None]

    def run(self, events: int) -> int:
        due = self._lifecycle()[:events]
        # the background starts once Tetragon has reported what already runs
        times = Times(self.rng, self.reported + NS, self.cluster.end_ns, events - len(due))
        i = 0
        while i < len(due) or times.left > 0:
            if times.left > 0 and (i == len(due) or times.next < due[i].t):
                self._flush(times.next)
                self._activity(times)
            else:
                item = due[i]
                i += 1
                self._flush(item.t)
                self._main(item)
        self._flush(None)
        return self.order.made

    # -- the clock and the output

    def _emit(self, etype: str, body: Json, node: Node, t: int) -> None:
        """A line about what happened on `node` at true time `t`, stamped by the node's clock."""
        stamp = node.stamp(t)
        line = orjson.dumps({etype: body, "node_name": node.name, "time": rfc3339_ns(stamp)}, option=_DUMPS_OPTION)
        self.order.push(stamp, line)

    def _flush(self, until: int | None) -> None:
        ready = self.ready
        ready.extend(self.order.due(until))
        if len(ready) >= 4096 or until is None:
            self.out.write(b"".join(ready))
            ready.clear()

    def _exec_id(self, node: Node, t: int, pid: int) -> str:
        """From the kernel's monotonic time since boot: a node's clock offset does not enter it."""
        return b64encode(f"{node.name}:{t - self.boot[node.name]}:{pid}".encode()).decode()

    def _pid(self, node: Node) -> int:
        pid = self.pids[node.name] = self.pids[node.name] + self.rng.randrange(1, 40)
        return pid

    # -- main processes

    def _lifecycle(self) -> list[_Due]:
        """Main processes' execs (or /proc reports at the start) and exits, in time order."""
        c, due, order = self.cluster, [], 0
        reported = self.reported  # Tetragon reads /proc as it starts
        for pod in c.pods:
            if pod.start_ns >= c.end_ns or (pod.end_ns is not None and pod.end_ns <= reported + MS):
                continue
            shim_t = pod.start_ns + int(self.rng.uniform(0.05, 0.3) * NS)
            shim = self._shim(pod, shim_t)
            t = shim_t
            for container in pod.containers:
                t += int(self.rng.uniform(0.4, 2.5) * NS)
                end = None if pod.end_ns is None else pod.end_ns - int(self.rng.uniform(0.05, 0.9) * NS)
                procfs = t < reported
                at = reported + order * 10_000 if procfs else t
                if end is not None and end <= at:
                    continue
                proc = self._main_proc(pod, container, t, shim, procfs, end)
                due.append(_Due(at, order, False, proc))
                order += 1
                if end is not None and end < c.end_ns:
                    due.append(_Due(end, order, True, proc))
                    order += 1
        due = [d for d in due if d.t < c.end_ns]
        due.sort()
        return due

    def _shim(self, pod: Pod, t: int) -> Json:
        """The pod's containerd-shim: a host process, outside any container, parent of its containers."""
        node, pid = pod.node, self._pid(pod.node)
        return {
            "exec_id": self._exec_id(node, t, pid),
            "pid": pid,
            "uid": 0,
            "cwd": f"/run/containerd/io.containerd.runtime.v2.task/k8s.io/{pod.uid}",
            "binary": _SHIM,
            "arguments": f"-namespace k8s.io -id {pod.uid} -address /run/containerd/containerd.sock",
            "flags": "execve clone",
            "start_time": rfc3339_ns(node.stamp(t)),
            "auid": _AUID_UNSET,
            "parent_exec_id": self.containerd[node.name],
            "tid": pid,
        }

    def _main_proc(self, pod: Pod, container: Container, t: int, shim: Json, procfs: bool, stop: int | None) -> _Proc:
        node = pod.node
        cmd = _MAINS.get(container.name, _Cmd(f"/{container.name}", ""))
        pid = self._pid(node)
        pod_block = tetragon_pod(pod, container, t)
        block: Json = {
            "exec_id": self._exec_id(node, t, pid),
            "pid": pid,
            "uid": cmd.uid,
            "cwd": "/",
            "binary": cmd.binary,
            "arguments": cmd.arguments,
            "flags": "procFS auid rootcwd" if procfs else "execve rootcwd clone",
            "start_time": rfc3339_ns(node.stamp(t)),
            "auid": _AUID_UNSET,
            "pod": pod_block,
            "docker": container.container_id[:31],
            "parent_exec_id": shim["exec_id"],
            "tid": pid,
        }
        if not cmd.arguments:
            del block["arguments"]  # protojson omits empty strings
        return _Proc(pod, container, block, shim, stop)

    def _main(self, item: _Due) -> None:
        proc = item.proc
        if item.exit:
            self.running.remove(proc)
            if proc.children:
                self.busy.remove(proc)
            self._emit("process_exit", {"process": proc.block, "parent": proc.shim}, proc.node, item.t)
        else:
            self.running.append(proc)
            if proc.children:
                self.busy.append(proc)
            self._emit("process_exec", {"process": proc.block, "parent": proc.shim}, proc.node, item.t)

    # -- the background: children and connections

    def _activity(self, times: Times) -> None:
        """Some main process runs a child (2 or 3 lines) or makes a connection (1 line)."""
        rng, left = self.rng, times.left
        if self.busy and left >= 2 and rng.random() < 0.92:
            proc = rng.choice(self.busy)
            cmd = rng.choice(proc.children)
            lines = 3 if cmd.connects and left >= 3 else 2
            t = times.take(lines)
            self._child(proc, cmd, t, lines == 3)
        else:
            proc = rng.choice(self.running)
            t = times.take(1)
            self._connect(proc, proc.block, proc.shim, t)

    def _child(self, proc: _Proc, cmd: _Cmd, t: int, connects: bool) -> None:
        node, rng = proc.node, self.rng
        pid = self._pid(node)
        proc.next_pid += rng.randrange(1, 4)
        container = dict(proc.pod_block["container"])
        container["pid"] = proc.next_pid
        pod_block = dict(proc.pod_block)
        pod_block["container"] = container
        block: Json = {
            "exec_id": self._exec_id(node, t, pid),
            "pid": pid,
            "uid": cmd.uid,
            "cwd": "/",
            "binary": cmd.binary,
            "arguments": cmd.arguments,
            "flags": "execve rootcwd clone",
            "start_time": rfc3339_ns(node.stamp(t)),
            "auid": _AUID_UNSET,
            "pod": pod_block,
            "docker": proc.block["docker"],
            "parent_exec_id": proc.exec_id,
            "tid": pid,
        }
        stop = proc.stop if proc.stop is not None else self.cluster.end_ns
        end = max(t + 2, min(t + int(rng.uniform(2, 400) * MS), stop - 1))
        self._emit("process_exec", {"process": block, "parent": proc.block}, node, t)
        if connects:
            self._connect(proc, block, proc.block, t + 1 + (end - t) // 3, cmd)
        exit_block = {k: v for k, v in block.items() if k != "tid"}
        self._emit("process_exit", {"process": exit_block, "parent": proc.block}, node, end)

    def _connect(self, proc: _Proc, block: Json, parent: Json, t: int, cmd: _Cmd | None = None) -> None:
        rng = self.rng
        if cmd is not None and cmd.local:
            saddr, daddr, dport = "127.0.0.1", "127.0.0.1", cmd.connects
        elif cmd is not None and cmd.binary.endswith("git"):
            saddr, daddr, dport = proc.pod.ip, rng.choice(_EXTERNAL), 443
        elif cmd is not None:
            saddr, daddr, dport = proc.pod.ip, _API_SERVER, 443
        else:
            saddr, (daddr, dport) = proc.pod.ip, rng.choice(self.targets)
        sock = {
            "family": "AF_INET",
            "type": "SOCK_STREAM",
            "protocol": "IPPROTO_TCP",
            "saddr": saddr,
            "daddr": daddr,
            "sport": rng.randrange(32768, 61000),
            "dport": dport,
        }
        body: Json = {
            "process": block,
            "parent": parent,
            "function_name": "tcp_connect",
            "args": [{"sock_arg": sock}],
            "action": "KPROBE_ACTION_POST",
            "policy_name": _POLICY,
        }
        self._emit("process_kprobe", body, proc.node, t)


# ---- Falco ---------------------------------------------------------------------------------


def write_falco(path: Path | str, *, cluster: Cluster, events: int, seed: int) -> int:
    """Write `events` Falco `json_output` lines about `cluster` to `path`; returns the number written."""
    if events < 0:
        raise ValueError(f"events must be zero or more, not {events}")
    with open(path, "wb", buffering=1 << 20) as out:
        delivery = Delivery(random.Random(f"kubetrail-delivery:falco:{seed}"))
        return _Falco(cluster, random.Random(seed), delivery, out).run(events)


class _Rule(NamedTuple):
    rate: float  # alerts per second, cluster-wide
    workloads: tuple[str, ...]  # keys of the workloads whose pods raise it
    name: str
    priority: str
    tags: tuple[str, ...]


_RULES: Final = (
    # fluent-bit's tail input globs files under /etc on some nodes: the rule's classic false positive
    _Rule(0.02, ("kube-system/fluent-bit",), "Read sensitive file untrusted", "Warning",
          ("T1555", "container", "filesystem", "host", "maturity_stable", "mitre_credential_access")),
    _Rule(0.05, ("monitoring/prometheus-operator", "cert-manager/cert-manager", "ingress-nginx/ingress-nginx-controller",
                 "ci/runner", "kube-system/metrics-server", "monitoring/prometheus"),
          "Contact K8S API Server From Container", "Notice",
          ("T1565", "container", "k8s", "maturity_stable", "mitre_discovery", "network")),
)  # fmt: skip
_SENSITIVE: Final = ("/etc/shadow", "/etc/pam.d/common-session", "/etc/sudoers")


class _Falco:
    def __init__(self, cluster: Cluster, rng: random.Random, delivery: Delivery, out: IO[bytes]) -> None:
        self.cluster, self.rng, self.out, self.order = cluster, rng, out, delivery
        self.nodes = {n.name: n for n in cluster.nodes}
        self.lives = _Lives(cluster.pods)
        self.bounds = list(accumulate(r.rate for r in _RULES))
        self.mains = {c: _MAINS.get(c, _Cmd(f"/{c}", "")) for w in cluster.workloads for c, _ in w.images}
        self.host: dict[str, Json] = {}
        for node in cluster.nodes:
            boot = cluster.start_ns - int(rng.uniform(3, 40) * DAY)
            started = cluster.start_ns - int(rng.uniform(1, 2) * DAY)
            self.host[node.name] = {"boot": boot, "start": started, "cpus": rng.choice((4, 8, 16)),
                                    "rate": rng.uniform(8_000, 40_000), "drops": 0}  # fmt: skip

    def run(self, events: int) -> int:
        lines: list[bytes] = []
        due = self._metrics_times()[:events]
        times = Times(self.rng, self.cluster.start_ns, self.cluster.end_ns, events - len(due))
        i = 0
        while i < len(due) or times.left > 0:
            if times.left > 0 and (i == len(due) or times.next < due[i][0]):
                t = times.take(1)
                self.lives.advance(t)
                self._alert(t)
            else:
                t, node = due[i]
                i += 1
                self._snapshot(t, self.nodes[node])
            lines += self.order.due(t)
            if len(lines) >= 4096:
                self.out.write(b"".join(lines))
                lines.clear()
        self.out.write(b"".join(lines + self.order.due(None)))
        return events

    def _metrics_times(self) -> list[tuple[int, str]]:
        c, due = self.cluster, []
        for node in c.nodes:
            start = self.host[node.name]["start"]
            t = start + ((c.start_ns - start) // _METRICS_EVERY + 1) * _METRICS_EVERY  # Falco's timer phase
            while t < c.end_ns:
                due.append((t + self.rng.randrange(0, 3 * MS), node.name))
                t += _METRICS_EVERY
        due.sort()
        return due

    def _snapshot(self, t: int, node: Node) -> None:
        """Each time is true time; the node's clock stamps them."""
        host, rng, stamp = self.host[node.name], self.rng, node.stamp(t)
        n_evts = int((t - host["start"]) / NS * host["rate"])
        if rng.random() < 0.05:
            host["drops"] += rng.randrange(1, 5000)
        fields = {
            "evt.hostname": node.name,
            "evt.source": "syscall",
            "evt.time": stamp,
            "falco.duration_sec": (t - host["start"]) // NS,
            "falco.host_boot_ts": node.stamp(host["boot"]) // NS * NS,
            "falco.host_num_cpus": host["cpus"],
            "falco.kernel_release": _KERNEL,
            "falco.num_evts": n_evts // 50,
            "falco.outputs_queue_num_drops": 0,
            "falco.start_ts": node.stamp(host["start"]),
            "falco.version": _FALCO_VERSION,
            "scap.engine_name": "modern_bpf",
            "scap.n_drops": host["drops"],
            "scap.n_drops_perc": 0.0,
            "scap.n_evts": n_evts,
        }
        record = {
            "hostname": node.name,
            "output": "Falco metrics snapshot",
            "output_fields": fields,
            "priority": "Informational",
            "rule": "Falco internal: metrics snapshot",
            "source": "internal",
            "time": rfc3339_ns(stamp),
        }
        self.order.push(stamp, orjson.dumps(record, option=_DUMPS_OPTION))

    def _alert(self, t: int) -> None:
        rng = self.rng
        rule = _RULES[bisect(self.bounds, rng.random() * self.bounds[-1])]
        pods = [p for key in rule.workloads for p in self.lives.of.get(key, ())]
        if not pods:  # e.g. a rollout replaced every operator at once: the agent's rule instead
            rule = _RULES[0]
            pods = [p for key in rule.workloads for p in self.lives.of.get(key, ())]
            pods = pods or [p for alive in self.lives.of.values() for p in alive]
        pod = rng.choice(pods)
        stamp = pod.node.stamp(t)  # the time as the pod's node reads it
        container = pod.containers[0]
        main = self.mains[container.name]
        name = main.binary.rpartition("/")[2][:15]  # proc.name: the kernel's comm, 15 characters
        repo, _, tag = container.image.rpartition(":")
        user = "root" if main.uid == 0 else "<NA>"
        fields: Json = {
            "container.id": container.container_id[:12],
            "container.image.repository": repo,
            "container.image.tag": tag,
            "container.name": container.name,
            "evt.time": stamp,
            "evt.type": "openat" if rule is _RULES[0] else "connect",
        }
        if rule is _RULES[0]:
            fd = rng.choice(_SENSITIVE)
            what = "Sensitive file opened for reading by non-trusted program"
            detail = f"file={fd}"
        else:
            fd = f"{pod.ip}:{rng.randrange(32768, 61000)}->{_API_SERVER}:443"
            what = "Unexpected connection to K8s API Server from container"
            detail = f"connection={fd}"
        fields["fd.name"] = fd
        fields |= {
            "k8s.ns.name": pod.namespace,
            "k8s.pod.name": pod.name,
            "proc.cmdline": f"{name} {main.arguments}".rstrip(),
            "proc.exepath": main.binary,
            "proc.name": name,
            "proc.pname": "containerd-shim",
            "proc.tty": 0,
            "user.loginuid": -1,
            "user.name": user,
            "user.uid": main.uid,
        }
        output = (
            f"{_clock(stamp)}: {rule.priority} {what} ({detail} evt_type={fields['evt.type']} user={user} "
            f"user_uid={main.uid} user_loginuid=-1 process={name} proc_exepath={main.binary} parent=containerd-shim "
            f"command={fields['proc.cmdline']} terminal=0 container_id={fields['container.id']} "
            f"container_name={container.name} container_image_repository={repo} container_image_tag={tag} "
            f"k8s_pod_name={pod.name} k8s_ns_name={pod.namespace})"
        )
        record = {
            "hostname": pod.node.name,
            "output": output,
            "output_fields": fields,
            "priority": rule.priority,
            "rule": rule.name,
            "source": "syscall",
            "tags": list(rule.tags),
            "time": rfc3339_ns(stamp),
        }
        self.order.push(stamp, orjson.dumps(record, option=_DUMPS_OPTION))
