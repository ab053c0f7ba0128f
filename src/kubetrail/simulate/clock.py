"""What every writer of the simulator needs about time: fast timestamps, sorted random times
drawn one by one, lines made out of order released in time order, and the order in which an
export that merges several nodes' sensors delivers their lines (`Delivery`)."""

from __future__ import annotations

import heapq
import random
import time
from functools import lru_cache
from typing import Final

from kubetrail.simulate.cluster import MAX_CLOCK_OFFSET_NS, NS

MS: Final = 1_000_000
LATE_SHARE: Final = 0.03  # of a merged export's lines, those delivered late
MAX_LATE_NS: Final = 300 * MS  # by at most this much


@lru_cache(maxsize=1 << 14)
def second(secs: int) -> str:
    """'2026-11-28T10:15:02' for whole seconds since the epoch (cached: they repeat)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))


def rfc3339_ns(ns: int) -> str:
    """RFC 3339 in UTC with nine fractional digits, as Go's protojson, Hubble and Falco write it."""
    return "%s.%09dZ" % (second(ns // NS), ns % NS)  # noqa: UP031 (faster than an f-string here)


class Times:
    """`count` sorted uniform times in [start, end), drawn one by one (no list of them is kept)."""

    def __init__(self, rng: random.Random, start: int, end: int, count: int) -> None:
        self.rng, self.start, self.span = rng, start, end - start
        self.left, self.x, self.next = max(count, 0), 0.0, start
        if self.left:
            self._draw()

    def peek(self) -> int:
        return self.next

    def take(self, lines: int) -> int:
        """The next time, for something of `lines` lines; each line uses one of the `count`."""
        t, self.left = self.next, self.left - lines
        if self.left > 0:
            self._draw()
        return t

    def _draw(self) -> None:
        # the minimum of `left` uniforms on [x, 1): order statistics drawn in sequence
        self.x = 1.0 - (1.0 - self.x) * (1.0 - self.rng.random()) ** (1.0 / self.left)
        self.next = self.start + min(int(self.x * self.span), self.span - 1)


class TimeOrdered:
    """Lines made out of time order (a request's last stage, a reply), released in time order;
    lines of the same time in the order they were made."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, bytes]] = []
        self.made = 0

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, t: int, line: bytes) -> None:
        heapq.heappush(self._heap, (t, self.made, line))
        self.made += 1

    def due(self, until: int | None, limit: int | None = None) -> list[bytes]:
        """The lines of time `until` or before (all when None), at most `limit` of them."""
        heap, out = self._heap, list[bytes]()
        while heap and (until is None or heap[0][0] <= until) and (limit is None or len(out) < limit):
            out.append(heapq.heappop(heap)[2])
        return out

    def due_timed(self, until: int | None) -> list[tuple[int, bytes]]:
        """Like `due`, each line with its time."""
        heap, out = self._heap, list[tuple[int, bytes]]()
        while heap and (until is None or heap[0][0] <= until):
            t, _, line = heapq.heappop(heap)
            out.append((t, line))
        return out


class Delivery:
    """The lines of an export merged from several nodes' sensors, in the order it delivers them:
    by the time printed on them (each node's clock), except that a share `late` of them arrive up
    to `MAX_LATE_NS` late, and a share `twice` arrive a second time, the same bytes, up to
    `MAX_LATE_NS` after their time. So a line's printed time is never more than `MAX_LATE_NS`
    before one delivered earlier. `rng` draws only the delivery, so it changes no line.
    """

    def __init__(self, rng: random.Random, *, late: float = LATE_SHARE, twice: float = 0.0) -> None:
        self.rng, self.late, self.twice = rng, late, twice
        self.order = TimeOrdered()

    def __len__(self) -> int:
        return len(self.order)

    @property
    def made(self) -> int:
        """Lines pushed, those delivered twice counted twice."""
        return self.order.made

    def push(self, stamp: int, line: bytes) -> None:
        """A line whose printed time is `stamp`, made at a true time within a node's clock offset of it."""
        rng = self.rng
        self.order.push(stamp + int(rng.random() * MAX_LATE_NS) if rng.random() < self.late else stamp, line)
        if self.twice and rng.random() < self.twice:
            self.order.push(stamp + int(rng.random() * MAX_LATE_NS), line)

    def due(self, until: int | None, limit: int | None = None) -> list[bytes]:
        """The lines delivered by true time `until` (all when None), at most `limit` of them: a line
        made from `until` on is stamped after every one of them, whatever its node's clock."""
        return self.order.due(None if until is None else until - MAX_CLOCK_OFFSET_NS, limit)
