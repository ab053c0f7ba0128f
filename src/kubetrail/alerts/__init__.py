"""Alerts: incidents told to the tools the team watches, as they happen.

The engine (`alerts/engine.py`) re-runs `incidents` over the latest events as `serve` stores them,
compares each incident with what it last told, and hands the changes (`Notice`s) to each output
(`alerts/outputs.py`) that wants them: one notice per incident and per escalation, a refresh of the
active ones for outputs that forget (Alertmanager), one when an incident goes quiet. What was told
lives in the store, so a restart does not page again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, Protocol

from kubetrail.correlate.incidents import SEVERITIES

NoticeKind = Literal["firing", "escalated", "refresh", "resolved"]
NOTICE_KINDS: Final = ("firing", "escalated", "refresh", "resolved")


@dataclass(frozen=True)
class AlertSettings:
    """serve's `alerts:` section (outputs are configured beside it)."""

    link_base: str | None = None  # the web UI's base URL: a notice links to {link_base}/incidents/{id}
    window_seconds: int = 3600  # incidents are looked for in the latest hour of events ...
    horizon_seconds: int = 86400  # ... and back to late events (a sensor behind the others), up to this
    quiet_seconds: int = 900  # an incident with no new signal for this long is resolved
    refresh_seconds: int = 60  # active incidents are sent again this often (Alertmanager forgets in 5 min)
    eval_seconds: float = 1.0  # a look at the incidents at most this often


class OutputError(Exception):
    """An output could not deliver (its endpoint refused, timed out, or is down): retried later."""


@dataclass(frozen=True, slots=True)
class Notice:
    """One thing to tell about one incident.

    - firing: a new incident (of at least the output's minimum severity);
    - escalated: its severity rose (from `previous`): an output that keys alerts by severity
      resolves the old one as the new one fires;
    - refresh: still active, told again (Alertmanager resolves an alert that is not re-sent);
    - resolved: it went quiet (no new signal for the engine's quiet period): `ends_at` is set.
    """

    kind: NoticeKind
    incident: Mapping[str, Any]  # the incident's row of `incidents -o json` (contract/incidents.schema.json)
    severity: str  # its severity now (low, medium, high, critical)
    starts_at: int  # ns since the epoch: when kubetrail first told of it
    previous: str | None = None  # escalated: the severity it had
    ends_at: int | None = None  # resolved: when it went quiet (ns since the epoch)
    link: str | None = None  # the incident in the web UI, when its base URL is configured

    @property
    def incident_id(self) -> str:
        return str(self.incident["id"])


@dataclass(frozen=True)
class OutputConfig:
    """One output from serve's YAML `alerts.outputs` list. Secrets (a Slack webhook URL, an HMAC
    key, a bearer token) are read from files, never written in the YAML itself."""

    type: Literal["alertmanager", "slack", "webhook"]
    name: str  # unique among the outputs; in logs and metrics
    url: str | None = None  # alertmanager: its base URL (http://host:9093); webhook: the URL to POST to
    url_file: str | None = None  # slack: a file holding the incoming-webhook URL (it is the secret)
    secret_file: str | None = None  # webhook: the HMAC-SHA256 key; alertmanager: an optional bearer token
    min_severity: str = "medium"
    clusters: tuple[str, ...] = ()  # only incidents of these clusters (empty: all)
    namespaces: tuple[str, ...] = ()  # only incidents touching a pod of these namespaces (empty: all)
    timeout_seconds: float = 10.0

    def wants(self, notice: Notice) -> bool:
        """Whether this output is told of the notice (severity, cluster and namespace filters).
        Severities only rise, so an output told of an incident is told of its end too."""
        if SEVERITIES.index(notice.severity) < SEVERITIES.index(self.min_severity):
            return False
        if self.clusters and not set(self.clusters) & set(notice.incident.get("clusters", ())):
            return False
        pods: Sequence[str] = notice.incident.get("pods", ())
        return not self.namespaces or any(p.split("/", 1)[0] in self.namespaces for p in pods)


class Output(Protocol):
    """Delivers notices to one destination. `send` is called from the output's own thread, with
    the notices in the order they happened; it raises OutputError when they were not delivered
    (all of them are then sent again, with backoff). It must not block longer than its timeout."""

    config: OutputConfig

    def send(self, notices: Sequence[Notice]) -> None: ...

    def close(self) -> None: ...
