"""Redaction of secret material before storage."""

from __future__ import annotations

import orjson
from hypothesis import given

from kubetrail.redact import REDACTED, needs_redaction, redact, redact_text
from tests.strategies import JSON_VALUES

SECRET = "hunter2-s3cr3t-value"


def test_secret_data_string_data_and_last_applied_are_redacted_keys_kept() -> None:
    obj = {
        "kind": "Secret",
        "data": {"password": "aHVudGVy"},
        "stringData": {"token": SECRET},
        "metadata": {"name": "db", "annotations": {"kubectl.kubernetes.io/last-applied-configuration": SECRET, "team": "pay"}},
    }
    assert redact(obj)
    assert obj["data"] == {"password": REDACTED} and obj["stringData"] == {"token": REDACTED}
    assert obj["metadata"]["annotations"] == {"kubectl.kubernetes.io/last-applied-configuration": REDACTED, "team": "pay"}  # type: ignore[index]


def test_secret_list_items_without_kind_are_redacted() -> None:
    obj = {"kind": "SecretList", "items": [{"metadata": {"name": "a"}, "data": {"k": "djE="}}]}
    redact(obj)
    assert obj["items"][0]["data"] == {"k": REDACTED}  # type: ignore[index]


def test_audit_patch_bodies_on_secrets_are_redacted_without_a_kind() -> None:
    merge = {"objectRef": {"resource": "secrets"}, "requestObject": {"data": {"k": "djE="}}}
    jsonpatch = {"objectRef": {"resource": "secrets"}, "requestObject": [{"op": "add", "path": "/data/k", "value": "djE="}]}
    redact(merge)
    redact(jsonpatch)
    assert merge["requestObject"] == {"data": {"k": REDACTED}}
    assert jsonpatch["requestObject"][0]["value"] == REDACTED  # type: ignore[index]


def test_a_configmap_is_not_redacted() -> None:
    obj = {"kind": "ConfigMap", "data": {"k": "v"}}
    assert not redact(obj)
    assert obj["data"] == {"k": "v"}


def test_tokens_and_credential_headers_are_redacted() -> None:
    obj = {
        "status": {"token": SECRET},
        "headers": [{"key": "Authorization", "value": "Bearer x"}, {"key": "Accept", "value": "*/*"}],
        "attrs": [{"key": "http.request.header.cookie", "value": {"stringValue": "s=1"}}],
        "h": {"Cookie": "s=1"},
    }
    redact(obj)
    assert obj["status"] == {"token": REDACTED}
    assert obj["headers"] == [{"key": "Authorization", "value": REDACTED}, {"key": "Accept", "value": "*/*"}]
    assert obj["attrs"] == [{"key": "http.request.header.cookie", "value": REDACTED}]
    assert obj["h"] == {"Cookie": REDACTED}


def test_audit_event_embedded_as_a_json_string_is_redacted_inside() -> None:
    inner = {"objectRef": {"resource": "secrets"}, "responseObject": {"kind": "Secret", "data": {"k": SECRET}}}
    outer = {"category": "kube-audit", "properties": {"log": orjson.dumps(inner).decode()}}
    assert redact(outer)
    assert SECRET not in outer["properties"]["log"]  # type: ignore[index]
    assert orjson.loads(outer["properties"]["log"])["responseObject"]["data"] == {"k": REDACTED}  # type: ignore[index]


def test_unparseable_text_that_mentions_secrets_has_its_values_masked() -> None:
    text = '{"kind":"Event","verb":"create","requestObject":{"kind":"Secret","data":{"password":"' + SECRET
    out = redact_text(text)
    assert SECRET not in out and '"verb":"create"' in out


def test_marker_scan_finds_every_sensitive_record_shape() -> None:
    for text in (b'{"kind":"Secret"}', b'{"token":"x"}', b'{"key":"authorization"}', b'{"key":"Cookie"}'):
        assert needs_redaction(text)
    assert not needs_redaction(b'{"kind":"ConfigMap","data":{"a":"b"}}')


@given(JSON_VALUES)
def test_redaction_never_fails_on_any_json(value: object) -> None:
    redact(value)
    redact_text(orjson.dumps(value).decode())
