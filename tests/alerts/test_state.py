"""What to tell of incidents found again and again (alerts/state.py): one notice per incident and
per escalation, resolved once quiet, the id it was first told by kept."""

from __future__ import annotations

from typing import Any

from kubetrail.alerts.state import Told, diff
from kubetrail.timeutil import NS

QUIET = 900 * NS
T0 = 1_800_000_000 * NS


def row(incident: str, severity: str, *steps: tuple[str, str]) -> dict[str, Any]:
    """An incidents -o json row with steps (id, time)."""
    return {
        "id": incident, "title": f"incident {incident}", "severity": severity, "start": steps[0][1], "end": steps[-1][1],
        "clusters": ["prod"], "pods": ["shop/cart-1"], "actors": [], "destinations": [], "techniques": [],
        "steps": [{"time": t, "source": "falco", "kind": "runtime_alert", "summary": s, "id": s} for s, t in steps],
    }  # fmt: skip


A = ("a", "2026-11-28T10:00:00Z")
B = ("b", "2026-11-28T10:01:00Z")
C = ("c", "2026-11-28T10:02:00Z")
EARLIER = ("z", "2026-11-28T09:59:00Z")


def told_after(*looks: list[dict[str, Any]], now: int = T0) -> dict[str, Told]:
    state: dict[str, Told] = {}
    for rows in looks:
        state = diff(state, rows, now, QUIET, refresh=False).told
    return state


def test_a_new_incident_fires_once() -> None:
    first = diff({}, [row("i1", "high", A)], T0, QUIET, refresh=False)
    assert [(n.kind, n.incident_id, n.severity) for n in first.notices] == [("firing", "i1", "high")]
    again = diff(first.told, [row("i1", "high", A)], T0 + NS, QUIET, refresh=False)
    assert again.notices == [] and again.changed == []


def test_new_signals_of_the_same_severity_update_it_without_a_notice() -> None:
    state = told_after([row("i1", "high", A)])
    grown = diff(state, [row("i1", "high", A, B)], T0 + 10 * NS, QUIET, refresh=False)
    assert grown.notices == []
    (saved,) = grown.changed
    assert (saved.steps, saved.changed_at, saved.told_at) == (2, T0 + 10 * NS, T0)


def test_a_higher_severity_escalates_from_the_one_told() -> None:
    state = told_after([row("i1", "high", A)])
    up = diff(state, [row("i1", "critical", A, B)], T0 + NS, QUIET, refresh=False)
    (notice,) = up.notices
    assert (notice.kind, notice.previous, notice.severity, notice.starts_at) == ("escalated", "high", "critical", T0)


def test_a_lower_severity_found_later_is_the_window_losing_signals_not_a_change() -> None:
    state = told_after([row("i1", "critical", A, B)])
    later = diff(state, [row("i1", "medium", A, B, C)], T0 + NS, QUIET, refresh=False)
    assert later.notices == []
    assert later.told["i1"].severity == "critical" and later.told["i1"].row["severity"] == "critical"


def test_quiet_for_the_quiet_period_resolves_and_new_signals_fire_it_again() -> None:
    state = told_after([row("i1", "high", A)])
    assert diff(state, [row("i1", "high", A)], T0 + QUIET - 1, QUIET, refresh=False).notices == []
    quiet = diff(state, [row("i1", "high", A)], T0 + QUIET, QUIET, refresh=False)
    (resolved,) = quiet.notices
    assert (resolved.kind, resolved.ends_at, quiet.told["i1"].active) == ("resolved", T0 + QUIET, False)
    same = diff(quiet.told, [row("i1", "high", A)], T0 + QUIET + NS, QUIET, refresh=False)
    assert same.notices == []
    back = diff(quiet.told, [row("i1", "high", A, B)], T0 + QUIET + NS, QUIET, refresh=False)
    assert [n.kind for n in back.notices] == ["firing"]


def test_an_earlier_signal_that_changes_the_id_keeps_the_id_told() -> None:
    # The id derives from the earliest signal: one that arrives late (or the window losing the
    # first) gives the same incident a new id; its signals told before name the one told.
    state = told_after([row("i1", "high", A, B)])
    moved = diff(state, [row("i0", "critical", EARLIER, A, B)], T0 + NS, QUIET, refresh=False)
    (notice,) = moved.notices
    assert (notice.kind, notice.incident_id, notice.previous) == ("escalated", "i1", "high")
    assert set(moved.told) == {"i1"}


def test_a_refresh_repeats_the_active_incidents_only() -> None:
    state = told_after([row("i1", "high", A), row("i2", "medium", C)])
    state = diff(state, [row("i2", "medium", C)], T0 + QUIET, QUIET, refresh=False).told  # i1 and i2 quiet since T0
    state = told_after([row("i3", "high", B)]) | state
    refreshed = diff(state, [], T0 + NS, QUIET, refresh=True).refresh
    assert [(n.kind, n.incident_id) for n in refreshed] == [("refresh", "i3")]


def test_the_cluster_and_pod_first_told_stay_first_as_the_incident_grows() -> None:
    state = told_after([row("i1", "high", A)])
    grown = {**row("i1", "critical", A, B), "pods": ["admin/aaa-1", "shop/cart-1"], "clusters": ["a-cluster", "prod"]}
    (notice,) = diff(state, [grown], T0 + NS, QUIET, refresh=False).notices
    assert notice.incident["pods"] == ["shop/cart-1", "admin/aaa-1"] and notice.incident["clusters"] == ["prod", "a-cluster"]
