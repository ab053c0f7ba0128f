"""`kubetrail ask trace EVENT_ID`: the causal chain from an event back to the user action that
caused it (so far: a person's kubectl exec/attach into the pod, or the caller of an API call)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
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
    return _trace(_Reads(store, found, skew_ns, chains=True), found[0])


def initiators(store: Store, event_ids: Iterable[str], skew_ns: int = DEFAULT_SKEW_NS) -> dict[str, dict[str, Any] | None]:
    """The initiator of each event, by id (None where correlation found none). What the traces
    read is asked for all the events at once (_Reads): a query per event cost 10-20 ms each on
    ClickHouse, and an hour's unexpected processes are a dozen or more."""
    ids = sorted(set(event_ids))
    rows = store.query("trace_event", ids=ids) if ids else []
    reads = _Reads(store, rows, skew_ns, chains=False)
    return {row["id"]: _trace(reads, row)["initiator"] for row in rows}


class _Reads:
    """What the traces of some events read of the store, each kind asked once for all of them:
    the ancestry of their processes (a generation of ancestors at a time), the exec sessions
    into their pods around them, and the server spans covering the starts of their processes
    and ancestors. `chains`: the steps of each story are read too (an initiator alone needs
    none)."""

    def __init__(self, store: Store, events: Sequence[Mapping[str, Any]], skew_ns: int, *, chains: bool) -> None:
        self.store, self.skew_ns, self.chains = store, skew_ns, chains
        in_pods = [e for e in events if e["kind"] != "api_call" and e["namespace"] and e["pod_name"]]
        self._ancestry = self._walk([e for e in in_pods if e["exec_id"]])
        asks = {e["id"]: (e["cluster"], e["namespace"], e["pod_name"], e["time"] - LOOKBACK_NS, e["time"] + skew_ns + 1)
                for e in in_pods if not e["trace_id"]}  # fmt: skip
        self._sessions: dict[str, list[Session]] = {id_: [] for id_ in asks}
        for row in self._query("exec_sessions", asks, ("clusters", "namespaces", "pods", "froms", "untils")):
            self._sessions[row["ask"]].append(_session(row))
        spans = {
            f"{e['id']}/{i}": (e["cluster"], e["namespace"], e["pod_name"], proc.time)
            for e in in_pods if not e["trace_id"]
            for i, proc in enumerate(self.ancestry(e)[0] or [_proc(e)])
        }  # fmt: skip
        covering = self._query("server_spans", spans, ("clusters", "namespaces", "pods", "ats"), skew=skew_ns)
        self._spans = {r["ask"]: r for r in covering}

    def _query(
        self, name: str, asks: Mapping[str, tuple[Any, ...]], columns: tuple[str, ...], **params: Any
    ) -> list[dict[str, Any]]:
        """A named query asked for many at once: the asks' names and values as parallel lists."""
        if not asks:
            return []
        lists = {c: [ask[i] for ask in asks.values()] for i, c in enumerate(columns)}
        return self.store.query(name, asks=list(asks), **lists, **params)

    def _walk(self, events: Sequence[Mapping[str, Any]]) -> dict[str, tuple[list[Proc], bool]]:
        """Each event's process and its ancestors, newest first, by event id; True when the walk
        ended at a process with no parent rather than at a parent missing from the store."""
        procs: dict[tuple[str, str], Proc | None] = {}  # (cluster, exec_id) -> its process, None if not stored
        wanted = {(e["cluster"], x) for e in events for x in (e["exec_id"], e["parent_exec_id"]) if x}
        for _ in range(MAX_DEPTH):
            for cluster in sorted({c for c, _ in wanted}):
                exec_ids = sorted(x for c, x in wanted if c == cluster)
                rows = self.store.query("processes_by_exec_id", cluster=cluster, exec_ids=exec_ids)
                found = {r["exec_id"]: _proc(r) for r in rows}
                procs.update(((cluster, x), found.get(x)) for x in exec_ids)
            wanted = {(c, p.parent_exec_id) for (c, _), p in procs.items() if p is not None and p.parent_exec_id} - procs.keys()
            if not wanted:
                break
        out = {}
        for e in events:
            chain = [procs.get((e["cluster"], e["exec_id"])) or _proc(e)]
            complete = True
            while chain[-1].parent_exec_id and len(chain) < MAX_DEPTH:
                parent = procs.get((e["cluster"], chain[-1].parent_exec_id))
                if parent is None:
                    complete = False
                    break
                chain.append(parent)
            out[e["id"]] = (chain, complete)
        return out

    def ancestry(self, e: Mapping[str, Any]) -> tuple[list[Proc], bool]:
        return self._ancestry.get(e["id"], ([], False))

    def sessions(self, e: Mapping[str, Any]) -> list[Session]:
        return self._sessions.get(e["id"], [])

    def covering_span(self, e: Mapping[str, Any], i: int) -> dict[str, Any] | None:
        """The server span of the event's pod covering the start of its chain's `i`th process."""
        return self._spans.get(f"{e['id']}/{i}")

    def steps(self, ids: list[str]) -> list[dict[str, Any]]:
        """The steps of these events, in the order given (one query for all of them)."""
        if not self.chains or not ids:
            return []
        rows = {r["id"]: r for r in self.store.query("event_steps", ids=ids)}
        return [_step(rows[i]) for i in ids if i in rows]


def _trace(reads: _Reads, event: Mapping[str, Any]) -> dict[str, Any]:
    t = _Trace(event)
    if event["kind"] == "api_call":
        _api_call(t)
    elif event["namespace"] and event["pod_name"]:
        _in_pod(reads, t)
    else:
        t.gaps.append("the event names no pod: no exec session or request can be tied to it")
    return t.as_json()


def _api_call(t: _Trace) -> None:
    """An API call's initiator is whoever held the credential (the impersonator when impersonating)."""
    e = t.event
    t.initiator = _initiator("api-call", e["impersonated_by"] or e["actor"], "token", [e["id"]])


def _in_pod(reads: _Reads, t: _Trace) -> None:
    e, skew_ns = t.event, reads.skew_ns
    if e["trace_id"]:
        _by_trace_context(reads, t)
        return
    chain, complete = reads.ancestry(e)
    sessions = reads.sessions(e)
    found = by_ancestry(chain, sessions, skew_ns)
    if found is not None:
        session, root = found
        t.initiator = _initiator("kubectl-exec", session.user, "ancestry", [session.evidence, root.id])
        t.chain = [_session_step(session), *_proc_steps(reads, chain, root, e["id"]), _step(e)]
        return
    if chain and (complete or chain[-1].time < min((s.start for s in sessions), default=e["time"]) - skew_ns):
        _by_request(reads, t, chain)  # the workload's own process: perhaps serving a request
        return
    why = "process ancestry is incomplete in the store" if e["exec_id"] else f"{e['source']} reports no process ancestry"
    _by_time(t, sessions, skew_ns, why)
    if t.initiator is None:
        _by_request(reads, t, chain or [_proc(e)])


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


def _by_trace_context(reads: _Reads, t: _Trace) -> None:
    """An HTTP flow carrying trace context: its trace's server span names the request."""
    e = t.event
    spans = reads.store.query("trace_server_spans", cluster=e["cluster"], trace_id=e["trace_id"])
    span = spans[-1] if spans else None  # the trace's first server span: the request as it entered
    t.initiator = _request(span, e["trace_id"], e["span_id"], "trace-context", [e["id"]])
    t.chain = [_step(span), _step(e)] if span else [_step(e)]
    if span is None:
        t.gaps.append(f"no span of trace {e['trace_id']} is stored: route and end user unknown")


def _by_request(reads: _Reads, t: _Trace, chain: list[Proc]) -> None:
    """The request being served when the process (or one of its ancestors) started in the pod:
    the innermost server span of that pod covering the start of the oldest such ancestor."""
    e = t.event
    for i, proc in reversed(list(enumerate(chain))):
        span = reads.covering_span(e, i)
        if span is not None:
            t.initiator = _request(span, span["trace_id"], span["span_id"], "time-window", [span["id"], proc.id])
            t.chain = [
                _step(span),
                *reads.steps([p.id for p in chain[: i + 1][::-1] if p.id != e["id"]]),
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


def _proc(row: Mapping[str, Any]) -> Proc:
    return Proc(row["id"], row["time"], row["binary"], row["container_name"], row["exec_id"], row["parent_exec_id"])


def _session(row: Mapping[str, Any]) -> Session:
    return Session(
        cluster=row["cluster"], namespace=row["namespace"], pod=row["pod_name"], subresource=row["subresource"],
        user=row["impersonated_by"] or row["actor"], command=row["command"], container=row["container"],
        start=row["start"], end=row["end"], evidence=row["first_id"],
    )  # fmt: skip


def _proc_steps(reads: _Reads, chain: list[Proc], root: Proc, event_id: str) -> list[dict[str, Any]]:
    """Steps from the session's root process down to the event (the event itself excluded)."""
    procs = chain[: chain.index(root) + 1][::-1]
    return reads.steps([p.id for p in procs if p.id != event_id])


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
