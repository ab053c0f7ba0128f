"""The statistical detectors' settings, from the `detectors:` section of the rule files: their
logic and the escalation of incidents stay in the engine (correlate/, answers/incidents.py); what
a team tunes is here: each detector's severity, its parameters, and what it leaves alone.

The defaults are here; a rule file sets only what it names, detector by detector and key by key
(an `allow` as a whole)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from typing import Any, Final

NS: Final = 1_000_000_000
_UNITS: Final = {"s": 1, "m": 60, "h": 3600}
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Allow:
    """What a detector leaves alone: destinations by name (wildcards: `*.s3.amazonaws.com`) or
    address range, programs by path (wildcards: `/usr/local/bin/*`)."""

    destinations: tuple[str, ...] = ()
    cidrs: tuple[Network, ...] = ()
    binaries: tuple[str, ...] = ()

    def destination(self, ip: str | None, names: Iterable[str]) -> bool:
        if ip is not None and self.cidrs:
            try:
                address = ipaddress.ip_address(ip)
            except ValueError:
                address = None
            if address is not None and any(address in net for net in self.cidrs):
                return True
        return any(fnmatchcase(n, pattern) for n in names for pattern in self.destinations)

    def binary(self, path: str | None) -> bool:
        return path is not None and any(fnmatchcase(path, pattern) for pattern in self.binaries)


@dataclass(frozen=True, slots=True)
class SteadyChannel:
    """A steady channel: so many connections or more, over at least so long, their gaps varying by
    at most this share of their mean. Traffic that follows users or queues is far more irregular
    (gaps of random arrivals vary by as much as their mean); timers, cron jobs and sleep loops
    vary by a few percent, and a beacon's usual jitter of up to ±20 % by about a tenth."""

    severity: str = "high"
    min_connections: int = 6
    min_span_ns: int = 30 * 60 * NS
    max_cv: float = 0.25
    allow: Allow = Allow()


@dataclass(frozen=True, slots=True)
class Detector:
    severity: str
    allow: Allow = Allow()


@dataclass(frozen=True, slots=True)
class RuntimeAlerts:
    routine_in_window: int = 10  # the same sensor rule on the same workload this often in a window is its routine


@dataclass(frozen=True, slots=True)
class Baselines:
    """What "normal" needs before it is judged, for every baseline (an account's calls, a
    workload's programs and destinations): with less history only the rules decide."""

    min_history_ns: int = 86400 * NS
    min_events: int = 50

    def enough(self, first: int, last: int, events: int) -> bool:
        return last - first >= self.min_history_ns and events >= self.min_events

    def wanted(self, what: str) -> str:
        """'under 24 h or 50 processes'."""
        return f"under {self.min_history_ns / 3600 / NS:g} h or {self.min_events} {what}"


@dataclass(frozen=True, slots=True)
class Detectors:
    steady_channel: SteadyChannel = SteadyChannel()
    new_destination: Detector = Detector("medium")
    unexpected_process: Detector = Detector("medium")
    stolen_token: Detector = Detector("high")
    runtime_alerts: RuntimeAlerts = field(default_factory=RuntimeAlerts)
    baselines: Baselines = Baselines()


def merged(base: Detectors, section: Mapping[str, Any], where: str) -> Detectors:
    """`base` with what `section` (a file's `detectors:`, checked by the schema) sets."""
    out = base
    for name, given in section.items():
        current = getattr(out, name)
        values: dict[str, Any] = {}
        for key, value in given.items():
            if key == "allow":
                values["allow"] = _allow(value, f"{where}: {name}.allow")
            elif key in ("min_span", "min_history"):
                values[f"{key}_ns"] = int(value[:-1]) * _UNITS[value[-1]] * NS
            else:
                values[key] = value
        out = replace(out, **{name: replace(current, **values)})
    return out


def _allow(given: Mapping[str, Any], where: str) -> Allow:
    from kubetrail.rules import RuleError

    try:
        cidrs = tuple(ipaddress.ip_network(c, strict=False) for c in given.get("cidrs", ()))
    except ValueError as exc:
        raise RuleError(f"{where}: {exc}") from exc
    return Allow(tuple(given.get("destinations", ())), cidrs, tuple(given.get("binaries", ())))
