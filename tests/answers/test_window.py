"""The time flags and pages of every answer (CONTRACT.md, 'Time' and 'Answers')."""

from __future__ import annotations

import pytest

from kubetrail.answers.window import page, window
from kubetrail.timeutil import NS, TimeError, parse_rfc3339

NOW = parse_rfc3339("2026-11-28T12:00:00Z")
LATEST = parse_rfc3339("2026-11-28T09:00:00Z")


def win(since: str, until: str | None = None, at: str = "now") -> tuple[int, int]:
    w = window(since, until, at, NOW, lambda: LATEST)
    return w.since, w.until


def test_durations_count_back_from_at_and_until_defaults_to_at() -> None:
    assert win("1h") == (NOW - 3600 * NS, NOW)
    assert win("90s", "30s") == (NOW - 90 * NS, NOW - 30 * NS)
    assert win("7d", at="latest") == (LATEST - 7 * 86400 * NS, LATEST)
    assert win("15m", at="2026-11-28T10:00:00Z") == (parse_rfc3339("2026-11-28T09:45:00Z"), parse_rfc3339("2026-11-28T10:00:00Z"))


def test_rfc3339_bounds_are_taken_as_given() -> None:
    assert win("2026-11-28T08:00:00Z", "2026-11-28T08:30:00Z") == (
        parse_rfc3339("2026-11-28T08:00:00Z"),
        parse_rfc3339("2026-11-28T08:30:00Z"),
    )


def test_malformed_or_empty_windows_are_errors_that_say_what_to_give() -> None:
    for args in (("yesterday",), ("1h", "2h"), ("1w",), ("1h", None, "soon")):
        with pytest.raises(TimeError, match=r"give|before"):
            win(*args)  # type: ignore[arg-type]
    with pytest.raises(TimeError, match="no events"):
        window("1h", None, "latest", NOW, lambda: None)


def test_pages_and_cursors() -> None:
    rows = list(range(5))
    first, nxt = page(rows, 2, None)
    second, nxt2 = page(rows, 2, nxt)
    last, end = page(rows, 2, nxt2)
    assert (first, second, last, end) == ([0, 1], [2, 3], [4], None)
    with pytest.raises(ValueError, match="not a cursor"):
        page(rows, 2, "bogus")
