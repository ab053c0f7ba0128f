"""`kubetrail timeline (--pod NS/NAME | --actor NAME | --sa NS/NAME)`: the steps touching one
entity, by time, in the answer envelope."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubetrail.answers.window import DEFAULT_LIMIT, Window, cursor_at, envelope, offset
from kubetrail.store import Store
from kubetrail.timeutil import format_ns


@dataclass(frozen=True)
class Query:
    window: Window
    pod: str | None = None  # "namespace/name"
    actor: str | None = None  # a username exactly as the API server saw it
    cluster: str | None = None
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


def timeline(store: Store, q: Query) -> dict[str, Any]:
    if (q.pod is None) == (q.actor is None):
        raise ValueError("give one entity: --pod NS/NAME, --actor NAME or --sa NS/NAME")
    pod_ns, _, pod_name = (q.pod or "").partition("/")
    if q.pod is not None and (not pod_ns or not pod_name):
        raise ValueError(f"--pod {q.pod!r}: give NAMESPACE/NAME")
    start = offset(q.cursor)
    rows = store.query(
        "timeline", since=q.window.since, until=q.window.until, cluster=q.cluster,
        pod_ns=pod_ns or None, pod_name=pod_name or None, actor=q.actor, offset=start, limit=q.limit + 1,
    )  # fmt: skip
    steps = [
        {"time": format_ns(r["time"]), "source": r["source"], "kind": r["kind"], "summary": r["summary"], "id": r["id"]}
        for r in rows
    ]
    gaps = [] if steps or start else [f"nothing touched {q.pod or q.actor} in the window"]
    # The store returned just this page, and one row more to tell whether another follows.
    doc = envelope(q.window, steps, gaps, q.limit, None)
    doc["next"] = cursor_at(start + q.limit) if doc["truncated"] else None
    return doc
