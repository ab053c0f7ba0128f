"""OpenTelemetry: golden tests on the OTLP/JSON examples of the specification and on k8s-flavoured
fixtures (expectations read off the samples by hand), OTLP/HTTP protobuf bodies built at test time
from the same documents, detection, and the records that must go to quarantine."""

from __future__ import annotations

import base64
import copy
import json
import re
from pathlib import Path
from typing import Any

import msgspec
import pytest
from google.protobuf import json_format
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from kubetrail.ids import make_id
from kubetrail.model import KINDS, Event
from kubetrail.sources import NormalizeError
from kubetrail.sources.otel import SOURCE, decode_bytes
from tests.conftest import FIXTURES, load_values
from tests.strategies import JSON_VALUES

SPEC = Path("otel/opentelemetry-proto")
TRACE_ID = "5b8efff798038103d269b633813fc60c"


def _events(record: Any) -> list[Event]:
    return list(SOURCE.normalize(record))


def _event(record: Any) -> Event:
    (event,) = _events(record)
    return event


def _extra(event: Event) -> dict[str, Any]:
    assert event.extra is not None
    extra: dict[str, Any] = json.loads(event.extra)
    return extra


def _request(path: Path) -> dict[str, Any]:
    (value,) = load_values(path)
    assert isinstance(value, dict)
    return value


def _without_raw(events: list[Event]) -> list[dict[str, Any]]:
    return [{k: v for k, v in msgspec.structs.asdict(e).items() if k != "raw"} for e in events]


# -- the test-time protobuf builder ---------------------------------------------------------------


def _to_protobuf(value: dict[str, Any]) -> bytes:
    """An OTLP/HTTP protobuf body holding the same request as an OTLP/JSON document: ids go from
    OTLP/JSON hex to the proto3 JSON mapping's base64, then protobuf parses and serializes it."""
    doc = copy.deepcopy(value)
    message: Any
    if "resourceSpans" in doc:
        message = ExportTraceServiceRequest()
        for span in _nested(doc, "resourceSpans", "scopeSpans", "spans"):
            _hex_to_base64(span, "traceId", "spanId", "parentSpanId")
            for link in span.get("links", ()):
                _hex_to_base64(link, "traceId", "spanId")
    else:
        message = ExportLogsServiceRequest()
        for record in _nested(doc, "resourceLogs", "scopeLogs", "logRecords"):
            _hex_to_base64(record, "traceId", "spanId")
    json_format.ParseDict(doc, message)
    data: bytes = message.SerializeToString()
    return data


def _nested(doc: dict[str, Any], outer: str, middle: str, inner: str) -> list[dict[str, Any]]:
    return [item for group in doc[outer] for scope in group[middle] for item in scope[inner]]


def _hex_to_base64(d: dict[str, Any], *keys: str) -> None:
    for key in keys:
        if key in d:
            d[key] = base64.b64encode(bytes.fromhex(d[key])).decode()


def _snake_case(node: Any) -> Any:
    """The same document with proto field names (`resource_spans`), which proto3 JSON allows."""
    if isinstance(node, dict):
        return {re.sub(r"[A-Z]", lambda m: "_" + m.group().lower(), k): _snake_case(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_snake_case(v) for v in node]
    return node


# -- golden tests on the specification's examples -------------------------------------------------


def test_spec_trace_example_span(corpora: Path) -> None:
    e = _event(_request(corpora / SPEC / "trace.json"))
    assert e.id == make_id("otel", TRACE_ID, "eee19b7ec3c1b174")
    assert (e.time, e.end_time) == (1_544_712_660_000_000_000, 1_544_712_661_000_000_000)  # 2018-12-13T14:51:00Z, +1 s
    assert (e.source, e.kind, e.format) == ("otel", "span", "otlp")
    assert (e.trace_id, e.span_id, e.parent_span_id) == (TRACE_ID, "eee19b7ec3c1b174", "eee19b7ec3c1b173")
    assert (e.span_name, e.span_kind, e.status, e.service_name) == ("I'm a server span", "server", "UNSET", "my.service")
    assert e.summary == "my.service: server span I'm a server span"
    assert (e.sensor_cluster, e.namespace, e.pod_name, e.http_method) == (None, None, None, None)
    assert _extra(e) == {
        "resource": {"service.name": "my.service"},
        "scope": {"name": "my.library", "version": "1.0.0", "attributes": {"my.scope.attribute": "some scope attribute"}},
        "attributes": {"my.span.attr": "some value"},
    }


def test_spec_logs_example_record(corpora: Path) -> None:
    e = _event(_request(corpora / SPEC / "logs.json"))
    assert e.time == 1_544_712_660_300_000_000  # 2018-12-13T14:51:00.3Z
    assert (e.source, e.kind, e.priority, e.summary) == ("otel", "log", "Information", "Example log record")
    assert (e.trace_id, e.span_id, e.service_name) == (TRACE_ID, "eee19b7ec3c1b174", "my.service")
    assert e.id == make_id(
        "otel",
        "log",
        None,
        "my.service",
        *[None] * 8,
        1_544_712_660_300_000_000,
        TRACE_ID,
        "eee19b7ec3c1b174",
        "Example log record",
    )
    extra = _extra(e)
    assert extra["attributes"] == {
        "string.attribute": "some string",
        "boolean.attribute": True,
        "int.attribute": 10,
        "double.attribute": 637.704,
        "array.attribute": ["many", "values"],
        "map.attribute": {"some.map.key": "some value"},
    }
    assert (extra["severity_number"], extra["observed_time"]) == (10, 1_544_712_660_300_000_000)


def test_raw_is_a_one_item_request_that_normalizes_to_the_same_event(corpora: Path) -> None:
    for name in ("trace.json", "logs.json"):
        (e,) = _events(_request(corpora / SPEC / name))
        assert e.raw is not None
        assert _without_raw(_events(json.loads(e.raw))) == _without_raw([e])


def test_every_otel_sample_normalizes(corpora: Path) -> None:
    files = sorted(p for p in (corpora / "otel").rglob("*.json"))
    assert len(files) == 2
    for path in files:
        for record in load_values(path):
            assert SOURCE.detect(record)
            events = _events(record)
            assert events and all(e.time > 0 and e.kind in KINDS for e in events)


# -- Kubernetes resource attributes and semantic conventions -------------------------------------


def test_server_span_with_k8s_resource_and_http_attributes() -> None:
    server, _ = _events(_request(FIXTURES / "otel/k8s-traces.json"))
    assert (server.time, server.end_time) == (1_795_864_502_123_456_789, 1_795_864_502_223_456_789)
    assert (server.trace_id, server.span_id, server.parent_span_id) == (
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "00f067aa0ba902b7",
        "53995c3f42cd8ad8",
    )
    assert (server.sensor_cluster, server.namespace, server.pod_name) == ("prod-eu1", "shop", "checkout-5d8f7b6c9-qm4tz")
    assert (server.pod_uid, server.node) == ("0b6f3c2e-4d1a-4e8b-9f7c-2a5d8e1b3c6f", "ip-10-0-3-17.eu-west-1.compute.internal")
    assert (server.container_name, server.container_id, server.image) == ("app", "8f14e45fceea", "ghcr.io/acme/checkout:2.4.1")
    assert (server.workload_kind, server.workload_name) == ("Deployment", "checkout")
    assert (server.span_kind, server.status, server.http_method, server.http_route) == (
        "server",
        "ERROR",
        "POST",
        "/api/orders/{id}/pay",
    )
    assert (server.http_url, server.http_code, server.enduser_id) == ("/api/orders/1042/pay?retry=1", 500, "alice@example.com")
    assert server.user_agent == "Mozilla/5.0 (X11; Linux x86_64)"
    # A server's source is its client; server.address is a name, not an IP, so only the port is kept.
    assert (server.src_ip, server.src_port, server.dst_ip, server.dst_port) == ("10.0.7.23", None, None, 8080)
    assert server.summary == "checkout: server POST /api/orders/{id}/pay -> 500 ERROR"
    extra = _extra(server)
    assert (extra["status_message"], extra["trace_state"]) == ("payment gateway timeout", "vendor=abc")
    assert extra["events"] == [
        {
            "name": "exception",
            "time": 1_795_864_502_200_000_000,
            "attributes": {"exception.type": "*errors.errorString", "exception.message": "payment gateway timeout"},
        }
    ]
    assert extra["attributes"]["server.port"] == 8080


def test_client_span_with_older_attribute_names() -> None:
    _, client = _events(_request(FIXTURES / "otel/k8s-traces.json"))
    assert (client.span_kind, client.status, client.http_method, client.http_code) == ("client", "ERROR", "POST", 504)
    assert client.http_url == "https://payments.example.net/v1/charge"
    assert (client.src_ip, client.dst_ip, client.dst_port) == (None, "203.0.113.50", 443)
    assert _extra(client)["links"] == [
        {"trace_id": "0af7651916cd43dd8448eb211c80319c", "span_id": "b9c7c989f97918e1", "attributes": {}}
    ]


def test_log_records_fall_back_to_observed_time_and_severity_number() -> None:
    structured, plain = _events(_request(FIXTURES / "otel/k8s-logs.json"))
    assert (structured.time, structured.priority, structured.sensor_cluster) == (1_795_864_502_210_000_000, "ERROR", None)
    assert structured.summary == '{"msg":"charge failed","order":1042}'
    assert (structured.namespace, structured.pod_name, structured.workload_name) == (
        "shop",
        "checkout-5d8f7b6c9-qm4tz",
        "checkout",
    )
    extra = _extra(structured)
    assert (extra["body"], extra["event_name"]) == ({"msg": "charge failed", "order": 1042}, "payment.failed")
    assert extra["attributes"] == {"payment.provider": "acme-pay", "payment.amount": 49.9, "payment.raw": "AQID"}
    assert (plain.time, plain.priority, plain.summary) == (1_795_864_502_300_000_000, "WARN", "retrying payment for order 1042")
    assert (plain.trace_id, plain.span_id) == (None, None)


def test_snake_case_proto_names_give_the_same_events() -> None:
    for name in ("k8s-traces.json", "k8s-logs.json"):
        value = _request(FIXTURES / "otel" / name)
        snake = _snake_case(value)
        assert "resource_spans" in snake or "resource_logs" in snake
        assert SOURCE.detect(snake)
        assert _without_raw(_events(snake)) == _without_raw(_events(value))


# -- OTLP/HTTP protobuf ----------------------------------------------------------------------------


def _json_documents(corpora: Path) -> list[dict[str, Any]]:
    return [_request(p) for p in (corpora / SPEC / "trace.json", corpora / SPEC / "logs.json")] + [
        _request(FIXTURES / "otel" / name) for name in ("k8s-traces.json", "k8s-logs.json")
    ]


def test_protobuf_body_gives_the_events_of_its_json_form(corpora: Path) -> None:
    for value in _json_documents(corpora):
        decoded = decode_bytes(_to_protobuf(value))
        assert decoded is not None and SOURCE.detect(decoded)
        assert _without_raw(_events(decoded)) == _without_raw(_events(value))


def test_protobuf_request_decodes_to_hex_ids_and_string_nanos(corpora: Path) -> None:
    decoded = decode_bytes(_to_protobuf(_request(corpora / SPEC / "trace.json")))
    assert decoded is not None
    span = decoded["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert (span["traceId"], span["spanId"], span["parentSpanId"]) == (TRACE_ID, "eee19b7ec3c1b174", "eee19b7ec3c1b173")
    assert (span["startTimeUnixNano"], span["kind"]) == ("1544712660000000000", 2)


def test_protobuf_file_is_read_by_the_ingest_reader(tmp_path: Path) -> None:
    body = tmp_path / "traces.pb"
    body.write_bytes(_to_protobuf(_request(FIXTURES / "otel/k8s-traces.json")))
    (value,) = load_values(body)
    assert [e.span_id for e in _events(value)] == ["00f067aa0ba902b7", "b7ad6b7169203331"]


@given(st.binary(max_size=256))
def test_decode_bytes_rejects_random_bytes(data: bytes) -> None:
    assert decode_bytes(data) is None


def test_decode_bytes_rejects_json_empty_and_implausible_requests(corpora: Path) -> None:
    assert decode_bytes((corpora / SPEC / "trace.json").read_bytes()) is None
    assert decode_bytes(b"") is None
    assert decode_bytes(ExportTraceServiceRequest().SerializeToString()) is None
    short_ids = ExportTraceServiceRequest()
    short_ids.resource_spans.add().scope_spans.add().spans.add(trace_id=b"\x01" * 8, span_id=b"\x02" * 8, name="x")
    assert decode_bytes(short_ids.SerializeToString()) is None
    no_time = ExportLogsServiceRequest()
    no_time.resource_logs.add().scope_logs.add().log_records.add(severity_text="INFO")
    assert decode_bytes(no_time.SerializeToString()) is None


# -- detection ------------------------------------------------------------------------------------


def test_detect_rejects_every_other_corpus(corpora: Path) -> None:
    files = [p for p in corpora.rglob("*") if p.is_file() and p.name != "MANIFEST.md" and "otel" not in p.parts]
    records = [record for path in files for record in load_values(path)]
    assert len(records) > 1000
    assert not any(SOURCE.detect(record) for record in records)


@given(JSON_VALUES)
def test_detect_never_raises_and_rejects_random_values(value: Any) -> None:
    top = {"resourceSpans", "resource_spans", "resourceLogs", "resource_logs"}
    result = SOURCE.detect(value)
    assert isinstance(result, bool)
    if not (isinstance(value, dict) and top & value.keys()):
        assert result is False


# -- quarantine -----------------------------------------------------------------------------------


def _trace_doc(corpora: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    doc = copy.deepcopy(_request(corpora / SPEC / "trace.json"))
    return doc, doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0]


def test_span_without_any_time_is_a_normalize_error(corpora: Path) -> None:
    doc, span = _trace_doc(corpora)
    del span["startTimeUnixNano"], span["endTimeUnixNano"]
    with pytest.raises(
        NormalizeError,
        match=r"resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]: span has neither startTimeUnixNano nor endTimeUnixNano",
    ):
        SOURCE.normalize(doc)


def test_span_without_valid_ids_is_a_normalize_error(corpora: Path) -> None:
    doc, span = _trace_doc(corpora)
    span["traceId"] = "5B8EFFF7"
    with pytest.raises(NormalizeError, match="traceId of 32"):
        SOURCE.normalize(doc)


def test_log_without_any_time_is_a_normalize_error(corpora: Path) -> None:
    doc = copy.deepcopy(_request(corpora / SPEC / "logs.json"))
    record = doc["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]
    del record["timeUnixNano"], record["observedTimeUnixNano"]
    with pytest.raises(NormalizeError, match="no timeUnixNano or observedTimeUnixNano"):
        SOURCE.normalize(doc)


def test_malformed_requests_are_normalize_errors() -> None:
    with pytest.raises(NormalizeError, match="resourceSpans: expected a list"):
        SOURCE.normalize({"resourceSpans": {"spans": []}})
    with pytest.raises(NormalizeError, match=r"resourceLogs\[0\]: expected a JSON object"):
        SOURCE.normalize({"resourceLogs": ["x"]})
    with pytest.raises(NormalizeError, match="JSON object"):
        SOURCE.normalize("resourceSpans")


def test_empty_request_has_no_events() -> None:
    assert _events({"resourceSpans": []}) == []


# -- optional fields and older OTLP -------------------------------------------------------------------


def test_span_without_start_time_is_dated_by_its_end(corpora: Path) -> None:
    doc, span = _trace_doc(corpora)
    assert _event(doc).time_source is None
    span["startTimeUnixNano"] = "0"  # proto3 JSON may also write the zero value
    e = _event(doc)
    assert (e.time, e.end_time, e.time_source) == (1_544_712_661_000_000_000, 1_544_712_661_000_000_000, "endTimeUnixNano")


def test_log_record_time_source_names_the_observed_time(corpora: Path) -> None:
    doc = copy.deepcopy(_request(corpora / SPEC / "logs.json"))
    record = doc["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]
    assert _events(doc)[0].time_source is None
    del record["timeUnixNano"]
    first = _events(doc)[0]
    assert (first.time, first.time_source) == (1_544_712_660_300_000_000, "observedTimeUnixNano")


def _older(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {renames.get(k, k): _older(v, renames) for k, v in node.items()}
    if isinstance(node, list):
        return [_older(v, renames) for v in node]
    return node


V0_14 = {
    "scopeSpans": "instrumentationLibrarySpans",
    "scopeLogs": "instrumentationLibraryLogs",
    "scope": "instrumentationLibrary",
}


@pytest.mark.parametrize(
    ("name", "renames"),
    [
        ("trace.json", V0_14),  # OTLP v0.9 to v0.14
        ("logs.json", V0_14),  # v0.12 to v0.14
        ("logs.json", V0_14 | {"logRecords": "logs"}),  # before v0.12
    ],
)
def test_older_otlp_gives_the_same_events(corpora: Path, name: str, renames: dict[str, str]) -> None:
    value = _request(corpora / SPEC / name)
    old = _older(value, renames)
    assert SOURCE.detect(old)
    assert _without_raw(_events(old)) == _without_raw(_events(value))
    assert _without_raw(_events(_snake_case(old))) == _without_raw(_events(value))
    for e in _events(old):  # raw keeps the request's own shape, and reads back to the same event
        assert e.raw is not None and renames["scopeSpans" if "Spans" in e.raw else "scopeLogs"] in e.raw
        assert _without_raw(_events(json.loads(e.raw))) == _without_raw([e])


def test_base64_ids_of_older_otlp_json_read_as_hex(corpora: Path) -> None:
    doc, span = _trace_doc(corpora)
    _hex_to_base64(span, "traceId", "spanId", "parentSpanId")
    assert len(span["traceId"]) == 24
    e = _event(doc)
    assert (e.trace_id, e.span_id, e.parent_span_id) == (TRACE_ID, "eee19b7ec3c1b174", "eee19b7ec3c1b173")


def test_status_with_only_the_deprecated_code_is_an_error(corpora: Path) -> None:
    doc, span = _trace_doc(corpora)
    span["status"] = {"deprecatedCode": "DEPRECATED_STATUS_CODE_UNKNOWN_ERROR", "message": "boom"}
    assert _event(doc).status == "ERROR"
    span["status"] = {"code": "STATUS_CODE_UNSET", "deprecatedCode": 2}
    assert _event(doc).status == "ERROR"
    span["status"] = {"deprecatedCode": "DEPRECATED_STATUS_CODE_OK"}
    assert _event(doc).status == "UNSET"
    span["status"] = {"code": 1, "deprecatedCode": 2}  # the new field wins when set
    assert _event(doc).status == "OK"


def test_empty_scopes_and_nameless_items_read(corpora: Path) -> None:
    # protojson leaves out an empty list of spans, a span's empty name and a record's empty body.
    assert _events({"resourceSpans": [{"scopeSpans": [{"scope": {"name": "x"}}]}]}) == []
    doc, span = _trace_doc(corpora)
    del span["name"]
    assert _event(doc).summary == "my.service: server span"
    logs = copy.deepcopy(_request(corpora / SPEC / "logs.json"))
    record = logs["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]
    del record["body"]
    record["eventName"] = "device.app.lifecycle"
    assert _events(logs)[0].summary == "device.app.lifecycle"
