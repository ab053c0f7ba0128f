"""Steady channels out: external destinations a pod reaches again and again at a steady rhythm
(a beacon, or a scheduled transfer), found without any baseline, and when such a rhythm is its
workload's design rather than an attacker's.

A rhythm is judged per destination: a name DNS answered (or the sensor gave) for the addresses
connected to, else the address, as object stores and SaaS endpoints answer other addresses from
one connection to the next. `store/sql/queries/steady_egress.sql` finds each pod's rhythms
(`Rhythm`); here they are grouped into channels (one workload, one destination, one port) and
judged.

A channel is routine (at most a low finding) only when it is shared by the workload's replicas
(two or more of its pods keep it, or no other pod of the workload lived beside the one that does)
and something says it is the workload's design: the workload reached the destination before the
window (in its baseline, or in whatever shorter history the store holds), another workload of
the cluster reaches it too, or pods of more than one version of the workload (ReplicaSets, or
images) reach it. Everything else stays high: one pod keeping a channel its siblings do not (a
beacon planted in one pod), and every replica of a new version keeping a channel to a destination
that no other workload and no earlier version reaches (a backdoored image). The replicas of one
such channel are one incident: their signals share the channel (correlate/incidents.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from kubetrail.rules.detectors import SteadyChannel
from kubetrail.timeutil import NS

# What makes a channel steady (so many connections, over so long, their gaps varying by at most
# so much of their mean) is the detector's setting: rules/detectors.py, SteadyChannel.
BURST_NS: Final = 2 * NS  # flows this close together are one connection (a handshake two sensors saw)
_NAME_CHARS: Final = "bcdfghjklmnpqrstvwxz2456789"  # Kubernetes' generated names: no vowels, no 0/1/3


@dataclass(frozen=True, slots=True)
class Rhythm:
    """One pod's steady rhythm to one destination."""

    cluster: str
    pod: str  # "namespace/name"
    workload: str  # "namespace/name" (identity/workloads.workload_key)
    destination: str  # a name, else the address
    port: int | None
    addresses: tuple[str, ...]
    connections: int
    first: int
    last: int
    mean_gap: float  # ns
    first_id: str  # the event of its first connection
    source: str
    kind: str


@dataclass(frozen=True, slots=True)
class Activity:
    """A pod's connections in the window (to anything), first to last."""

    cluster: str
    pod: str
    workload: str
    first: int
    last: int


@dataclass(frozen=True, slots=True)
class Reach:
    """A pod that connected to a destination, in the window or before it."""

    cluster: str
    pod: str
    workload: str
    destination: str
    first: int


@dataclass(frozen=True, slots=True)
class Channel:
    """The rhythms of one workload's pods to one destination and port."""

    rhythms: tuple[Rhythm, ...]

    @property
    def cluster(self) -> str:
        return self.rhythms[0].cluster

    @property
    def workload(self) -> str:
        return self.rhythms[0].workload

    @property
    def destination(self) -> str:
        return self.rhythms[0].destination

    @property
    def port(self) -> int | None:
        return self.rhythms[0].port

    @property
    def key(self) -> str:
        return f"{self.workload}|{self.destination}|{self.port}"

    @property
    def pods(self) -> list[str]:
        return sorted({r.pod for r in self.rhythms})

    @property
    def first(self) -> int:
        return min(r.first for r in self.rhythms)

    @property
    def last(self) -> int:
        return max(r.last for r in self.rhythms)

    @property
    def mean_gap(self) -> float:
        return sum(r.mean_gap for r in self.rhythms) / len(self.rhythms)


class Names:
    """What DNS answered, both ways (rows of the dns_names query: cluster, ip, name): the
    destinations an address stands for, and the addresses of a name."""

    def __init__(self, answers: Iterable[Mapping[str, Any]]) -> None:
        self._names: dict[tuple[str, str], set[str]] = {}
        self._addresses: dict[tuple[str, str], set[str]] = {}
        for a in answers:
            self._names.setdefault((a["cluster"], a["ip"]), set()).add(a["name"])
            self._addresses.setdefault((a["cluster"], a["name"]), set()).add(a["ip"])

    def destinations(self, cluster: str, ip: str, sensor_names: Iterable[str] | None = None) -> list[str]:
        """What a connection to `ip` was a connection to: the names the sensor gave it, else those
        DNS answered it for, else the address itself."""
        named = set(sensor_names or ())
        return sorted(named or self._names.get((cluster, ip), set())) or [ip]

    def addresses(self, cluster: str, destination: str) -> set[str]:
        """The addresses a destination stands for: those DNS answered for the name (or itself)."""
        return self._addresses.get((cluster, destination), set()) or {destination}


def channels(rhythms: Iterable[Rhythm]) -> list[Channel]:
    by_key: dict[tuple[str, str, str, int | None], list[Rhythm]] = {}
    for r in rhythms:
        by_key.setdefault((r.cluster, r.workload, r.destination, r.port), []).append(r)
    return [Channel(tuple(sorted(rs, key=lambda r: (r.first, r.pod)))) for _, rs in sorted(by_key.items(), key=_order)]


def _order(item: tuple[tuple[str, str, str, int | None], list[Rhythm]]) -> tuple[str, str, str, int]:
    (cluster, workload, destination, port), _ = item
    return cluster, workload, destination, port if port is not None else -1


def shared(
    channel: Channel, activity: Iterable[Activity], reached: Iterable[Reach] = (), steady: SteadyChannel | None = None
) -> bool:
    """Kept by the workload's replicas: by two or more of its pods, or by its only pod, no other pod
    of the workload having lived beside it long enough to show the same rhythm, or the others
    reaching the destination too (not yet often enough for a rhythm: a live look judges the
    first pod of several that keep it at that pod's sixth connection)."""
    if len(channel.pods) >= 2 or siblings(channel, reached):
        return True
    steady = steady or SteadyChannel()
    needed = max(steady.min_span_ns, (steady.min_connections - 1) * channel.mean_gap)
    keeping = set(channel.pods)
    return not any(
        a.cluster == channel.cluster and a.workload == channel.workload and a.pod not in keeping
        and min(a.last, channel.last) - max(a.first, channel.first) >= needed
        for a in activity
    )  # fmt: skip


def siblings(channel: Channel, reached: Iterable[Reach]) -> list[str]:
    """The other pods of the channel's workload that reached its destination."""
    mine, keeping = (channel.cluster, channel.workload, channel.destination), set(channel.pods)
    return sorted({r.pod for r in reached if (r.cluster, r.workload, r.destination) == mine and r.pod not in keeping})


def design(channel: Channel, since: int, reached: Iterable[Reach], images: Mapping[str, Iterable[tuple[str, str]]]) -> list[str]:
    """What says the channel is its workload's design, as phrases; none when nothing does.
    `reached`: who connected to the channel's destination from before the window to its end;
    `images`: the (container, image) pairs each pod ("namespace/name") ran."""
    mine = [r for r in reached if r.cluster == channel.cluster and r.destination == channel.destination]
    reasons = []
    if any(r.workload == channel.workload and r.first < since for r in mine):
        reasons.append(f"{channel.workload} reached it before the window")
    others = sorted({r.workload for r in mine if r.workload != channel.workload})
    if others:
        reasons.append(f"{_some(others)} reach{'es' if len(others) == 1 else ''} it too")
    pods = set(channel.pods) | {r.pod for r in mine if r.workload == channel.workload}
    if versions(channel.workload, pods, images) >= 2:
        reasons.append(f"pods of several versions of {channel.workload} reach it")
    return reasons


def versions(workload: str, pods: Iterable[str], images: Mapping[str, Iterable[tuple[str, str]]]) -> int:
    """How many versions of the workload the pods are of, at least: their ReplicaSets, or the
    images one container ran."""
    pods = list(pods)
    sets = {rs for p in pods if (rs := replicaset(workload, p)) is not None}
    by_container: dict[str, set[str]] = {}
    for pod in pods:
        for container, image in images.get(pod, ()):
            by_container.setdefault(container, set()).add(image)
    return max([len(sets), *(len(found) for found in by_container.values())])


def replicaset(workload: str, pod: str) -> str | None:
    """The pod-template hash of a Deployment's pod ('ns/<name>-<hash>-<5>'), else None."""
    namespace, _, name = workload.partition("/")
    pod_namespace, _, pod_name = pod.partition("/")
    if pod_namespace != namespace or not pod_name.startswith(name + "-"):
        return None
    m = _REPLICASET.match(pod_name[len(name) + 1 :])
    return m.group(1) if m else None


_REPLICASET: Final = re.compile(rf"^([{_NAME_CHARS}]{{6,10}})-[{_NAME_CHARS}]{{5}}$")


def _some(names: list[str], shown: int = 3) -> str:
    head = ", ".join(names[:shown])
    return head if len(names) <= shown else f"{head} and {len(names) - shown} more"
