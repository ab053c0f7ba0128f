"""What every writer of the simulator needs about time: fast timestamps, sorted random times
drawn one by one, and lines made out of order released in time order."""

from __future__ import annotations

import heapq
import random
import time
from functools import lru_cache

from kubetrail.simulate.cluster import NS


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
