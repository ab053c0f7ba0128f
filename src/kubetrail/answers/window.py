"""Time windows and the answer envelope, as CONTRACT.md defines them for every question.

A window is `[since, until)`. `--until` defaults to `--at`; `--at` defaults to now and `latest`
means the newest stored event. `--since`/`--until` take a duration counted back from `--at`
(`90s`, `15m`, `1h`, `7d`) or an RFC 3339 time.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import islice
from typing import Any, Final, TypeVar

from kubetrail.timeutil import NS, TimeError, format_ns, parse_at, parse_rfc3339

_DURATION: Final = re.compile(r"(\d+)([smhd])")
_UNIT_NS: Final = {"s": NS, "m": 60 * NS, "h": 3600 * NS, "d": 86400 * NS}
DEFAULT_LIMIT: Final = 1000
MAX_EVIDENCE: Final = 20  # evidence lists at most this many ids, most relevant first (also in the rollups: 0010 and its queries)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Window:
    since: int
    until: int

    def as_json(self) -> dict[str, str]:
        return {"since": format_ns(self.since), "until": format_ns(self.until)}


def window(since: str, until: str | None, at: str, now_ns: int, latest: Callable[[], int | None]) -> Window:
    """Resolve the time flags; raises TimeError with what to do."""
    anchor = parse_at(at, now_ns, latest)
    end = anchor if until is None else _point(until, anchor, "--until")
    start = _point(since, anchor, "--since")
    if start >= end:
        raise TimeError(f"--since ({format_ns(start)}) must be before --until ({format_ns(end)})")
    return Window(start, end)


def parse_duration(text: str) -> int | None:
    """'90s', '15m', '1h', '7d' -> ns; None when `text` is not a duration."""
    m = _DURATION.fullmatch(text)
    return int(m.group(1)) * _UNIT_NS[m.group(2)] if m else None


def _point(text: str, anchor: int, flag: str) -> int:
    duration = parse_duration(text)
    if duration is not None:
        return anchor - duration
    try:
        return parse_rfc3339(text)
    except TimeError:
        raise TimeError(f"{flag} {text!r}: give a duration (90s, 15m, 1h, 7d) or an RFC 3339 time") from None


def page(rows: Iterable[T], limit: int, cursor: str | None) -> tuple[list[T], str | None]:
    """Rows of one page and the cursor of the next (None at the end); reads no further into
    `rows` than the page needs. Raises ValueError for a cursor this answer did not give."""
    start = offset(cursor)
    chunk = list(islice(rows, start, start + limit + 1))
    more = len(chunk) > limit
    return chunk[:limit], (cursor_at(start + limit) if more else None)


def cursor_at(offset: int) -> str:
    """The cursor of the page that starts after `offset` rows."""
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def offset(cursor: str | None) -> int:
    """Rows before the page a cursor points at."""
    if cursor is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, value = text.split(":", 1)
        if kind != "o" or not value.isdigit():
            raise ValueError(text)
        return int(value)
    except (ValueError, UnicodeDecodeError):
        raise ValueError(f"--cursor {cursor!r} is not a cursor this command gave: pass the 'next' of the previous page") from None


def envelope(win: Window, rows: Iterable[Any], gaps: list[str], limit: int, cursor: str | None) -> dict[str, Any]:
    chunk, nxt = page(rows, limit, cursor)
    return {"window": win.as_json(), "rows": chunk, "gaps": gaps, "truncated": nxt is not None, "next": nxt}
