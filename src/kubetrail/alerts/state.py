"""What kubetrail last told of each incident, and the changes to tell now (pure: no I/O).

`diff` compares the incidents found in the latest window with what was told before:
- a new incident (or one that went quiet and has new signals since) fires;
- a known active one whose severity rose escalates (severities only rise: an incident's signals
  stay, so a lower severity found later is the window having lost its oldest signals);
- an active one with no new signal for the quiet period resolves;
- the active ones are refreshed every refresh period, for outputs that forget (Alertmanager).
An incident keeps the id it was first told by (`_as_told`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from kubetrail.alerts import Notice
from kubetrail.correlate.incidents import SEVERITIES
from kubetrail.timeutil import parse_rfc3339


@dataclass(frozen=True, slots=True)
class Told:
    """One incident as last told (a row of the store's `alert_incidents`)."""

    id: str
    severity: str
    active: bool
    told_at: int  # wall ns: when it first fired
    changed_at: int  # wall ns: when a new signal or an escalation was last seen
    start: int  # data ns: its first signal
    end: int  # data ns: its latest signal
    steps: int
    row: Mapping[str, Any]  # its latest `incidents -o json` row


@dataclass(frozen=True, slots=True)
class Change:
    """What to store and what to tell after one look at the incidents."""

    told: dict[str, Told]  # every incident's state after this look
    changed: list[Told]  # the states to save
    notices: list[Notice]  # to tell (firing, escalated, resolved), in order
    refresh: list[Notice]  # the active ones again, when a refresh is due (not stored)


def diff(told: Mapping[str, Told], rows: Iterable[Mapping[str, Any]], now: int, quiet_ns: int, refresh: bool) -> Change:
    state = dict(told)
    changed: list[Told] = []
    notices: list[Notice] = []
    known = {step["id"]: t.id for t in state.values() for step in t.row["steps"]}
    for found in rows:
        row = _as_told(found, state, known)
        before = state.get(row["id"])
        after, notice = _look(before, row, now)
        if after != before:
            state[after.id] = after
            changed.append(after)
        if notice is not None:
            notices.append(notice)
    for t in list(state.values()):
        if t.active and now - t.changed_at >= quiet_ns:
            ended = replace(t, active=False)
            state[t.id] = ended
            changed.append(ended)
            notices.append(Notice("resolved", t.row, t.severity, t.told_at, ends_at=now))
    active = [t for t in state.values() if t.active]
    refreshed = [Notice("refresh", t.row, t.severity, t.told_at) for t in active] if refresh else []
    return Change(state, changed, notices, refreshed)


def _as_told(row: Mapping[str, Any], state: Mapping[str, Told], known: Mapping[str, str]) -> Mapping[str, Any]:
    """An incident under the id it was told by: its id derives from its earliest signal in the
    window, so once that signal left the window the rest of it comes under a new id; a signal
    told before names the incident it was part of."""
    if row["id"] in state:
        return row
    for step in row["steps"]:
        told = known.get(step["id"])
        if told is not None:
            return {**row, "id": told}
    return row


def _look(before: Told | None, row: Mapping[str, Any], now: int) -> tuple[Told, Notice | None]:
    """An incident found now, against what was told of it."""
    start, end, steps = parse_rfc3339(row["start"]), parse_rfc3339(row["end"]), len(row["steps"])
    severity = row["severity"]
    if before is None:
        t = Told(row["id"], severity, True, now, now, start, end, steps, row)
        return t, Notice("firing", row, severity, now)
    grew = end > before.end or (end == before.end and steps > before.steps)
    if not before.active:
        if not grew:  # the same signals as when it went quiet
            return before, None
        t = Told(row["id"], severity, True, now, now, min(start, before.start), end, steps, row)
        return t, Notice("firing", row, severity, now)
    row = _as_before(row, before)
    rose = SEVERITIES.index(severity) > SEVERITIES.index(before.severity)
    if rose:
        t = replace(before, severity=severity, changed_at=now, end=max(end, before.end), steps=steps, row=row)
        return t, Notice("escalated", row, severity, before.told_at, previous=before.severity)
    if grew:
        return replace(before, changed_at=now, end=end, steps=steps, row=row), None
    return before, None


def _as_before(row: Mapping[str, Any], before: Told) -> Mapping[str, Any]:
    """A row found again, told as before where an output keys on it: the cluster and pod first
    told stay first (Alertmanager's labels name the first of each, and an alert is its labels), and
    a lower severity (the window having lost signals) does not stand for the one told."""
    out = dict(row)
    for key in ("clusters", "pods"):
        first = before.row[key][:1]
        if first and first[0] in row[key]:
            out[key] = [*first, *(v for v in row[key] if v != first[0])]
    if SEVERITIES.index(row["severity"]) < SEVERITIES.index(before.severity):
        out["severity"] = before.severity
    return out
