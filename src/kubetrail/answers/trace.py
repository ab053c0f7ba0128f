"""`kubetrail ask trace EVENT_ID`: the causal chain from an event back to the user action that
caused it (so far: a person's kubectl exec/attach into the pod, or the caller of an API call)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from kubetrail.correlate.exec import Proc, Session, by_ancestry, by_time
from kubetrail.identity.ips import DEFAULT_SKEW_NS
from kubetrail.store import Store
from kubetrail.timeutil import NS, format_ns

LOOKBACK_NS: Final = 24 * 3600 * NS  # how far back a backgrounded descendant's session may lie
MAX_DEPTH: Final = 64


class UnknownEvent(LookupError):
    """No stored event has that id."""


@dataclass
class _Trace:
    event: Mapping[str, Any]
    initiator: dict[str, Any] | None = None
    chain: list[dict[str, Any]] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        chain = self.chain or [_step(self.event)]
        return {"event": self.event["id"], "initiator": self.initiator, "chain": chain, "gaps": self.gaps}


def trace(store: Store, event_id: str, skew_ns: int = DEFAULT_SKEW_NS) -> dict[str, Any]:
    found = store.query("trace_event", ids=[event_id])
    if not found:
        raise UnknownEvent(f"no event with id {event_id!r}")
    return _trace(store, found[0], skew_ns)


def initiators(store: Store, event_ids: Iterable[str], skew_ns: int = DEFAULT_SKEW_NS) -> dict[str, dict[str, Any] | None]:
    """The initiator of each event, by id (None where correlation found none), the events read
    in one query: a lookup by id scans the key column of the whole store."""
    ids = sorted(set(event_ids))
    rows = store.query("trace_event", ids=ids) if ids else []
    return {row["id"]: _trace(store, row, skew_ns)["initiator"] for row in rows}


def _trace(store: Store, event: Mapping[str, Any], skew_ns: int) -> dict[str, Any]:
    t = _Trace(event)
    if event["kind"] == "api_call":
        _api_call(t)
    elif event["namespace"] and event["pod_name"]:
        _in_pod(store, t, skew_ns)
    else:
        t.gaps.append("the event names no pod: no exec session or request can be tied to it")
    return t.as_json()


def _api_call(t: _Trace) -> None:
    """An API call's initiator is whoever held the credential (the impersonator when impersonating)."""
    e = t.event
    t.initiator = _initiator("api-call", e["impersonated_by"] or e["actor"], "token", [e["id"]])


def _in_pod(store: Store, t: _Trace, skew_ns: int) -> None:
    e = t.event
    if e["trace_id"] and _by_trace_context(store, t):
        return
    chain, complete = _ancestry(store, e) if e["exec_id"] else ([], False)
    sessions = [
        _session(r)
        for r in store.query(
            "exec_sessions", cluster=e["cluster"], namespace=e["namespace"], pod=e["pod_name"],
            **{"from": e["time"] - LOOKBACK_NS, "until": e["time"] + skew_ns + 1},
        )
    ]  # fmt: skip
    found = by_ancestry(chain, sessions, skew_ns)
    if found is not None:
        session, root = found
        t.initiator = _initiator("kubectl-exec", session.user, "ancestry", [session.evidence, root.id])
        t.chain = [_session_step(session), *_proc_steps(store, chain, root, e["id"]), _step(e)]
        return
    if chain and (complete or chain[-1].time < min((s.start for s in sessions), default=e["time"]) - skew_ns):
        _by_request(store, t, chain, skew_ns)  # the workload's own process: perhaps serving a request
        return
    why = "process ancestry is incomplete in the store" if e["exec_id"] else f"{e['source']} reports no process ancestry"
    _by_time(t, sessions, skew_ns, why)
    if t.initiator is None:
        _by_request(store, t, chain or [_proc(e)], skew_ns)


def _by_time(t: _Trace, sessions: list[Session], skew_ns: int, why: str) -> None:
    e = t.event
    session = by_time(e["time"], e["container_name"], sessions, skew_ns)
    if session is None:
        return
    t.gaps.append(f"{why}: attributed by time window only")
    if session.end is None:
        t.gaps.append(f"the exec session {session.evidence} has no ResponseComplete stage: its end is unknown")
    t.initiator = _initiator("kubectl-exec", session.user, "time-window", [session.evidence])
    t.chain = [_session_step(session), _step(e)]


def _by_trace_context(store: Store, t: _Trace) -> bool:
    """An HTTP flow carrying trace context: its trace's server span names the request."""
    e = t.event
    spans = store.query("server_spans", cluster=e["cluster"], trace_id=e["trace_id"], namespace=None, pod=None, at=0, skew=0)
    span = spans[-1] if spans else None  # the trace's first server span: the request as it entered
    t.initiator = _request(span, e["trace_id"], e["span_id"], "trace-context", [e["id"]])
    t.chain = [_step(span), _step(e)] if span else [_step(e)]
    if span is None:
        t.gaps.append(f"no span of trace {e['trace_id']} is stored: route and end user unknown")
    return True


def _by_request(store: Store, t: _Trace, chain: list[Proc], skew_ns: int) -> None:
    """The request being served when the process (or one of its ancestors) started in the pod:
    the innermost server span of that pod covering the start of the oldest such ancestor."""
    e = t.event
    for i, proc in reversed(list(enumerate(chain))):
        spans = store.query(
            "server_spans",
            cluster=e["cluster"],
            namespace=e["namespace"],
            pod=e["pod_name"],
            at=proc.time,
            skew=skew_ns,
            trace_id=None,
        )
        if spans:
            span = spans[0]
            t.initiator = _request(span, span["trace_id"], span["span_id"], "time-window", [span["id"], proc.id])
            t.chain = [
                _step(span),
                *_steps(store, [p.id for p in chain[: i + 1][::-1] if p.id != e["id"]]),
                _step(e),
            ]
            t.gaps.append("runtime events carry no trace context: tied to the request whose server span covers the process start")
            return


def _request(
    span: Mapping[str, Any] | None, trace_id: str, span_id: str | None, strength: str, evidence: list[str]
) -> dict[str, Any]:
    end_user = span["enduser_id"] if span else None
    return {"type": "http-request", "user": end_user, "trace_id": trace_id, "span_id": span["span_id"] if span else span_id,
            "route": span["http_route"] if span else None, "end_user": end_user, "strength": strength,
            "evidence": list(dict.fromkeys(([span["id"]] if span else []) + evidence))}  # fmt: skip


def _ancestry(store: Store, e: Mapping[str, Any]) -> tuple[list[Proc], bool]:
    """The event's process and its ancestors, newest first; True when the walk reached a process
    with no parent rather than a parent missing from the store."""
    first = store.query("process_by_exec_id", cluster=e["cluster"], exec_id=e["exec_id"])
    chain = [_proc(first[0] if first else e)]
    while chain[-1].parent_exec_id and len(chain) < MAX_DEPTH:
        parent = store.query("process_by_exec_id", cluster=e["cluster"], exec_id=chain[-1].parent_exec_id)
        if not parent:
            return chain, False
        chain.append(_proc(parent[0]))
    return chain, True


def _proc(row: Mapping[str, Any]) -> Proc:
    return Proc(row["id"], row["time"], row["binary"], row["container_name"], row["exec_id"], row["parent_exec_id"])


def _session(row: Mapping[str, Any]) -> Session:
    return Session(
        cluster=row["cluster"], namespace=row["namespace"], pod=row["pod_name"], subresource=row["subresource"],
        user=row["impersonated_by"] or row["actor"], command=row["command"], container=row["container"],
        start=row["start"], end=row["end"], evidence=row["first_id"],
    )  # fmt: skip


def _proc_steps(store: Store, chain: list[Proc], root: Proc, event_id: str) -> list[dict[str, Any]]:
    """Steps from the session's root process down to the event (the event itself excluded)."""
    procs = chain[: chain.index(root) + 1][::-1]
    return _steps(store, [p.id for p in procs if p.id != event_id])


def _steps(store: Store, ids: list[str]) -> list[dict[str, Any]]:
    """The steps of these events, in the order given (one query for all of them)."""
    rows = {r["id"]: r for r in store.query("event_steps", ids=ids)} if ids else {}
    return [_step(rows[i]) for i in ids if i in rows]


def _session_step(s: Session) -> dict[str, Any]:
    what = f"{s.user} kubectl {s.subresource} {s.namespace}/{s.pod}" + (f": {s.command}" if s.command else "")
    return {"time": format_ns(s.start), "source": "k8s_audit", "kind": "api_call", "summary": what, "id": s.evidence}


def _step(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "time": format_ns(row["time"]),
        "source": row["source"],
        "kind": row["kind"],
        "summary": row["summary"] or row["kind"],
        "id": row["id"],
    }


def _initiator(kind: str, user: str | None, strength: str, evidence: list[str]) -> dict[str, Any]:
    return {"type": kind, "user": user, "trace_id": None, "span_id": None, "route": None, "end_user": None,
            "strength": strength, "evidence": evidence}  # fmt: skip
