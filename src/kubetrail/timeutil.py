"""Times: RFC 3339 text and epoch numbers to int nanoseconds UTC, and back."""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from functools import lru_cache

NS = 1_000_000_000

_RFC3339 = re.compile(r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9})\d*)?([Zz]|[+-]\d{2}:?\d{2})?\Z")


class TimeError(ValueError):
    """A time value that cannot be read."""


_SCALE: tuple[int, ...] = tuple(10 ** (9 - n) for n in range(10))  # fraction digits -> ns multiplier
NS_LIMIT = 1 << 63  # times are stored as int64 ns: until 2262-04-11


def parse_rfc3339(text: str) -> int:
    """'2026-11-28T10:15:02.123456789Z' -> ns since the epoch (UTC). A missing zone means UTC.

    The common form (UTC, 'Z', a fraction) takes a fast path: whole seconds repeat from one
    event to the next, so they are parsed once and cached."""
    fraction = text[20:-1]
    if text[19:20] == "." and text[-1:] == "Z" and 0 < len(fraction) <= 9 and fraction.isascii() and fraction.isdigit():
        ns = _whole_seconds(text[:19]) + int(fraction) * _SCALE[len(fraction)]
    else:
        ns = _parse_general(text)
    if not 0 <= ns < NS_LIMIT:
        raise TimeError(f"time outside 1970..2262: {text!r}")
    return ns


@lru_cache(maxsize=4096)
def _whole_seconds(prefix: str) -> int:
    return _parse_general(prefix + "Z")


def _parse_general(text: str) -> int:
    m = _RFC3339.match(text)
    if m is None:
        raise TimeError(f"not an RFC 3339 time: {text!r}")
    year, mon, day, hh, mm, ss, frac, zone = m.groups()
    secs = _epoch_seconds(int(year), int(mon), int(day), int(hh), int(mm), int(ss))
    if zone and zone not in "Zz":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        secs -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    nanos = int(frac.ljust(9, "0")) if frac else 0
    return secs * NS + nanos


@lru_cache(maxsize=4096)
def _epoch_seconds(year: int, mon: int, day: int, hh: int, mm: int, ss: int) -> int:
    if not (1 <= mon <= 12 and 1 <= day <= 31 and hh < 24 and mm < 60 and ss <= 60):
        raise TimeError(f"time out of range: {year:04d}-{mon:02d}-{day:02d}T{hh:02d}:{mm:02d}:{ss:02d}")
    return calendar.timegm((year, mon, day, hh, mm, ss, 0, 0, 0))


def epoch_to_ns(value: int | float | str) -> int:
    """An epoch number in s, ms, µs or ns, its unit read from its magnitude (Falco `evt.time`)."""
    n = int(value)
    if n <= 0:
        raise TimeError(f"not an epoch time: {value!r}")
    digits = len(str(n))
    if digits <= 11:
        return n * NS
    if digits <= 14:
        return n * 1_000_000
    if digits <= 17:
        return n * 1_000
    if digits <= 20:
        return n
    raise TimeError(f"epoch time too large: {value!r}")


def format_ns(ns: int) -> str:
    """ns since the epoch -> RFC 3339 UTC with nine fractional digits (the contract's form)."""
    secs, frac = divmod(ns, NS)
    y, mo, d, h, mi, s = _gmtime(secs)
    return f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}.{frac:09d}Z"


def _gmtime(secs: int) -> tuple[int, int, int, int, int, int]:
    import time

    t = time.gmtime(secs)
    return t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec


def parse_at(text: str, now_ns: int, latest: Callable[[], int | None]) -> int:
    """The `--at` flag: 'now', 'latest' (the newest stored event) or an RFC 3339 time."""
    if text == "now":
        return now_ns
    if text == "latest":
        newest = latest()
        if newest is None:
            raise TimeError("--at latest: the store holds no events yet")
        return newest
    try:
        return parse_rfc3339(text)
    except TimeError:
        raise TimeError(f"--at {text!r}: give an RFC 3339 time (2026-11-28T10:15:02Z), 'now' or 'latest'") from None
