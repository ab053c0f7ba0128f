"""The alert outputs: Alertmanager v2, a Slack incoming webhook and a signed JSON webhook.

`build(config)` makes the output a config names (the `OUTPUTS` registry, keyed by `type`) and
reads its secrets from their files then, once: a missing or empty file is a config error at
start, not a failed page at 3 a.m. Secrets are never logged nor put in an exception's text (the
Slack URL is the secret; httpx logs request URLs at INFO, so they are redacted there too).

Each output's `send` is called from its own courier thread (alerts/engine.py) and raises
`DeliveryError` (an `OutputError`) when its endpoint refused or could not be reached; the
courier then sends the whole batch again after a backoff, or after `retry_after` seconds when
the endpoint said so (HTTP 429/503 `Retry-After`). Outputs that POST once per notice remember
the notices already delivered, so a batch that failed half-way does not post its first half twice.

Webhook signature. Each POST carries
    X-Kubetrail-Timestamp: <unix seconds when it was sent>
    X-Kubetrail-Signature: sha256=<hex HMAC-SHA256(key, timestamp + "." + body)>
where key is the content of `secret_file` (surrounding whitespace stripped) and body the exact
bytes received (as Stripe and Slack sign). To verify: recompute the HMAC over
`f"{timestamp}.".encode() + raw_body`, compare with `hmac.compare_digest`, and refuse a timestamp
more than a few minutes from your clock (a replayed request). A notice may arrive twice (a retry
after a lost answer): the pair (incident.id, kind, severity, starts_at, ends_at) identifies it.
"""

from __future__ import annotations

import email.utils
import hashlib
import hmac
import logging
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import httpx
import orjson

from kubetrail.alerts import Notice, Output, OutputConfig, OutputError
from kubetrail.timeutil import NS, format_ns

ALERTNAME: Final = "KubetrailIncident"
ALERT_TTL_NS: Final = 5 * 60 * NS  # an active alert's endsAt: now + 5 min (the engine re-sends at least every 2 min)
STORY_LINES: Final = 5  # the first steps told in a message
REMEMBERED: Final = 1024  # delivered notices remembered by the per-notice outputs
TOLD_KINDS: Final = frozenset({"firing", "escalated", "resolved"})  # refresh only matters to outputs that forget

Clock = Callable[[], int]  # wall ns since the epoch


class DeliveryError(OutputError):
    """An output could not deliver; `retry_after` (seconds) when the endpoint asked to wait."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


# -- Alertmanager v2 ------------------------------------------------------------------------------
class AlertmanagerOutput:
    """POSTs each batch as one list of postableAlerts to `{url}/api/v2/alerts`.

    An alert is the incident at one severity (its labels hold the severity), so an escalation
    resolves the old one and fires the new one in the same request. Active alerts get an endsAt 5
    minutes ahead: Alertmanager would otherwise end them after its resolve_timeout on its own."""

    def __init__(self, config: OutputConfig, token: str | None = None, clock: Clock = time.time_ns) -> None:
        assert config.url is not None  # build() checked
        self.config, self._clock = config, clock
        self._endpoint = config.url.rstrip("/") + "/api/v2/alerts"
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self._secrets = (token,) if token else ()
        self._client = httpx.Client(timeout=config.timeout_seconds, trust_env=False, headers=headers)

    def send(self, notices: Sequence[Notice]) -> None:
        now = self._clock()
        alerts = [alert for n in notices for alert in postable_alerts(n, now)]
        if alerts:
            _post(self._client, self._endpoint, orjson.dumps(alerts), {}, self.config, self._secrets)

    def close(self) -> None:
        self._client.close()


def postable_alerts(notice: Notice, now: int) -> list[dict[str, Any]]:
    """The alerts a notice sets in Alertmanager (its API's postableAlert objects)."""
    if notice.kind == "escalated" and notice.previous is not None:
        return [_alert(notice, notice.previous, _ended(notice, now)), _alert(notice, notice.severity, now + ALERT_TTL_NS)]
    if notice.kind == "resolved":
        return [_alert(notice, notice.severity, _ended(notice, notice.ends_at or now))]
    return [_alert(notice, notice.severity, now + ALERT_TTL_NS)]


def _ended(notice: Notice, at: int) -> int:
    """Alertmanager refuses an alert that ends before it starts."""
    return max(at, notice.starts_at)


def _alert(notice: Notice, severity: str, ends_at: int) -> dict[str, Any]:
    alert: dict[str, Any] = {
        "labels": alert_labels(notice.incident, severity),
        "annotations": _annotations(notice),
        "startsAt": format_ns(notice.starts_at),
        "endsAt": format_ns(ends_at),
    }
    if notice.link:
        alert["generatorURL"] = notice.link
    return alert


def alert_labels(incident: Mapping[str, Any], severity: str) -> dict[str, str]:
    """The alert's identity in Alertmanager: the same labels name the same alert."""
    labels = {
        "alertname": ALERTNAME,
        "severity": severity,
        "cluster": incident["clusters"][0],
        "incident_id": str(incident["id"]),
    }
    pods: Sequence[str] = incident["pods"]
    if pods:
        labels["namespace"], labels["pod"] = pods[0].split("/", 1)
    return labels


def _annotations(notice: Notice) -> dict[str, str]:
    incident = notice.incident
    notes = {
        "summary": incident["title"],
        "description": "\n".join(story_lines(incident)),
        "pods": ", ".join(incident["pods"]),
        "techniques": ", ".join(incident["techniques"]),
    }
    if notice.link:
        notes["link"] = notice.link
    return notes


def story_lines(incident: Mapping[str, Any]) -> list[str]:
    """The summaries of the incident's first steps: the start of its story."""
    return [str(step["summary"]) for step in incident["steps"][:STORY_LINES]]


# -- outputs that POST once per notice ------------------------------------------------------------
class _PerNotice(ABC):
    """One POST per notice worth telling (refreshes are not), remembering what was delivered so a
    batch sent again after a failure half-way does not post its first half twice. The whole batch
    keeps within the output's timeout: each POST gets the time left."""

    slack = False  # Slack's answer is 200 "ok", not any 2xx

    def __init__(self, config: OutputConfig, url: str, secrets: Iterable[str]) -> None:
        self.config, self._url = config, url
        self._secrets = tuple(s for s in secrets if s)
        self._client = httpx.Client(timeout=config.timeout_seconds, trust_env=False)
        self._delivered: OrderedDict[tuple[Any, ...], None] = OrderedDict()

    @abstractmethod
    def request(self, notice: Notice) -> tuple[bytes, dict[str, str]]:
        """The body and headers that tell the notice."""

    def send(self, notices: Sequence[Notice]) -> None:
        deadline = time.monotonic() + self.config.timeout_seconds
        for n in notices:
            key = _notice_key(n)
            if n.kind not in TOLD_KINDS or key in self._delivered:
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                raise DeliveryError(f"{_who(self.config)}: out of time for this batch ({self.config.timeout_seconds:g} s)")
            body, headers = self.request(n)
            _post(self._client, self._url, body, headers, self.config, self._secrets, timeout=left, slack=self.slack)
            self._remember(key)

    def close(self) -> None:
        self._client.close()

    def _remember(self, key: tuple[Any, ...]) -> None:
        self._delivered[key] = None
        if len(self._delivered) > REMEMBERED:
            self._delivered.popitem(last=False)


def _notice_key(n: Notice) -> tuple[Any, ...]:
    """What makes a notice itself (Notice holds a dict, so it is not hashable)."""
    return (n.kind, n.incident_id, n.severity, n.previous, n.starts_at, n.ends_at)


# -- Slack incoming webhook -----------------------------------------------------------------------
SEVERITY_EMOJI: Final = {"low": ":information_source:", "medium": ":warning:", "high": ":rotating_light:", "critical": ":fire:"}
HEADER_MAX: Final = 150  # Slack's limit on a header block's text
TEXT_MAX: Final = 3000  # ... and on a section's text


class SlackOutput(_PerNotice):
    """A message per new incident, escalation and end. The webhook URL is the secret."""

    slack = True

    def __init__(self, config: OutputConfig, url: str) -> None:
        super().__init__(config, url, (url,))

    def request(self, notice: Notice) -> tuple[bytes, dict[str, str]]:
        return orjson.dumps(slack_message(notice)), {}


def slack_message(notice: Notice) -> dict[str, Any]:
    """The message: a fallback `text` (notifications, screen readers) and its `blocks`."""
    incident, state = notice.incident, _state(notice)
    title = f"[{notice.severity.upper()}] {incident['title']}"
    emoji = ":white_check_mark:" if notice.kind == "resolved" else SEVERITY_EMOJI.get(notice.severity, ":warning:")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(f"{emoji} {title}", HEADER_MAX), "emoji": True}},
        {"type": "section", "text": _mrkdwn(f"*{_esc(state)}*"), "fields": _slack_fields(incident)},
        {"type": "section", "text": _mrkdwn(_cut(_story(incident), TEXT_MAX))},
        {"type": "context", "elements": [_mrkdwn(_footer(notice))]},
    ]
    return {"text": f"kubetrail: {title} ({state})", "blocks": blocks}


def _state(notice: Notice) -> str:
    if notice.kind == "escalated":
        return f"escalated from {notice.previous} to {notice.severity}"
    if notice.kind == "resolved":
        return "resolved"
    return f"new {notice.severity} incident"


def _slack_fields(incident: Mapping[str, Any]) -> list[dict[str, str]]:
    actors: Sequence[str] = incident["actors"]
    pods = ", ".join(incident["pods"]) or "none known"
    return [
        _mrkdwn(f"*Initiator*\n{_esc(actors[0]) if actors else 'not known'}"),
        _mrkdwn(f"*Cluster*\n{_esc(', '.join(incident['clusters']))}"),
        _mrkdwn(_cut(f"*Pods*\n{_esc(pods)}", 2000)),
        _mrkdwn(f"*Techniques*\n{_esc(', '.join(incident['techniques'])) or 'none'}"),
    ]


def _story(incident: Mapping[str, Any]) -> str:
    lines = [f"• {_esc(line)}" for line in story_lines(incident)]
    more = len(incident["steps"]) - STORY_LINES
    if more > 0:
        lines.append(f"… and {more} more step{'s' if more > 1 else ''}")
    return "*Story*\n" + "\n".join(lines)


def _footer(notice: Notice) -> str:
    footer = f"incident `{_esc(notice.incident_id)}` · started {notice.incident['start']}"
    if notice.link:
        footer += f" · <{notice.link}|open in kubetrail>"
    return footer


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def _esc(text: str) -> str:
    """Slack's control characters, escaped: the summaries hold what an attacker typed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- generic JSON webhook -------------------------------------------------------------------------
class WebhookOutput(_PerNotice):
    """POSTs each notice with its incident document, signed (see the module docstring)."""

    def __init__(self, config: OutputConfig, key: bytes, clock: Clock = time.time_ns) -> None:
        assert config.url is not None  # build() checked
        super().__init__(config, config.url, (key.decode(errors="replace"),))
        self._key, self._clock = key, clock

    def request(self, notice: Notice) -> tuple[bytes, dict[str, str]]:
        body = orjson.dumps(webhook_body(notice))
        timestamp = str(self._clock() // NS)
        signed = "sha256=" + signature(self._key, timestamp, body)
        return body, {"x-kubetrail-timestamp": timestamp, "x-kubetrail-signature": signed}


def webhook_body(notice: Notice) -> dict[str, Any]:
    return {
        "kind": notice.kind,
        "severity": notice.severity,
        "previous": notice.previous,
        "starts_at": format_ns(notice.starts_at),
        "ends_at": format_ns(notice.ends_at) if notice.ends_at is not None else None,
        "link": notice.link,
        "incident": notice.incident,
    }


def signature(key: bytes, timestamp: str, body: bytes) -> str:
    """hex HMAC-SHA256 of `timestamp + "." + body`."""
    return hmac.new(key, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


# -- HTTP -----------------------------------------------------------------------------------------
def _post(
    client: httpx.Client, url: str, body: bytes, headers: Mapping[str, str], config: OutputConfig,
    secrets: Sequence[str], *, timeout: float | None = None, slack: bool = False,
) -> None:  # fmt: skip
    """One POST; a transport error or an unwanted answer raises DeliveryError, its text scrubbed."""
    headers = {"content-type": "application/json", **headers}
    try:
        response = client.post(url, content=body, headers=headers, timeout=config.timeout_seconds if timeout is None else timeout)
    except httpx.HTTPError as exc:
        raise DeliveryError(_scrub(f"{_who(config)}: {type(exc).__name__}: {exc}", secrets)) from None
    if _accepted(response, slack):
        return
    reason = _scrub(response.text.strip()[:200], secrets)
    message = f"{_who(config)}: HTTP {response.status_code}" + (f": {reason}" if reason else "")
    raise DeliveryError(message, retry_after(response.headers.get("retry-after")))


def _accepted(response: httpx.Response, slack: bool) -> bool:
    """Any 2xx; Slack answers exactly 200 "ok" when it posted the message."""
    if slack:
        return response.status_code == httpx.codes.OK and response.text.strip() == "ok"
    return response.is_success


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """A Retry-After header (seconds, or an HTTP date) as seconds to wait; None if absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def _who(config: OutputConfig) -> str:
    return f"alert output {config.name!r} ({config.type})"


def _scrub(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "<secret>")
    return text


class _Redact(logging.Filter):
    """Removes secrets from httpx's request log lines (they hold the URL, which for Slack is the secret)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            text = record.getMessage()
            if any(s in text for s in self.secrets):
                record.msg, record.args = _scrub(text, tuple(self.secrets)), ()
        return True


_REDACT = _Redact()


def _hide_from_logs(secret: str) -> None:
    """Called when an output is built (never at import): httpx's logger gets the filter once."""
    logger = logging.getLogger("httpx")
    if _REDACT not in logger.filters:
        logger.addFilter(_REDACT)
    _REDACT.secrets.add(secret)


# -- building from the config ---------------------------------------------------------------------
def _alertmanager(config: OutputConfig) -> Output:
    _need(config, "url", config.url)
    token = _secret(config, "secret_file", config.secret_file) if config.secret_file else None
    return AlertmanagerOutput(config, token)


def _slack(config: OutputConfig) -> Output:
    url = _secret(config, "url_file", _need(config, "url_file", config.url_file))
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"{_who(config)}: url_file {config.url_file} does not hold an http(s) URL")
    _hide_from_logs(url)
    return SlackOutput(config, url)


def _webhook(config: OutputConfig) -> Output:
    _need(config, "url", config.url)
    key = _secret(config, "secret_file", _need(config, "secret_file", config.secret_file))
    return WebhookOutput(config, key.encode())


OUTPUTS: Final[dict[str, Callable[[OutputConfig], Output]]] = {
    "alertmanager": _alertmanager,
    "slack": _slack,
    "webhook": _webhook,
}


def build(config: OutputConfig) -> Output:
    """The output a config names, its secrets read; ValueError says which output and what is wrong."""
    make = OUTPUTS.get(config.type)
    if make is None:
        raise ValueError(f"alert output {config.name!r}: unknown type {config.type!r}; give one of {', '.join(OUTPUTS)}")
    return make(config)


def _need(config: OutputConfig, field: str, value: str | None) -> str:
    if not value:
        raise ValueError(f"{_who(config)}: give its {field}")
    return value


def _secret(config: OutputConfig, field: str, path: str) -> str:
    """A secret file's content, surrounding whitespace stripped; the content is never in a message."""
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ValueError(f"{_who(config)}: cannot read its {field} {path}: {reason}") from None
    if not text:
        raise ValueError(f"{_who(config)}: its {field} {path} is empty")
    return text
