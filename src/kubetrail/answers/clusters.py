"""`kubetrail clusters`: each cluster the store holds, with its sources, nodes and time span, and
the pairs that look like one cluster split under two names; `kubetrail clusters merge` joins two.

A likely split: two clusters whose sources do not overlap (one has the audit log, the other the
flows or runtime events, say), over overlapping periods, that saw the same addresses. Two real
clusters each have their own sensors and API server; one cluster whose inputs were ingested under
two names (before `--cluster` was given, or by several ingests) looks exactly like that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from kubetrail.store import PENDING_CLUSTER, Store
from kubetrail.timeutil import format_ns

UNNAMED: Final = "default"


def clusters(store: Store) -> dict[str, Any]:
    rows = _clusters(store)
    return {"clusters": [r.as_json() for r in rows], "likely_splits": likely_splits(store, rows)}


@dataclass
class _Cluster:
    name: str
    sources: dict[str, int]
    nodes: set[str]
    sensor_clusters: set[str]
    first: int
    last: int

    def as_json(self) -> dict[str, Any]:
        return {
            "cluster": self.name,
            "events": sum(self.sources.values()),
            "sources": self.sources,
            "nodes": sorted(self.nodes),
            "first": format_ns(self.first),
            "last": format_ns(self.last),
            "sensor_clusters": sorted(self.sensor_clusters),
            "pending": self.name.startswith(PENDING_CLUSTER),  # an ingest stopped before naming these
        }


def _clusters(store: Store) -> list[_Cluster]:
    found: dict[str, _Cluster] = {}
    for r in store.query("clusters"):
        c = found.setdefault(r["cluster"], _Cluster(r["cluster"], {}, set(), set(), r["first"], r["last"]))
        c.sources[r["source"]] = r["events"]
        c.nodes.update(r["nodes"] or ())
        c.sensor_clusters.update(r["sensor_clusters"] or ())
        c.first, c.last = min(c.first, r["first"]), max(c.last, r["last"])
    return list(found.values())


def likely_splits(store: Store, rows: list[_Cluster] | None = None) -> list[dict[str, Any]]:
    """Pairs of clusters that look like one, each with the command that joins them."""
    by_name = {c.name: c for c in (rows if rows is not None else _clusters(store))}
    if len(by_name) < 2:
        return []
    out = []
    for pair in store.query("shared_addresses"):
        a, b = by_name.get(pair["a"]), by_name.get(pair["b"])
        if a is None or b is None or a.sources.keys() & b.sources.keys() or a.last < b.first or b.last < a.first:
            continue
        merge, into = _direction(a, b)
        out.append(
            {
                "clusters": [a.name, b.name],
                "sources": {a.name: sorted(a.sources), b.name: sorted(b.sources)},
                "shared_addresses": pair["shared"],
                "fix": f"kubetrail clusters merge {merge.name} {into.name}",
            }
        )
    return out


def _direction(a: _Cluster, b: _Cluster) -> tuple[_Cluster, _Cluster]:
    """(merged, kept): keep a name a sensor gave over 'default' or a name no record carries."""

    def rank(c: _Cluster) -> tuple[bool, bool, int]:
        return c.name != UNNAMED, c.name in c.sensor_clusters, sum(c.sources.values())

    return (a, b) if rank(a) < rank(b) else (b, a)


def split_gaps(splits: list[dict[str, Any]]) -> list[str]:
    """The likely splits as `gaps` lines (status)."""
    lines = []
    for s in splits:
        a, b = s["clusters"]
        lines.append(
            f"clusters {a} and {b} look like one cluster split under two names ({a}: {', '.join(s['sources'][a])}; "
            f"{b}: {', '.join(s['sources'][b])}; same period, {s['shared_addresses']} addresses in common): "
            f"if they are one, run `{s['fix']}`"
        )
    return lines
