"""`kubetrail status`: what the store knows, so that "no data" is never mistaken for "no match":
per cluster, source and node the time range covered and the event count, the audit levels
seen, the sensors' own loss counters, and clusters that look like one split under two names."""

from __future__ import annotations

from typing import Any

from kubetrail.answers.clusters import likely_splits, split_gaps
from kubetrail.store import Store
from kubetrail.timeutil import format_ns


def status(store: Store, cluster: str | None = None) -> dict[str, Any]:
    (totals,) = store.query("status_totals", cluster=cluster)
    coverage = [_times(r, "first", "last") for r in store.query("status_coverage", cluster=cluster)]
    splits = [s for s in likely_splits(store) if cluster is None or cluster in s["clusters"]]
    return {
        "events": totals["events"],
        "quarantined": totals["quarantined"],
        "files": totals["files"],
        "coverage": coverage,
        "audit_levels": store.query("status_audit_levels", cluster=cluster),
        "sensor_drops": [_times(r, "last") for r in store.query("status_drops", cluster=cluster)],
        "likely_splits": splits,
        "gaps": split_gaps(splits) + _gaps(coverage),
    }


def _times(row: dict[str, Any], *keys: str) -> dict[str, Any]:
    return row | {k: format_ns(row[k]) for k in keys}


def _gaps(coverage: list[dict[str, Any]]) -> list[str]:
    """Sources a cluster has none of: every answer that needs them is blind there."""
    clusters = sorted({r["cluster"] for r in coverage})
    gaps = []
    for name in clusters:
        have = {r["source"] for r in coverage if r["cluster"] == name}
        missing = [s for s in ("k8s_audit", "falco", "tetragon", "hubble", "otel") if s not in have]
        if "falco" in missing and "tetragon" not in missing:
            missing.remove("falco")  # one runtime sensor is enough
        elif "tetragon" in missing and "falco" not in missing:
            missing.remove("tetragon")
        if missing:
            gaps.append(f"cluster {name}: no events from {', '.join(missing)}")
    return gaps
