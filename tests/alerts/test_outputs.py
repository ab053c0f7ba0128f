"""The alert outputs against real receivers: a real Alertmanager shows kubetrail's alerts fired,
refreshed, escalated and resolved; a recording HTTP server stands in for Slack and a webhook
receiver (what they get, the signature, refusals, and secrets kept out of errors and logs)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from pathlib import Path
from typing import Any

import pytest

from kubetrail.alerts import Notice, OutputConfig, OutputError
from kubetrail.alerts.outputs import (
    ALERTNAME,
    AlertmanagerOutput,
    DeliveryError,
    SlackOutput,
    WebhookOutput,
    build,
    retry_after,
)
from kubetrail.timeutil import NS, format_ns, parse_rfc3339
from tests.alerts.conftest import Alertmanager, Recorder, eventually, free_port, incident_row, notice

SLACK_PATH = "/services/T0001/B0002/s3cr3tW3bh00kT0k3n"
HMAC_KEY = "whsec-9f8e7d6c5b4a"
BEARER = "am-bearer-7b1c2d"
LINK = "https://kubetrail.example.net/incidents/"


def secret_file(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text + "\n")
    return str(path)


def am_output(am: Alertmanager, clock: list[int] | None = None) -> AlertmanagerOutput:
    config = OutputConfig("alertmanager", "am", url=am.url + "/", timeout_seconds=5)
    if clock is None:
        return AlertmanagerOutput(config)
    return AlertmanagerOutput(config, clock=lambda: clock[0])


def slack(tmp_path: Path, recorder: Recorder) -> SlackOutput:
    config = OutputConfig("slack", "oncall-slack", url_file=secret_file(tmp_path, "slack-url", recorder.url + SLACK_PATH))
    output = build(config)
    assert isinstance(output, SlackOutput)
    return output


def webhook(tmp_path: Path, recorder: Recorder, clock: int | None = None) -> WebhookOutput:
    config = OutputConfig("webhook", "soar", url=recorder.url + "/hook", secret_file=secret_file(tmp_path, "key", HMAC_KEY))
    output = build(config)
    assert isinstance(output, WebhookOutput)
    if clock is not None:
        output._clock = lambda: clock
    return output


def ns(text: str) -> int:
    return parse_rfc3339(text)


# -- Alertmanager ---------------------------------------------------------------------------------
def test_a_fired_incident_is_an_active_alert_with_its_labels_and_story(alertmanager: Alertmanager) -> None:
    row = incident_row(severity="high")
    fired = notice("firing", row, link=LINK + row["id"])
    am_output(alertmanager).send([fired])
    (alert,) = alertmanager.alerts(row["id"], active=True, silenced=False, inhibited=False, unprocessed=False)
    assert alert["status"]["state"] == "active"
    assert alert["labels"] == {
        "alertname": ALERTNAME, "severity": "high", "cluster": "prod-euw1", "namespace": "payments",
        "pod": "api-7d9c6b5f8-x2k4j", "incident_id": row["id"],
    }  # fmt: skip
    notes = alert["annotations"]
    assert notes["summary"] == row["title"]
    assert notes["description"].splitlines() == [s["summary"] for s in row["steps"][:5]]
    assert notes["pods"] == "payments/api-7d9c6b5f8-x2k4j, payments/api-7d9c6b5f8-q8zr2"
    assert notes["techniques"] == "T1059, T1204, T1496, T1609"
    assert notes["link"] == alert["generatorURL"] == LINK + row["id"]
    # Alertmanager keeps milliseconds; the alert ends 5 minutes ahead unless it is sent again.
    assert abs(ns(alert["startsAt"]) - fired.starts_at) < 1_000_000
    assert 4 * 60 * NS < ns(alert["endsAt"]) - time.time_ns() <= 5 * 60 * NS


def test_an_incident_without_pods_has_no_namespace_or_pod_label(alertmanager: Alertmanager) -> None:
    row = incident_row(pods=[])
    am_output(alertmanager).send([notice("firing", row)])
    (alert,) = alertmanager.alerts(row["id"])
    assert "namespace" not in alert["labels"] and "pod" not in alert["labels"]
    assert "link" not in alert["annotations"] and "generatorURL" not in alert


def test_a_refresh_keeps_the_alert_active_and_moves_its_end(alertmanager: Alertmanager) -> None:
    row = incident_row()
    clock = [time.time_ns()]
    output = am_output(alertmanager, clock)
    output.send([notice("firing", row)])
    (first,) = alertmanager.alerts(row["id"])
    clock[0] += 90 * NS  # the engine re-sends active incidents within 2 minutes
    output.send([notice("refresh", row)])
    (again,) = alertmanager.alerts(row["id"], active=True)
    assert again["fingerprint"] == first["fingerprint"] and again["status"]["state"] == "active"
    assert ns(again["endsAt"]) - ns(first["endsAt"]) == 90 * NS
    assert again["startsAt"] == first["startsAt"]


def test_an_escalation_resolves_the_old_severity_and_fires_the_new(alertmanager: Alertmanager) -> None:
    row = incident_row(severity="medium")
    output = am_output(alertmanager)
    fired = notice("firing", row)
    output.send([fired])
    assert [a["labels"]["severity"] for a in alertmanager.alerts(row["id"], active=True)] == ["medium"]
    escalated = {**row, "severity": "critical"}
    output.send([Notice("escalated", escalated, "critical", fired.starts_at, previous="medium")])
    # A resolved alert is no longer listed by Alertmanager, whatever the filters.
    alerts = eventually(lambda: alertmanager.alerts(row["id"]), lambda a: len(a) == 1)
    assert [(a["labels"]["severity"], a["status"]["state"]) for a in alerts] == [("critical", "active")]
    assert alertmanager.alerts(row["id"], active=False) == []


def test_a_resolved_notice_ends_the_alert(alertmanager: Alertmanager) -> None:
    row = incident_row()
    output = am_output(alertmanager)
    fired = notice("firing", row)
    output.send([fired])
    assert len(alertmanager.alerts(row["id"], active=True)) == 1
    output.send([notice("resolved", row, starts_at=fired.starts_at, ends_at=time.time_ns())])
    assert eventually(lambda: alertmanager.alerts(row["id"]), lambda a: a == []) == []


def test_one_batch_fires_and_resolves_in_order(alertmanager: Alertmanager) -> None:
    row = incident_row()
    fired = notice("firing", row)
    am_output(alertmanager).send(
        [fired, notice("refresh", row), notice("resolved", row, starts_at=fired.starts_at, ends_at=time.time_ns())]
    )
    assert eventually(lambda: alertmanager.alerts(row["id"]), lambda a: a == []) == []


def test_alertmanager_sends_the_bearer_token_and_keeps_it_out_of_errors(tmp_path: Path, recorder: Recorder) -> None:
    config = OutputConfig("alertmanager", "am", url=recorder.url, secret_file=secret_file(tmp_path, "token", BEARER))
    output = build(config)
    recorder.answer(200, b"")
    output.send([notice("firing", incident_row())])
    (request,) = recorder.received
    assert request.path == "/api/v2/alerts" and request.headers["authorization"] == f"Bearer {BEARER}"
    assert request.json()[0]["labels"]["alertname"] == ALERTNAME
    recorder.answer(401, f"bad token {BEARER}".encode())
    with pytest.raises(OutputError) as caught:
        output.send([notice("firing", incident_row())])
    assert "'am'" in str(caught.value) and "401" in str(caught.value) and BEARER not in str(caught.value)


def test_an_unreachable_alertmanager_is_an_output_error() -> None:
    output = build(OutputConfig("alertmanager", "am", url=f"http://127.0.0.1:{free_port()}", timeout_seconds=2))
    with pytest.raises(OutputError, match=r"alert output 'am' \(alertmanager\): ConnectError"):
        output.send([notice("firing", incident_row())])


# -- Slack ----------------------------------------------------------------------------------------
def blocks_text(message: dict[str, Any]) -> str:
    """Every text of a Slack message's blocks, in order."""
    texts: list[str] = []
    for block in message["blocks"]:
        texts += [block["text"]["text"]] if "text" in block else []
        texts += [f["text"] for f in block.get("fields", []) + block.get("elements", [])]
    return "\n".join(texts)


def test_slack_tells_a_new_incident_readably(tmp_path: Path, recorder: Recorder) -> None:
    row = incident_row(severity="critical")
    slack(tmp_path, recorder).send([notice("firing", row, link=LINK + row["id"])])
    (request,) = recorder.received
    assert request.path == SLACK_PATH and request.headers["content-type"] == "application/json"
    message = request.json()
    assert message["text"] == f"kubetrail: [CRITICAL] {row['title']} (new critical incident)"
    text = blocks_text(message)
    assert f"[CRITICAL] {row['title']}" in text and "*Initiator*\nalice@example.com" in text
    assert "payments/api-7d9c6b5f8-x2k4j, payments/api-7d9c6b5f8-q8zr2" in text
    # The first five steps, escaped for Slack (the curl line holds `&&` and `<&2`), then a count.
    assert "-o /tmp/x.sh &amp;&amp; sh /tmp/x.sh &lt;&amp;2" in text
    assert row["steps"][4]["summary"] in text and row["steps"][5]["summary"] not in text
    assert "… and 2 more steps" in text
    assert f"<{LINK}{row['id']}|open in kubetrail>" in text


def test_slack_tells_an_escalation_and_an_end_but_not_a_refresh(tmp_path: Path, recorder: Recorder) -> None:
    row = incident_row(severity="high")
    output = slack(tmp_path, recorder)
    output.send([notice("refresh", row)])
    assert recorder.received == []
    output.send([notice("escalated", row, previous="medium"), notice("resolved", row, ends_at=time.time_ns())])
    escalated, resolved = (r.json() for r in recorder.received)
    assert "escalated from medium to high" in escalated["text"] and "escalated from medium to high" in blocks_text(escalated)
    assert resolved["text"].endswith("(resolved)") and ":white_check_mark:" in blocks_text(resolved)


def test_slack_refusals_are_output_errors_without_the_url(tmp_path: Path, recorder: Recorder) -> None:
    output = slack(tmp_path, recorder)
    recorder.answer(500, b"internal_error")
    with pytest.raises(OutputError) as caught:
        output.send([notice("firing", incident_row())])
    assert str(caught.value) == "alert output 'oncall-slack' (slack): HTTP 500: internal_error"
    recorder.answer(200, b"invalid_payload")  # anything but "ok" was not posted
    with pytest.raises(OutputError, match="HTTP 200: invalid_payload"):
        output.send([notice("firing", incident_row())])


def test_slack_rate_limit_carries_retry_after(tmp_path: Path, recorder: Recorder) -> None:
    output = slack(tmp_path, recorder)
    recorder.answer(429, b"rate_limited", retry_after="7")
    with pytest.raises(DeliveryError) as caught:
        output.send([notice("firing", incident_row())])
    assert caught.value.retry_after == 7.0 and isinstance(caught.value, OutputError)
    assert SLACK_PATH not in str(caught.value) and "s3cr3t" not in str(caught.value)


def test_a_batch_sent_again_after_a_failure_posts_only_what_was_not_delivered(tmp_path: Path, recorder: Recorder) -> None:
    output = slack(tmp_path, recorder)
    first, second = notice("firing", incident_row()), notice("firing", incident_row())
    recorder.answer(200, b"ok")
    recorder.answer(429, b"rate_limited", retry_after="1")
    with pytest.raises(OutputError):
        output.send([first, second])
    output.send([first, second])  # the courier sends the whole batch again
    assert [r.json()["blocks"][-1]["elements"][0]["text"].split("`")[1] for r in recorder.received] == [
        first.incident_id, second.incident_id, second.incident_id,
    ]  # fmt: skip


def test_the_slack_url_is_not_in_httpx_logs(tmp_path: Path, recorder: Recorder, caplog: pytest.LogCaptureFixture) -> None:
    output = slack(tmp_path, recorder)
    with caplog.at_level(logging.INFO, logger="httpx"):
        output.send([notice("firing", incident_row())])
    assert "HTTP Request: POST" in caplog.text and "<secret>" in caplog.text
    assert "s3cr3t" not in caplog.text


# -- generic webhook ------------------------------------------------------------------------------
def test_the_webhook_posts_the_incident_document_signed(tmp_path: Path, recorder: Recorder) -> None:
    row = incident_row(severity="high")
    sent_at = 1_800_000_123 * NS + 456
    escalated = notice("escalated", row, previous="medium", link=LINK + row["id"])
    webhook(tmp_path, recorder, clock=sent_at).send([escalated])
    (request,) = recorder.received
    assert request.path == "/hook" and request.headers["content-type"] == "application/json"
    assert request.json() == {
        "kind": "escalated", "severity": "high", "previous": "medium", "starts_at": format_ns(escalated.starts_at),
        "ends_at": None, "link": LINK + row["id"], "incident": row,
    }  # fmt: skip
    # The receiver's check, as the module docstring documents it.
    timestamp = request.headers["x-kubetrail-timestamp"]
    expected = hmac.new(HMAC_KEY.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256).hexdigest()
    assert timestamp == "1800000123"
    assert hmac.compare_digest(request.headers["x-kubetrail-signature"], f"sha256={expected}")


def test_the_webhook_sends_an_end_with_its_time_and_not_a_refresh(tmp_path: Path, recorder: Recorder) -> None:
    row = incident_row()
    ended = time.time_ns()
    webhook(tmp_path, recorder).send([notice("refresh", row), notice("resolved", row, ends_at=ended)])
    (request,) = recorder.received
    body = request.json()
    assert (body["kind"], body["ends_at"]) == ("resolved", format_ns(ended))
    assert len(body["starts_at"]) == len("2026-11-28T10:00:00.000000000Z")


def test_webhook_refusals_are_output_errors_without_the_key(tmp_path: Path, recorder: Recorder) -> None:
    output = webhook(tmp_path, recorder)
    recorder.answer(500, f"bad signature with key {HMAC_KEY}".encode())
    with pytest.raises(OutputError) as caught:
        output.send([notice("firing", incident_row())])
    assert "'soar' (webhook): HTTP 500" in str(caught.value) and HMAC_KEY not in str(caught.value)
    recorder.answer(503, b"", retry_after="Fri, 01 Jan 2100 00:00:00 GMT")
    with pytest.raises(DeliveryError) as later:
        output.send([notice("firing", incident_row())])
    assert later.value.retry_after is not None and later.value.retry_after > 0


def test_retry_after_reads_seconds_and_dates() -> None:
    now = 1_800_000_000.0
    assert retry_after("30") == 30.0 and retry_after("0.5") == 0.5 and retry_after(None) is None
    assert retry_after("Fri, 15 Jan 2027 08:00:30 GMT", now=ns("2027-01-15T08:00:00Z") / NS) == 30.0
    assert retry_after("soon", now=now) is None


# -- build ----------------------------------------------------------------------------------------
def test_build_picks_the_output_of_its_type(tmp_path: Path) -> None:
    assert isinstance(build(OutputConfig("alertmanager", "am", url="http://127.0.0.1:9093")), AlertmanagerOutput)
    key = secret_file(tmp_path, "key", HMAC_KEY)
    assert isinstance(build(OutputConfig("webhook", "w", url="http://127.0.0.1/h", secret_file=key)), WebhookOutput)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"type": "pagerduty"}, "alert output 'out': unknown type 'pagerduty'; give one of alertmanager, slack, webhook"),
        ({"type": "alertmanager"}, "alert output 'out' (alertmanager): give its url"),
        ({"type": "slack"}, "alert output 'out' (slack): give its url_file"),
        ({"type": "webhook", "url": "http://x/h"}, "alert output 'out' (webhook): give its secret_file"),
        ({"type": "webhook", "secret_file": "k"}, "alert output 'out' (webhook): give its url"),
    ],
)
def test_build_refuses_an_incomplete_config(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        build(OutputConfig(name="out", **fields))
    assert str(caught.value) == message


def test_build_refuses_a_missing_or_empty_secret_file_without_showing_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(ValueError, match=rf"'pager' \(slack\): cannot read its url_file {re.escape(str(missing))}: No such file"):
        build(OutputConfig("slack", "pager", url_file=str(missing)))
    with pytest.raises(ValueError, match=r"'hook' \(webhook\): its secret_file .* is empty"):
        build(OutputConfig("webhook", "hook", url="http://x/h", secret_file=secret_file(tmp_path, "empty", "  ")))
    not_url = secret_file(tmp_path, "slack-url", "xoxb-not-a-webhook-url")
    with pytest.raises(ValueError, match=r"does not hold an http\(s\) URL") as caught:
        build(OutputConfig("slack", "pager", url_file=not_url))
    assert "xoxb" not in str(caught.value)
