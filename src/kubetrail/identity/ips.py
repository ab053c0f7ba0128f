"""IP holders over time.

The store groups every observation of an IP into runs of one holder (`ip_runs` query); this
module turns runs into intervals and resolves an IP as of a time. An interval starts at the
holder's creation when known (inventory, audit create), else at its first observation; it ends
at its deletion when known, else at its last observation when a later holder followed, else it is
open (held as far as the store knows). Outside every interval the holder is unknown: an old event
is never given the current holder of a reused IP.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from kubetrail.store import Store
from kubetrail.timeutil import NS

DEFAULT_SKEW_NS: Final = 2 * NS  # clock skew tolerated between sources
ANY_CLUSTER: Final = "\x00any"  # a history key over every cluster
UNNAMED_CLUSTER: Final = "default"  # the cluster of events nothing named


@dataclass(frozen=True, slots=True)
class Holder:
    scope: str  # pod, service or node
    cluster: str
    pod: str | None  # "namespace/name"
    pod_uid: str | None
    node: str | None
    service: str | None  # "namespace/name"
    start: int  # ns
    end: int | None  # ns; None = still held as far as the store knows
    first_seen: int
    last_seen: int
    observations: int


def ip_history(store: Store, ip: str, cluster: str | None = None, skew_ns: int = DEFAULT_SKEW_NS) -> list[Holder]:
    return ip_histories(store, [ip], cluster, skew_ns).get(ip, [])


def ip_histories(
    store: Store, ips: Iterable[str], cluster: str | None = None, skew_ns: int = DEFAULT_SKEW_NS
) -> dict[str, list[Holder]]:
    """The histories of many addresses, read with two queries. A loopback or unspecified address
    has none: every pod has its own."""
    wanted = sorted({ip for ip in ips if not _nobodys(ip)})
    if not wanted:
        return {}
    runs = store.query("ip_runs", ips=wanted, cluster=cluster)
    names = sorted({f"{r['namespace']}/{r['pod_name']}" for r in runs if r["scope"] == "pod" and r["pod_name"]})
    lifecycle: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in store.query("pod_lifecycle", names=names) if names else []:
        lifecycle.setdefault((row["namespace"], row["pod_name"]), []).append(row)
    by_ip: dict[str, list[dict[str, Any]]] = {}
    for r in runs:
        by_ip.setdefault(r["ip"], []).append(r)
    return {
        ip: build_history(
            held, [row for name in {(r["namespace"], r["pod_name"]) for r in held} for row in lifecycle.get(name, [])], skew_ns
        )
        for ip, held in by_ip.items()
    }


def build_history(
    runs: Sequence[Mapping[str, Any]], lifecycle: Iterable[Mapping[str, Any]], skew_ns: int = DEFAULT_SKEW_NS
) -> list[Holder]:
    """Runs (in time order per cluster) and audit pod creations/deletions -> intervals. The API
    server's clock stamps the creations and deletions, each node's clock the observations: a
    deletion up to `skew_ns` before the last observation still ends the run (a sensor's last
    flow of a pod, stamped by a clock ahead, may follow its deletion), and likewise a creation
    up to `skew_ns` after the first."""
    runs = _host_network_as_node(runs)
    events: dict[tuple[str, str, str], list[tuple[str, int]]] = {}
    for row in lifecycle:
        events.setdefault((row["cluster"], row["namespace"], row["pod_name"]), []).append((row["verb"], row["at"]))
    final = {run["cluster"]: i for i, run in enumerate(runs)}  # each cluster's last run
    return [
        _holder(run, events.get((run["cluster"], run["namespace"], run["pod_name"]), []), i < final[run["cluster"]], skew_ns)
        for i, run in enumerate(runs)
    ]


def _host_network_as_node(runs: Sequence[Mapping[str, Any]]) -> Sequence[Mapping[str, Any]]:
    """A node's address seen on pods belongs to the node: those pods run on the host network
    (sensors report their connections from it), so the address is the node's, one run."""
    nodes = {r["cluster"]: r["node"] for r in runs if r["scope"] == "node"}
    if not nodes:
        return list(runs)
    merged: list[dict[str, Any]] = []
    for run in runs:
        if run["cluster"] not in nodes:
            merged.append(dict(run))
            continue
        node_run = dict(run) | {
            "scope": "node",
            "namespace": None,
            "pod_name": None,
            "pod_uid": None,
            "node": nodes[run["cluster"]],
        }
        last = merged[-1] if merged else None
        if last is not None and last["cluster"] == run["cluster"] and last["scope"] == "node":
            last["last_seen"] = max(last["last_seen"], run["last_seen"])
            last["observations"] += run["observations"]
        else:
            merged.append(node_run | {"born": None, "died": None})
    return merged


def _holder(run: Mapping[str, Any], lifecycle: list[tuple[str, int]], followed: bool, skew_ns: int) -> Holder:
    first, last = run["first_seen"], run["last_seen"]
    created = [t for verb, t in lifecycle if verb == "create" and t <= first + skew_ns]
    deleted = [t for verb, t in lifecycle if verb == "delete" and t >= last - skew_ns]
    born = min(filter(None, (run["born"], max(created, default=None))), default=None)
    died = min(filter(None, (run["died"], min(deleted, default=None))), default=None)
    pod = f"{run['namespace']}/{run['pod_name']}" if run["scope"] == "pod" and run["pod_name"] else None
    return Holder(
        scope=run["scope"], cluster=run["cluster"], pod=pod, pod_uid=run["pod_uid"], node=run["node"],
        service=run["service"], start=min(born, first) if born else first,
        end=died if died else (last if followed else None),
        first_seen=first, last_seen=last, observations=run["observations"],
    )  # fmt: skip


def holder_at(history: Iterable[Holder], at: int, skew_ns: int = DEFAULT_SKEW_NS) -> Holder | None:
    """The holder whose interval contains `at` (within the skew); exact containment wins."""
    near = [h for h in history if h.start - skew_ns <= at and (h.end is None or at <= h.end + skew_ns)]
    exact = [h for h in near if h.start <= at and (h.end is None or at <= h.end)]
    pick = exact or near
    return max(pick, key=lambda h: h.start) if pick else None


def _nobodys(ip: str) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


class IpResolver:
    """Resolves many (cluster, IP, time) triples, reading each IP's history from the store once."""

    def __init__(self, store: Store, skew_ns: int = DEFAULT_SKEW_NS) -> None:
        self.store, self.skew_ns = store, skew_ns
        self._histories: dict[tuple[str, str], list[Holder]] = {}

    def prefetch(self, addresses: Iterable[tuple[str, str]]) -> None:
        """Read the histories of many (cluster, IP) pairs at once, before asking about them one by one."""
        wanted: dict[str, set[str]] = {}
        for cluster, ip in addresses:
            if (cluster, ip) not in self._histories:
                wanted.setdefault(cluster, set()).add(ip)
        for cluster, ips in wanted.items():
            found = ip_histories(self.store, ips, cluster, self.skew_ns)
            self._histories.update({(cluster, ip): found.get(ip, []) for ip in ips})

    def at(self, cluster: str, ip: str, time_ns: int) -> Holder | None:
        key = (cluster, ip)
        if key not in self._histories:
            self._histories[key] = ip_history(self.store, ip, cluster, self.skew_ns)
        return holder_at(self._histories[key], time_ns, self.skew_ns)

    def elsewhere(self, cluster: str, ip: str, time_ns: int) -> str:
        """Why an address that had no holder in `cluster` then may have had one after all: a
        holder in another cluster of the store, which is often the same cluster ingested under
        another name. '' when there is none (asked only about addresses left unresolved)."""
        if (ANY_CLUSTER, ip) not in self._histories:
            self._histories[ANY_CLUSTER, ip] = ip_history(self.store, ip, skew_ns=self.skew_ns)
        other = holder_at([h for h in self._histories[ANY_CLUSTER, ip] if h.cluster != cluster], time_ns, self.skew_ns)
        if other is None:
            return ""
        merge, into = (other.cluster, cluster) if other.cluster == UNNAMED_CLUSTER else (cluster, other.cluster)
        held = other.pod or other.service or other.node or other.scope
        return (
            f"; {held} held it in cluster {other.cluster} then: if {cluster} and {other.cluster} are one cluster, "
            f"run `kubetrail clusters merge {merge} {into}`"
        )
