"""Incidents as they happen: `serve`'s alert thread and one courier thread per output.

After the drain stores events (`Engine.stored()`), the alert thread runs `incidents` over the
latest window (at most every `eval_seconds`, and idle twice as long as a look took: at 10M events
the latest hour takes ~0.35 s), kept open back to the first signal of any incident still active
(HOLD_WINDOWS windows at most: a look costs what its window holds), and compares what it finds
with what it told before (alerts/state.py). The changes and the notices they bring are saved in
one transaction (the store's `alert_incidents` and `alert_outbox`), then handed to the couriers; a
courier marks a notice sent once its output took it, and retries with exponential backoff (or the
output's Retry-After) until then. A restart neither pages again nor loses a page: the told state
is read back and the outbox's unsent notices are sent first. A slow or dead output holds up only
its own courier, never the drain.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import orjson

from kubetrail.alerts import AlertSettings, Notice, Output, OutputError
from kubetrail.alerts.state import Told, diff
from kubetrail.answers.incidents import Query, incidents
from kubetrail.answers.window import Window
from kubetrail.correlate.incidents import LINK_NS, SEVERITIES
from kubetrail.rules import RuleSet, builtin
from kubetrail.store.duckdb import DuckDBStore
from kubetrail.timeutil import NS, format_ns

log = logging.getLogger("kubetrail.alerts")

BACKOFF_FIRST: Final = 1.0  # seconds before the first retry of a failed send; doubles each time ...
BACKOFF_MAX: Final = 60.0  # ... up to this
BATCH: Final = 64  # notices per send at most
MAX_ROWS: Final = 10_000  # incidents read per look (a window with more is a flood: the rest waits)
HOLD_WINDOWS: Final = 2  # an active incident holds the look's window open back to its start, this many windows at most


@dataclass
class AlertCounters:
    """What the alert thread and couriers did (read by /metrics)."""

    looks: int = 0
    look_seconds: float = 0.0  # of the latest look
    active: Counter[str] = field(default_factory=Counter)  # active incidents by severity
    sent: Counter[str] = field(default_factory=Counter)  # notices delivered, by output
    failed: Counter[str] = field(default_factory=Counter)  # failed sends, by output
    pending: Counter[str] = field(default_factory=Counter)  # notices waiting, by output
    errors: int = 0  # looks that failed


class Engine:
    def __init__(
        self, store: DuckDBStore, settings: AlertSettings, outputs: Sequence[Output], clock: Callable[[], int] = time.time_ns,
        rules: RuleSet | None = None,  # default: the built-in rules
    ) -> None:  # fmt: skip
        self.store, self.settings, self.clock = store, settings, clock
        self.rules = rules if rules is not None else builtin()
        self.counters = AlertCounters()
        self.couriers = {o.config.name: Courier(o, self) for o in outputs}
        self.told: dict[str, Told] = {}
        self.delivered: queue.SimpleQueue[tuple[str, list[int]]] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kubetrail-alerts", daemon=True)
        self._refreshed = 0  # wall ns of the last refresh
        self._lock = threading.Lock()
        self._late: int | None = None  # the oldest event time written since the last look

    # -- the drain's side ---------------------------------------------------------------------
    def stored(self, oldest: int | None = None) -> None:
        """New events are in the store, the oldest of them at `oldest` (ns) when known: look again
        soon, back far enough to see them with what they link to."""
        if oldest is not None:
            with self._lock:
                self._late = oldest if self._late is None else min(self._late, oldest)
        self._wake.set()

    def start(self) -> None:
        self.told = {t.id: t for t in map(_told, self.store.told_incidents())}
        self._count_active()
        for seq, output, text in self.store.outbox_pending():
            courier = self.couriers.get(output)
            if courier is not None:  # an output no longer configured keeps its notices unsent
                courier.put([(seq, _notice(text))])
        for courier in self.couriers.values():
            courier.start()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join()
        for courier in self.couriers.values():
            courier.stop()
        self._mark_delivered()

    # -- the alert thread ----------------------------------------------------------------------
    def _run(self) -> None:
        last = 0.0
        while not self._stop.is_set():
            self._wake.wait(timeout=1.0)
            new = self._wake.is_set()
            self._wake.clear()
            self._mark_delivered()
            now = self.clock()
            refresh = now - self._refreshed >= self.settings.refresh_seconds * NS
            if not (new or refresh or self._quiet_due(now)):
                continue
            # At least eval_seconds apart, and twice as long as the last look took: looking
            # takes at most a third of a core from the drain, whatever the store's size.
            wait = last + max(self.settings.eval_seconds, 2 * self.counters.look_seconds) - time.monotonic()
            if wait > 0 and self._stop.wait(wait):
                return
            last = time.monotonic()
            try:
                self.look(self.clock(), refresh=refresh)
            except Exception:
                self.counters.errors += 1
                log.exception("looking for incidents failed; looking again at the next events")

    def look(self, now: int, *, refresh: bool = False) -> list[Notice]:
        """Find the incidents of the latest window, save what changed and hand the notices to the
        couriers; the notices told (refreshes not included)."""
        started = time.monotonic()
        window = self._window()
        rows = [] if window is None else incidents(self.store, Query(window, limit=MAX_ROWS, rules=self.rules))["rows"]
        change = diff(self.told, rows, now, self.settings.quiet_seconds * NS, refresh)
        notices = [self._linked(n) for n in change.notices]
        outbox = [(name, n) for n in notices for name, c in self.couriers.items() if c.output.config.wants(n)]
        seqs = self.store.save_told([_row(t) for t in change.changed], [(name, _text(n)) for name, n in outbox], now)
        self.told = _pruned(change.told, window, self.settings.horizon_seconds * NS)
        for (name, n), seq in zip(outbox, seqs, strict=True):
            self.couriers[name].put([(seq, n)])
        if refresh:
            self._refreshed = now
            for n in map(self._linked, change.refresh):
                for c in self.couriers.values():
                    if c.output.config.wants(n) and c.idle():
                        c.put([(None, n)])
        for n in notices:
            log.info("incident %s %s: %s", n.incident_id, n.kind, n.incident.get("title"), extra={"fields": _fields(n)})
        self._count_active()
        self.counters.looks += 1
        self.counters.look_seconds = time.monotonic() - started
        return notices

    def _window(self) -> Window | None:
        """The latest `window_seconds` of events, held open back to the first signal of an active
        incident (its id and its story hold) for HOLD_WINDOWS windows at most, and back to what
        arrived since the last look from before that (a sensor an hour behind the others, a
        shipper's backlog) with what it may link to; never further than the horizon.

        Without the bound a steady channel out held the window open for as long as it lasted (a
        new connection kept it active) and each look cost more, up to a day of events. Past it,
        the incident's first signals leave the window; one with later signals keeps its id through
        them (alerts/state.py), and one that begins with a steady channel keeps the channel's id
        (correlate/incidents.py) while the channel goes on."""
        with self._lock:
            late, self._late = self._late, None
        newest = self.store.query("newest_event")[0]["newest"]
        if newest is None:
            return None
        until = int(newest) + 1
        latest = until - self.settings.window_seconds * NS
        held = min((t.start for t in self.told.values() if t.active), default=latest)
        starts = [latest, max(held, until - HOLD_WINDOWS * self.settings.window_seconds * NS)]
        if late is not None and late < latest:
            starts.append(late - LINK_NS)
        return Window(max(min(starts), until - self.settings.horizon_seconds * NS), until)

    def _quiet_due(self, now: int) -> bool:
        quiet = self.settings.quiet_seconds * NS
        return any(t.active and now - t.changed_at >= quiet for t in self.told.values())

    def _linked(self, notice: Notice) -> Notice:
        base = self.settings.link_base
        if base is None:
            return notice
        return Notice(
            notice.kind, notice.incident, notice.severity, notice.starts_at, notice.previous, notice.ends_at,
            f"{base.rstrip('/')}/incidents/{notice.incident_id}",
        )  # fmt: skip

    def _mark_delivered(self) -> None:
        seqs: list[int] = []
        while True:
            try:
                _, done = self.delivered.get_nowait()
            except queue.Empty:
                break
            seqs.extend(done)
        if seqs:
            self.store.outbox_sent(seqs, self.clock())

    def _count_active(self) -> None:
        active = Counter(dict.fromkeys(SEVERITIES, 0))
        active.update(t.severity for t in self.told.values() if t.active)
        self.counters.active = active


class Courier:
    """One output's thread: sends its notices in order, again and again until the output takes them."""

    def __init__(self, output: Output, engine: Engine) -> None:
        self.output, self.engine = output, engine
        self.name = output.config.name
        self._queue: deque[tuple[int | None, Notice]] = deque()
        self._more = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"kubetrail-alerts-{self.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._more:
            self._more.notify_all()
        self._thread.join(timeout=self.output.config.timeout_seconds + 1)
        self.output.close()

    def idle(self) -> bool:
        return not self._queue

    def put(self, items: list[tuple[int | None, Notice]]) -> None:
        with self._more:
            self._queue.extend(items)
            self.engine.counters.pending[self.name] = len(self._queue)
            self._more.notify_all()

    def _run(self) -> None:
        backoff = BACKOFF_FIRST
        while not self._stop.is_set():
            with self._more:
                while not self._queue and not self._stop.is_set():
                    self._more.wait()
                batch = [self._queue[i] for i in range(min(BATCH, len(self._queue)))]
            if not batch:
                return
            try:
                self.output.send([n for _, n in batch])
            except OutputError as exc:
                self.engine.counters.failed[self.name] += 1
                delay = getattr(exc, "retry_after", None) or backoff
                log.warning("alert output %s: %s; sending again in %.0f s", self.name, exc, delay)
                backoff = min(backoff * 2, BACKOFF_MAX)
                self._stop.wait(delay)
                continue
            backoff = BACKOFF_FIRST
            with self._more:
                for _ in batch:
                    self._queue.popleft()
                self.engine.counters.pending[self.name] = len(self._queue)
            self.engine.counters.sent[self.name] += len(batch)
            self.engine.delivered.put((self.name, [seq for seq, _ in batch if seq is not None]))


# -- to and from the store ----------------------------------------------------------------------
def _row(t: Told) -> dict[str, Any]:
    return {
        "id": t.id, "severity": t.severity, "active": t.active, "told_at": t.told_at, "changed_at": t.changed_at,
        "start_ns": t.start, "end_ns": t.end, "steps": t.steps, "row_json": orjson.dumps(t.row).decode(),
    }  # fmt: skip


def _told(r: dict[str, Any]) -> Told:
    return Told(
        r["id"], r["severity"], bool(r["active"]), int(r["told_at"]), int(r["changed_at"]), int(r["start_ns"]),
        int(r["end_ns"]), int(r["steps"]), orjson.loads(r["row_json"]),
    )  # fmt: skip


def _text(n: Notice) -> str:
    return orjson.dumps({
        "kind": n.kind, "severity": n.severity, "starts_at": n.starts_at, "previous": n.previous, "ends_at": n.ends_at,
        "link": n.link, "incident": n.incident,
    }).decode()  # fmt: skip


def _notice(text: str) -> Notice:
    d = orjson.loads(text)
    return Notice(d["kind"], d["incident"], d["severity"], d["starts_at"], d["previous"], d["ends_at"], d["link"])


def _pruned(told: dict[str, Told], window: Window | None, horizon_ns: int) -> dict[str, Told]:
    """Incidents gone quiet whose signals are all past the horizon cannot come back: forgotten
    here (they stay in the store)."""
    if window is None:
        return told
    edge = window.until - horizon_ns
    return {k: t for k, t in told.items() if t.active or t.end >= edge}


def _fields(n: Notice) -> dict[str, Any]:
    """The structured fields of one incident change's log line (the incident's own fields: no secret)."""
    return {
        "event": "incident", "kind": n.kind, "incident_id": n.incident_id, "severity": n.severity, "previous": n.previous,
        "title": n.incident.get("title"), "start": n.incident.get("start"),
        "ends_at": format_ns(n.ends_at) if n.ends_at else None,
    }  # fmt: skip
