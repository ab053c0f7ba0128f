"""`/metrics`: what serve received, stored, refused and how far each sensor has come, read by a
Prometheus text parser in-process, and scraped by a real Prometheus (Debian's `prometheus`)."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from kubetrail.store.duckdb import DuckDBStore
from kubetrail.timeutil import NS, parse_rfc3339
from tests.serve.conftest import VIEWER, Served, event_list, served
from tests.serve.test_crash import TOKEN, Server, free_port
from tests.serve.test_receivers import audit_events


def samples(s: Served) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = s.client.get("/metrics", headers={"authorization": f"Bearer {VIEWER}"})
    assert response.status_code == 200, response.text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_metrics_count_what_was_received_stored_repeated_and_refused(tmp_path: Path, corpora: Path) -> None:
    events = audit_events(corpora)
    with served(tmp_path) as s:
        assert s.post("/v1/audit", event_list(events)).status_code == 200
        assert s.post("/v1/audit", event_list(events)).status_code == 200  # the webhook's retry: duplicates
        assert s.post("/v1/audit", b"{not json").status_code == 400
        assert s.client.post("/v1/audit", content=event_list(events)).status_code == 401  # no token
        s.core.stop()
        m = samples(s)
        in_store = s.store.con.execute("SELECT count(*) FROM events").fetchall()[0][0]
    stored = m["kubetrail_events_stored_total", (("source", "k8s_audit"),)]
    assert stored == in_store > 0
    assert m["kubetrail_requests_received_total", (("receiver", "/v1/audit"),)] == 2
    assert m["kubetrail_records_received_total", (("receiver", "/v1/audit"),)] == 2 * len(events)
    assert m["kubetrail_events_duplicate_total", (("receiver", "/v1/audit"),)] == 2 * len(events) - in_store
    assert m["kubetrail_requests_refused_total", (("reason", "unreadable"),)] == 1
    assert m["kubetrail_requests_refused_total", (("reason", "no_credentials"),)] == 1
    assert m["kubetrail_spool_backlog_bytes", ()] == 0
    assert m["kubetrail_store_write_seconds_count", ()] >= 1
    memory = {labels: v for (name, labels), v in m.items() if name == "kubetrail_store_memory_bytes"}
    assert memory and all(v > 0 for v in memory.values()), memory
    newest = max(parse_rfc3339(e["stageTimestamp"]) for e in events)
    assert m["kubetrail_newest_event_timestamp_seconds", (("node", ""), ("source", "k8s_audit"))] == pytest.approx(newest / NS)


def test_metrics_need_a_token_unless_made_public(tmp_path: Path) -> None:
    with served(tmp_path) as s:
        assert s.client.get("/metrics").status_code == 401
        assert s.client.get("/healthz").status_code == 200


# -- a real Prometheus ------------------------------------------------------------------------------
def _prometheus_binary() -> str:
    """Found before the server starts: a skip after would leave the server running."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("Debian's prometheus is not installed here (apt-get install prometheus; CI installs it)")
    return binary


def _prometheus(binary: str, tmp_path: Path, target: str, token_file: Path) -> tuple[subprocess.Popen[bytes], str]:
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, scrape_timeout: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: kubetrail\n"
        f"    authorization: {{credentials_file: {token_file}}}\n"
        f"    static_configs: [{{targets: ['{target}']}}]\n"
    )
    port = free_port()
    log = open(tmp_path / "prometheus.log", "wb")  # noqa: SIM115 (open while the process runs)
    proc = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=log, stderr=log,
    )  # fmt: skip
    return proc, f"http://127.0.0.1:{port}"


def _query(url: str, promql: str) -> list[dict[str, Any]]:
    try:
        response = httpx.get(f"{url}/api/v1/query", params={"query": promql}, timeout=2, trust_env=False)
    except httpx.TransportError:
        return []
    if response.status_code != 200:
        return []
    result: list[dict[str, Any]] = response.json()["data"]["result"]
    return result


def _eventually(url: str, promql: str, ok: Any, seconds: float = 30) -> list[dict[str, Any]]:
    deadline = time.monotonic() + seconds
    result = _query(url, promql)
    while not ok(result) and time.monotonic() < deadline:
        time.sleep(0.2)
        result = _query(url, promql)
    return result


def test_prometheus_scrapes_serve_with_its_token(tmp_path: Path, corpora: Path) -> None:
    binary = _prometheus_binary()
    server = Server(tmp_path)
    server.start()
    proc, prometheus = _prometheus(binary, tmp_path, f"127.0.0.1:{server.port}", server.tokens)
    try:
        events = audit_events(corpora)
        headers = {"authorization": f"Bearer {TOKEN}"}
        assert httpx.post(f"{server.url}/v1/audit", content=event_list(events), headers=headers).status_code == 200
        up = _eventually(prometheus, 'up{job="kubetrail"}', lambda r: r and r[0]["value"][1] == "1")
        assert up and up[0]["value"][1] == "1", (tmp_path / "prometheus.log").read_text()[-2000:]
        query = 'kubetrail_events_stored_total{source="k8s_audit"}'
        stored = _eventually(prometheus, query, lambda r: bool(r) and r[0]["value"][1] != "0")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        assert server.terminate() == 0
    store = DuckDBStore(server.db, read_only=True)
    try:
        assert stored and float(stored[0]["value"][1]) == store.con.execute("SELECT count(*) FROM events").fetchall()[0][0]
    finally:
        store.close()
