"""The receiving core: request bodies appended to the spool in group commits (one fsync for all
the requests waiting), and one drain thread writing them into the store with the spool position
they reached, in one transaction per group.

The drain reads the spool ahead: while it writes one group, a worker process normalizes the next
(at most DRAIN_AHEAD groups in flight). Normalizing is ~2/3 of a group's cost and held the GIL
the receivers need: in one thread the drain kept up with ~3,700 of 5,000 events/s of the mixed
stream (bench/serve.py).

Backpressure is on spool bytes not yet in the store: past the high-water mark receivers refuse
new bodies (503 with Retry-After) until the drain catches up, so memory and disk stay bounded
and nothing acknowledged is dropped.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from prometheus_client import Histogram

from kubetrail.ingest.live import Body, LiveWriter, Prepared, normalize
from kubetrail.ingest.pipeline import ChunkResult, Workers
from kubetrail.serve.spool import Entry, Spool
from kubetrail.store import Cursor
from kubetrail.store.duckdb import DuckDBStore

if TYPE_CHECKING:
    from kubetrail.ingest.follow import GroupWriter, Tail

log = logging.getLogger("kubetrail.serve")

SPOOL_CURSOR: Final = "spool"
GROUP_BYTES: Final = 8 << 20  # spool bytes per store write
APPEND_BATCH: Final = 512  # entries per fsync at most
# Groups read from the spool and being normalized, beyond the one being written. One: with one
# worker a second group ahead only waited for it, a group's time (~1 s at 5,000 events/s) more
# from a request's acknowledgement to its events in the store, and to an incident's notice.
DRAIN_AHEAD: Final = 1
FOLLOW_POLL_SECONDS: Final = 0.2


@dataclass(frozen=True, slots=True)
class Incoming:
    """A received body, ready for the spool."""

    receiver: str  # the path it came to, e.g. /v1/audit
    origin: str  # provenance: "POST /v1/audit from apiserver"
    source: str | None
    cluster: str | None
    body: bytes
    records: int  # readable records seen by the receiver (for counters)

    def header(self) -> dict[str, Any]:
        return {"receiver": self.receiver, "origin": self.origin, "source": self.source, "cluster": self.cluster}


@dataclass
class Counters:
    """What the core did since it started (read by /metrics and the tests)."""

    received: Counter[str] = field(default_factory=Counter)  # requests acknowledged, by receiver
    records: Counter[str] = field(default_factory=Counter)  # records acknowledged, by receiver
    stored: Counter[str] = field(default_factory=Counter)  # events stored, by source
    duplicates: Counter[str] = field(default_factory=Counter)  # by receiver
    quarantined: Counter[str] = field(default_factory=Counter)  # by source ("": none recognized)
    drain_errors: int = 0
    spool_damaged_bytes: int = 0  # skipped: damaged stretches of the spool (their bytes kept beside it)
    rejected: Counter[str] = field(default_factory=Counter)  # by reason: too_large, unreadable, backpressure, ...


@dataclass
class _Following:
    """Export files `serve --follow` tails: polled by the drain thread, written as they come."""

    tails: list[Tail]
    writer: GroupWriter

    def round(self, now: float, *, flush: bool) -> bool:
        """Poll the files, write what is due; whether new events went into the store."""
        before = sum(self.writer.summary.ingested.values())
        self.writer.round(self.tails, now, flush=flush)
        if flush:
            self.writer.flush()
        return sum(self.writer.summary.ingested.values()) > before

    def close(self) -> None:
        for tail in self.tails:
            close = getattr(tail, "close", None)
            if close is not None:
                close()


class Core:
    """The spool, its appender thread and the drain thread, around one store."""

    def __init__(
        self, store: DuckDBStore, spool: Spool, *, cluster: str | None = None, high_water: int = 1 << 30,
        follow: tuple[str, ...] = (), workers: int = 1,
    ) -> None:  # fmt: skip
        self.store, self.spool = store, spool
        self.workers = Workers(workers) if workers > 0 else None
        self.high_water = high_water
        self.counters = Counters()
        self.writer = LiveWriter(store, cluster)
        self.receivers: dict[str, str] = {}  # origin -> the receiver it came to
        self._damaged_seen: set[int] = set()  # positions of damaged spool stretches reported
        self.failing = False  # the latest write into the store failed (it is retried)
        self.write_seconds_last = 0.0
        self.newest = {(r["source"], r["node"] or ""): int(r["last"]) for r in store.query("status_coverage", cluster=None)}
        self.write_seconds = Histogram(
            "kubetrail_store_write_seconds", "Time to write one drained group into the store.", registry=None,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
        )  # fmt: skip
        cursor = store.cursor(SPOOL_CURSOR)
        self.drained = max(cursor.position if cursor else 0, spool.recovery.start)
        self.durable = spool.end
        self._appends: queue.SimpleQueue[tuple[Incoming, asyncio.Future[int], asyncio.AbstractEventLoop] | None] = (
            queue.SimpleQueue()
        )
        self._new_data = threading.Condition()
        self._stopping = threading.Event()
        self._appender = threading.Thread(target=self._append_loop, name="kubetrail-spool", daemon=True)
        self._drain = threading.Thread(target=self._drain_loop, name="kubetrail-drain", daemon=True)
        self.following = self._follow(follow)
        # Told after each write into the store, with the oldest event time it wrote when known (the alert engine).
        self.listeners: list[Callable[[int | None], None]] = []

    def start(self) -> None:
        self._appender.start()
        self._drain.start()

    # -- receiving --------------------------------------------------------------------------
    def backlog(self) -> int:
        """Spool bytes not yet in the store."""
        return self.durable - self.drained

    def full(self) -> bool:
        return self.backlog() >= self.high_water

    def queued(self) -> int:
        """Received bodies waiting for the spool's next fsync."""
        return self._appends.qsize()

    async def append(self, incoming: Incoming) -> int:
        """Durable in the spool once this returns (its position after)."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[int] = loop.create_future()
        self._appends.put((incoming, done, loop))
        end = await done
        self.counters.received[incoming.receiver] += 1
        self.counters.records[incoming.receiver] += incoming.records
        return end

    def _append_loop(self) -> None:
        while True:
            first = self._appends.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < APPEND_BATCH:
                try:
                    item = self._appends.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._appends.put(None)  # stop after this batch
                    break
                batch.append(item)
            try:
                end = self.spool.append([(i.header(), i.body) for i, _, _ in batch])
            except Exception as exc:  # the disk failed: no sender of this batch is acknowledged
                log.error("spool append failed: %s", exc)
                for _, done, loop in batch:
                    loop.call_soon_threadsafe(_fail, done, exc)
                continue
            with self._new_data:
                self.durable = end
                self._new_data.notify_all()
            for _, done, loop in batch:
                loop.call_soon_threadsafe(_resolve, done, end)

    # -- draining ---------------------------------------------------------------------------
    def _drain_loop(self) -> None:
        """The store's one writer: spool groups, and the files `serve --follow` tails, in turn."""
        self.store.own()
        follow = self.following
        ahead: deque[_Group] = deque()  # read from the spool, in order, not yet written
        read_to = self.drained
        while True:
            with self._new_data:
                if read_to >= self.durable and not ahead and not self._stopping.is_set():
                    self._new_data.wait(timeout=FOLLOW_POLL_SECONDS if follow else 1.0)
                stopping = self._stopping.is_set()
                until = self.durable
            try:
                while len(ahead) <= DRAIN_AHEAD and read_to < until and (group := self._read(read_to, until)):
                    ahead.append(group)
                    read_to = group.end
                if ahead:
                    self._write(ahead.popleft())
            except Exception:
                self.failing = True
                self.counters.drain_errors += 1
                log.exception("writing the spool into the store failed; retrying from position %d", self.drained)
                self.store.abandon()
                ahead.clear()
                read_to = self.drained
                if self.workers is not None:
                    self.workers.close()  # a worker that died broke the pool: the next group starts a new one
                time.sleep(1.0)
                continue
            if follow is not None and follow.round(time.monotonic(), flush=stopping and not ahead):
                self._stored(None)
            if stopping and self.drained >= self.durable and not ahead:
                if follow is not None:
                    follow.close()
                if self.workers is not None:
                    self.workers.close()
                return

    def _read(self, start: int, until: int) -> _Group | None:
        """The next group of spool entries from `start`, its normalizing under way."""
        entries = self.spool.read(start, until, GROUP_BYTES)
        if not entries:
            return None
        end = entries[-1].end
        for e in entries:
            if e.damaged is not None:
                self._damaged(e)
        entries = [e for e in entries if e.damaged is None]
        bodies = [
            Body(e.body, e.header["origin"], e.header.get("source"), e.header.get("cluster"), offset=e.body_position)
            for e in entries
        ]
        for e in entries:
            self.receivers.setdefault(e.header["origin"], e.header["receiver"])
        prepared = self.writer.prepare(bodies)
        if self.workers is None:
            results: Future[list[ChunkResult]] = Future()
            results.set_result(normalize(prepared.parts))
        else:
            results = self.workers.start().submit(normalize, prepared.parts)
        return _Group(prepared, results, end)

    def _damaged(self, e: Entry) -> None:
        """A damaged stretch of the spool, skipped: counted and reported once (a retried read of
        it finds it again), its bytes kept."""
        if e.position in self._damaged_seen:
            return
        self._damaged_seen.add(e.position)
        self.counters.spool_damaged_bytes += e.end - e.position
        log.error(
            "spool positions %d to %d are damaged (no intact entry): skipped, their %d bytes kept in %s",
            e.position, e.end, e.end - e.position, e.damaged,
        )  # fmt: skip

    def _write(self, group: _Group) -> None:
        results = group.results.result()
        started = time.perf_counter()
        result = self.writer.commit(group.prepared, results, Cursor(SPOOL_CURSOR, group.end))
        self.write_seconds_last = time.perf_counter() - started
        self.write_seconds.observe(self.write_seconds_last)
        self.drained = group.end
        self.failing = False
        self.spool.release(self.drained)
        c = self.counters
        c.stored.update(result.stored)
        for origin, n in result.duplicates_by_origin.items():
            c.duplicates[self.receivers.get(origin, origin)] += n
        c.quarantined.update(result.quarantined_by_source)
        for key, ns in result.newest.items():
            self.newest[key] = max(ns, self.newest.get(key, 0))
        log.info("stored a group of %d requests", len(group.prepared.bodies), extra={"fields": {
            "event": "stored", "requests": len(group.prepared.bodies), "spool_position": group.end,
            "stored": dict(result.stored), "duplicates": result.duplicates, "quarantined": result.quarantined,
            "seconds": round(self.write_seconds_last, 3), "backlog_bytes": self.backlog(),
        }})  # fmt: skip
        for warning in result.warnings:
            log.warning("%s", warning)
        self._stored(result.oldest)

    def _stored(self, oldest: int | None) -> None:
        for listener in self.listeners:
            listener(oldest)

    def _follow(self, paths: tuple[str, ...]) -> _Following | None:
        """The files to tail, opened now so that one that cannot be followed stops the start
        (FollowError), not the drain thread."""
        if not paths:
            return None
        from kubetrail.ingest.follow import FollowOptions, GroupWriter, tails

        options = FollowOptions(cluster=self.writer.cluster)
        inputs = tails(self.store, paths, options)
        for tail in inputs:
            log.info("following %s", tail.describe())
        return _Following(inputs, GroupWriter(self.store, options, lambda message: log.warning("%s", message)))

    # -- stopping ---------------------------------------------------------------------------
    def stop(self) -> None:
        """After the server stopped taking requests: finish the appends, drain everything, stop."""
        self._appends.put(None)
        self._appender.join()
        self._stopping.set()
        with self._new_data:
            self._new_data.notify_all()
        self._drain.join()
        self.spool.close()


@dataclass(frozen=True, slots=True)
class _Group:
    """Spool entries up to `end`, prepared, their normalized results to come."""

    prepared: Prepared
    results: Future[list[ChunkResult]]
    end: int


def _resolve(done: asyncio.Future[int], end: int) -> None:
    if not done.done():
        done.set_result(end)


def _fail(done: asyncio.Future[int], exc: BaseException) -> None:
    if not done.done():
        done.set_exception(exc)
