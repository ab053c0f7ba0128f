"""The receiving core: request bodies appended to the spool in group commits (one fsync for all
the requests waiting), and one drain thread writing them into the store with the spool position
they reached, in one transaction per group.

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
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from kubetrail.ingest.live import Body, LiveWriter
from kubetrail.serve.spool import Spool
from kubetrail.store import Cursor
from kubetrail.store.duckdb import DuckDBStore

if TYPE_CHECKING:
    from kubetrail.ingest.follow import GroupWriter, Tail

log = logging.getLogger("kubetrail.serve")

SPOOL_CURSOR: Final = "spool"
GROUP_BYTES: Final = 8 << 20  # spool bytes per store write
APPEND_BATCH: Final = 512  # entries per fsync at most
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
    duplicates: int = 0
    quarantined: int = 0
    drain_errors: int = 0
    rejected: Counter[str] = field(default_factory=Counter)  # by reason: too_large, unreadable, backpressure, ...


@dataclass
class _Following:
    """Export files `serve --follow` tails: polled by the drain thread, written as they come."""

    tails: list[Tail]
    writer: GroupWriter

    def round(self, now: float, *, flush: bool) -> None:
        self.writer.round(self.tails, now, flush=flush)
        if flush:
            self.writer.flush()

    def close(self) -> None:
        for tail in self.tails:
            close = getattr(tail, "close", None)
            if close is not None:
                close()


class Core:
    """The spool, its appender thread and the drain thread, around one store."""

    def __init__(
        self, store: DuckDBStore, spool: Spool, *, cluster: str | None = None, high_water: int = 1 << 30,
        follow: tuple[str, ...] = (),
    ) -> None:  # fmt: skip
        self.store, self.spool = store, spool
        self.high_water = high_water
        self.counters = Counters()
        self.writer = LiveWriter(store, cluster)
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

    def start(self) -> None:
        self._appender.start()
        self._drain.start()

    # -- receiving --------------------------------------------------------------------------
    def backlog(self) -> int:
        """Spool bytes not yet in the store."""
        return self.durable - self.drained

    def full(self) -> bool:
        return self.backlog() >= self.high_water

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
        while True:
            with self._new_data:
                if self.drained >= self.durable and not self._stopping.is_set():
                    self._new_data.wait(timeout=FOLLOW_POLL_SECONDS if follow else 1.0)
                stopping = self._stopping.is_set()
                until = self.durable
            if until > self.drained:
                try:
                    self.drain_once(until)
                except Exception:
                    self.counters.drain_errors += 1
                    log.exception("writing the spool into the store failed; retrying from position %d", self.drained)
                    time.sleep(1.0)
                    continue
            if follow is not None:
                follow.round(time.monotonic(), flush=stopping)
            if stopping and self.drained >= self.durable:
                if follow is not None:
                    follow.close()
                return

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

    def drain_once(self, until: int) -> None:
        entries = self.spool.read(self.drained, until, GROUP_BYTES)
        if not entries:
            return
        bodies = [
            Body(e.body, e.header["origin"], e.header.get("source"), e.header.get("cluster"), offset=e.body_position)
            for e in entries
        ]
        result = self.writer.write(bodies, Cursor(SPOOL_CURSOR, entries[-1].end))
        self.drained = entries[-1].end
        self.spool.release(self.drained)
        c = self.counters
        c.stored.update(result.stored)
        c.duplicates += result.duplicates
        c.quarantined += result.quarantined
        for warning in result.warnings:
            log.warning("%s", warning)

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


def _resolve(done: asyncio.Future[int], end: int) -> None:
    if not done.done():
        done.set_result(end)


def _fail(done: asyncio.Future[int], exc: BaseException) -> None:
    if not done.done():
        done.set_exception(exc)
