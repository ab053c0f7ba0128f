"""The receivers, in the producers' wire formats built from the real corpora: what they acknowledge
ends up in the store exactly as `ingest` stores the same records; bad input is refused with the
reason, or quarantined record by record; limits, authentication and backpressure answer as the
contract says."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import orjson
import pytest

from kubetrail.ingest.pipeline import Options, ingest
from kubetrail.store.duckdb import DuckDBStore
from tests.conftest import load_values
from tests.serve.conftest import ADMIN, INGEST, VIEWER, event_list, gz, otlp_protobuf, served


def audit_events(corpora: Path) -> list[dict[str, Any]]:
    """Every native audit Event of the corpora (what a webhook backend sends; not GKE/AKS wrappers)."""
    paths = sorted((corpora / "falco" / "k8s_audit").glob("*.json")) + sorted((corpora / "k8s-audit").rglob("*.log"))
    return [v for p in paths for v in load_values(p) if isinstance(v, dict) and v.get("kind") == "Event"]


def stored_ids(store: DuckDBStore) -> dict[str, str]:
    return dict(store.con.execute("SELECT id, source FROM events").fetchall())


def ingested_ids(tmp_path: Path, files: list[Path], source: str | None = None) -> dict[str, str]:
    from kubetrail.sources import registry

    store = DuckDBStore(tmp_path / "files.duckdb")
    try:
        ingest(store, [str(f) for f in files], Options(workers=1, source=registry()[source] if source else None))
        return stored_ids(store)
    finally:
        store.close()


def test_audit_webhook_batches_and_blocking_requests_store_what_ingest_stores(tmp_path: Path, corpora: Path) -> None:
    events = audit_events(corpora)
    assert len(events) > 50
    with served(tmp_path) as s:
        half = len(events) // 2
        assert s.post("/v1/audit", event_list(events[:half]), content_type="application/json").json()["accepted"] == half
        for event in events[half:]:  # blocking mode: one event per request
            assert s.post("/v1/audit", event_list([event])).status_code == 200
        got = stored_ids(s.drained())
    (tmp_path / "events.jsonl").write_bytes(b"\n".join(orjson.dumps(e) for e in events))
    assert got == ingested_ids(tmp_path, [tmp_path / "events.jsonl"])


def test_falco_http_output_and_falcosidekick_alerts_are_stored(tmp_path: Path, corpora: Path) -> None:
    website = sorted((corpora / "falco" / "falco-website").glob("*.jsonl"))
    files = [*website, corpora / "falco" / "output_files" / "single_rule_with_cat_write.json"]
    alerts = [a for f in files for a in load_values(f)]
    with served(tmp_path) as s:
        for alert in alerts:  # one alert per request, as Falco's http_output and falcosidekick's webhook send them
            assert s.post("/v1/falco", orjson.dumps(alert), content_type="application/json").status_code == 200
        got = stored_ids(s.drained())
    assert got == ingested_ids(tmp_path, files)
    assert set(got.values()) == {"falco"}


@pytest.mark.parametrize("encoding", ["protobuf", "json", "protobuf+gzip"])
def test_otlp_traces_and_logs_as_a_collector_sends_them(tmp_path: Path, corpora: Path, encoding: str) -> None:
    folder = corpora / "otel" / "opentelemetry-proto"
    with served(tmp_path) as s:
        for signal, name in (("traces", "trace.json"), ("logs", "logs.json")):
            value = orjson.loads((folder / name).read_bytes())
            if encoding.startswith("protobuf"):
                body, headers = otlp_protobuf(value, signal), {"content-type": "application/x-protobuf"}
            else:
                body, headers = orjson.dumps(value), {"content-type": "application/json"}
            if encoding.endswith("gzip"):
                body, headers = gz(body), {**headers, "content-encoding": "gzip"}
            response = s.post(f"/v1/{signal}", body, **headers)
            assert response.status_code == 200
            assert response.headers["content-type"].startswith(headers["content-type"])
        got = stored_ids(s.drained())
    assert got == ingested_ids(tmp_path, [folder / "trace.json", folder / "logs.json"])


def test_ndjson_from_shippers_takes_tetragon_and_hubble_export_files(tmp_path: Path, corpora: Path) -> None:
    tetragon = sorted((corpora / "tetragon" / "docs-extracted").glob("*.jsonl"))
    hubble = sorted((corpora / "hubble" / "hubble-otel").glob("*.json"))
    with served(tmp_path) as s:
        for path in tetragon:  # Fluent Bit http output, json_lines
            assert s.post("/v1/ingest?source=tetragon", path.read_bytes()).status_code == 200
        for path in hubble:  # Vector http sink, ndjson, gzip
            assert s.post("/v1/ingest", gz(path.read_bytes()), **{"content-encoding": "gzip"}).status_code == 200
        got = stored_ids(s.drained())
    assert got == ingested_ids(tmp_path, tetragon + hubble)


def test_unreadable_bodies_are_refused_with_the_reason(tmp_path: Path) -> None:
    with served(tmp_path) as s:
        cases = {
            "/v1/audit": (b'{"kind": "EventList", "items": [', "invalid JSON"),
            "/v1/falco": (b"[1, 2]", "expected an alert"),
            "/v1/traces": (b"\x0a\xff\xff\xff", "not a protobuf ExportTraceServiceRequest"),
            "/v1/ingest": (b"nope\nnot json either\n", "no readable record"),
        }
        for path, (body, reason) in cases.items():
            content_type = "application/x-protobuf" if path == "/v1/traces" else "application/json"
            response = s.post(path, body, content_type=content_type)
            assert response.status_code == 400, path
            assert reason in response.json()["error"]["message"]
        bad_gzip = s.post("/v1/ingest", b"\x1f\x8b\x08\x00garbage", **{"content-encoding": "gzip"})
        assert bad_gzip.status_code == 400
        assert "gzip" in bad_gzip.json()["error"]["message"]
        unknown = s.post("/v1/ingest?source=syslog", b"{}\n")
        assert unknown.status_code == 400
        assert "syslog" in unknown.json()["error"]["message"]
        assert s.core.counters.rejected["unreadable"] == 5
        assert not stored_ids(s.drained())


def test_the_readable_records_of_a_batch_go_in_and_the_rest_is_quarantined_with_its_line(tmp_path: Path, corpora: Path) -> None:
    lines = (
        (corpora / "tetragon" / "docs-extracted" / "use-cases_host-system-changes_linux-kernel-modules.jsonl")
        .read_bytes()
        .splitlines()
    )
    body = b"\n".join([lines[0], b'{"truncated": ', lines[1]]) + b"\n"
    with served(tmp_path) as s:
        response = s.post("/v1/ingest?source=tetragon", body)
        assert response.json() == {"accepted": 2, "unreadable": 1}
        store = s.drained()
        reasons = [r for (r,) in store.con.execute("SELECT reason FROM quarantine").fetchall()]
        assert len(reasons) == 1
        assert reasons[0].startswith("POST /v1/ingest from token:admin:2: invalid JSON")
        assert store.con.execute("SELECT count(*) FROM events").fetchall()[0][0] >= 2


def test_bodies_over_the_limits_are_refused_with_413(tmp_path: Path) -> None:
    with served(tmp_path, max_body_bytes=1000, max_decoded_bytes=5000) as s:
        big = b'{"a": "' + b"x" * 2000 + b'"}\n'
        assert s.post("/v1/ingest", big).status_code == 413
        chunked = s.client.post("/v1/ingest", content=iter([big[:600], big[600:]]), headers={"authorization": f"Bearer {ADMIN}"})
        assert chunked.status_code == 413  # no Content-Length: counted as it streams
        bomb = gz(b'{"a": "' + b"x" * 100_000 + b'"}\n')
        assert len(bomb) < 1000
        response = s.post("/v1/ingest", bomb, **{"content-encoding": "gzip"})
        assert response.status_code == 413
        assert "decompresses" in response.json()["error"]["message"]


def test_without_a_valid_token_nothing_but_health_checks_answer(tmp_path: Path) -> None:
    with served(tmp_path) as s:
        assert s.client.get("/healthz").status_code == 200
        assert s.client.get("/readyz").status_code == 200
        assert s.client.post("/v1/falco", content=b"{}").status_code == 401
        assert s.post("/v1/falco", b"{}", token="wrong").status_code == 401
        basic = s.client.post("/v1/falco", content=b"{}", headers={"authorization": "Basic YWRtaW46YWRtaW4="})
        assert basic.status_code == 401
        assert s.post("/v1/falco", b"{}", token=VIEWER).status_code == 403  # a viewer may not send
        assert s.client.get("/api/v1/status").status_code == 401
        assert s.auth.refused == {"no_credentials": 2, "wrong_token": 2, "role": 1}


def test_a_tokens_cluster_names_its_events_and_it_may_not_name_another(tmp_path: Path, corpora: Path) -> None:
    event = audit_events(corpora)[0]
    with served(tmp_path) as s:
        assert s.post("/v1/audit?cluster=staging", event_list([event]), token=INGEST).status_code == 403
        assert s.post("/v1/audit", event_list([event]), token=INGEST).status_code == 200
        assert s.post("/v1/audit?cluster=staging", event_list([event])).status_code == 200  # the admin token may
        store = s.drained()
        assert store.cluster_names() == ["prod-euw1"]  # the same event again is a duplicate, whatever the name


def test_past_the_spool_high_water_mark_receivers_answer_503_with_retry_after(tmp_path: Path, corpora: Path) -> None:
    body = (corpora / "hubble" / "hubble-otel" / "basic-sample-10-flows.json").read_bytes()
    with served(tmp_path, spool_high_water=1) as s:
        s.core._stopping.set()  # hold the drain back: the backlog stays
        with s.core._new_data:
            s.core.drained = s.core.durable
        first = s.post("/v1/ingest", body)
        assert first.status_code == 200
        refused = s.post("/v1/ingest", body)
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "2"
        assert s.client.get("/readyz").status_code == 503
        assert s.core.counters.rejected["backpressure"] == 1


def test_a_flood_of_garbage_from_one_sender_never_stops_the_others(tmp_path: Path, corpora: Path) -> None:
    events = audit_events(corpora)
    with served(tmp_path) as s:
        stop = threading.Event()
        garbage: list[int] = []

        def flood() -> None:
            while not stop.is_set():
                garbage.append(s.post("/v1/audit", b"\x00" * 4096, token="wrong").status_code)
                garbage.append(s.post("/v1/audit", b"{" * 4096).status_code)

        flooder = threading.Thread(target=flood)
        flooder.start()
        try:
            codes = [s.post("/v1/audit", event_list([e]), token=INGEST).status_code for e in events[:40]]
        finally:
            stop.set()
            flooder.join()
        assert codes == [200] * 40
        assert set(garbage) == {400, 401}
        store = s.drained()
        assert store.con.execute("SELECT count(*) FROM events").fetchall()[0][0] == len(
            {(e["auditID"], e.get("stage")) for e in events[:40]}
        )


def test_unknown_paths_and_methods_answer_in_the_error_shape(tmp_path: Path) -> None:
    with served(tmp_path) as s:
        missing = s.client.get("/api/v1/nothing", headers={"authorization": f"Bearer {ADMIN}"})
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "not_found"
        wrong = s.client.get("/v1/audit", headers={"authorization": f"Bearer {ADMIN}"})
        assert wrong.status_code == 405
        assert wrong.json()["error"]["code"] == "method_not_allowed"
