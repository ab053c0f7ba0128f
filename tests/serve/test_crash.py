"""The real `kubetrail serve` process, killed with SIGKILL at random moments while several senders
retry like the kube-apiserver's webhook backend (the same batch again after a timeout or a 5xx):
every event of every request answered 2xx is stored exactly once. SIGTERM drains and exits 0."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson

from kubetrail.store.duckdb import DuckDBStore
from tests.serve.conftest import event_list
from tests.serve.test_receivers import audit_events

TOKEN = "crash-test-token"
KILLS = 10


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, tmp: Path) -> None:
        self.db = tmp / "s.duckdb"
        self.tokens = tmp / "tokens"
        self.tokens.write_text(TOKEN + "\n")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp / "serve.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.extra: list[str] = []
        self.workers: list[int] = []  # the normalizing workers of the processes killed
        self.listen = f"127.0.0.1:{self.port}"

    def start(self) -> None:
        cmd = [sys.executable, "-m", "kubetrail", "serve", "--db", str(self.db), "--listen", self.listen,
               "--token-file", str(self.tokens), "--cluster", "crash", *self.extra]  # fmt: skip
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=log)
        self.wait_up()

    def wait_up(self) -> None:
        """Until <db>.serve.json names this process (it is listening)."""
        held = Path(f"{self.db}.serve.json")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited {self.proc.returncode}: {self.log.read_text()}")
            if held.exists() and f'"pid": {self.proc.pid}' in held.read_text():
                return
            time.sleep(0.05)
        raise AssertionError(f"serve did not come up: {self.log.read_text()}")

    def kill(self) -> None:
        assert self.proc is not None
        self.workers.extend(children(self.proc.pid))
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def terminate(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)


def children(pid: int) -> list[int]:
    out = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            out.extend(int(c) for c in f.read().split())
    return out


def running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def batches(corpora: Path, senders: int, per_sender: int, size: int, seed: int) -> list[list[list[dict[str, Any]]]]:
    """Distinct audit events made from the corpora's (each a new request: a new auditID)."""
    rng = random.Random(seed)
    templates = audit_events(corpora)
    out = []
    for _ in range(senders):
        mine = []
        for _ in range(per_sender):
            batch = []
            for _ in range(size):
                event = dict(rng.choice(templates))
                event["auditID"] = str(uuid.UUID(int=rng.getrandbits(128)))
                batch.append(event)
            mine.append(batch)
        out.append(mine)
    return out


def send(url: str, mine: list[list[dict[str, Any]]], acked: list[str], done: threading.Event) -> None:
    """Like the webhook backend: each batch until it is answered 2xx (timeouts and 5xx: again)."""
    with httpx.Client(headers={"authorization": f"Bearer {TOKEN}"}, timeout=3.0) as client:
        for batch in mine:
            body = event_list(batch)
            while True:
                try:
                    response = client.post(f"{url}/v1/audit", content=body, headers={"content-type": "application/json"})
                except httpx.TransportError:
                    time.sleep(0.05)
                    continue
                if response.status_code == 200:
                    acked.extend(e["auditID"] for e in batch)
                    time.sleep(0.03)  # the next batch comes a little later, as the apiserver's do
                    break
                assert response.status_code in (429, 500, 502, 503), response.text
                time.sleep(0.05)
    done.set()


def test_killed_at_random_moments_every_acknowledged_event_is_stored_exactly_once(tmp_path: Path, corpora: Path) -> None:
    server = Server(tmp_path)
    server.start()
    work = batches(corpora, senders=4, per_sender=400, size=10, seed=11)
    acked: list[str] = []
    dones = [threading.Event() for _ in work]
    threads = [threading.Thread(target=send, args=(server.url, mine, acked, d)) for mine, d in zip(work, dones, strict=True)]
    for t in threads:
        t.start()
    rng = random.Random(5)
    acked_at_kill = []
    while len(acked_at_kill) < KILLS:
        time.sleep(rng.uniform(0.2, 0.8))
        server.kill()
        acked_at_kill.append(len(acked))
        server.start()
    for t in threads:
        t.join(timeout=120)
    assert all(d.is_set() for d in dones), "a sender did not get all its batches acknowledged"
    assert server.terminate() == 0
    assert not Path(f"{server.db}.serve.json").exists()
    store = DuckDBStore(server.db, read_only=True)
    try:
        rows = store.con.execute("SELECT raw FROM events").fetchall()
        stored = [orjson.loads(raw)["auditID"] for (raw,) in rows]
        assert store.con.execute("SELECT count(*) FROM quarantine").fetchall()[0][0] == 0
    finally:
        store.close()
    assert len(stored) == len(set(stored)), "an event was stored twice"
    assert set(acked) <= set(stored), f"{len(set(acked) - set(stored))} acknowledged events are missing"
    total = sum(len(b) for mine in work for b in mine)
    assert len(acked) == total
    # The kills fell while the senders were at work: acknowledgements went on between them.
    assert acked_at_kill[-1] < total
    assert len(set(acked_at_kill)) == KILLS, acked_at_kill
    log = server.log.read_text()
    assert log.count("stopped without cleaning up") == KILLS, log
    # The workers of a killed server end on their own, soon after it.
    assert server.workers, "no server had started its normalizing worker"
    deadline = time.monotonic() + 10
    while any(running(pid) for pid in server.workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in server.workers if running(pid)], "a killed server's worker was left running"


def test_sigterm_finishes_what_was_received_and_exits_cleanly(tmp_path: Path, corpora: Path) -> None:
    server = Server(tmp_path)
    server.start()
    events = audit_events(corpora)
    response = httpx.post(f"{server.url}/v1/audit", content=event_list(events), headers={"authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert server.terminate() == 0
    store = DuckDBStore(server.db, read_only=True)
    try:
        assert store.con.execute("SELECT count(DISTINCT raw) FROM events").fetchall()[0][0] > 0
        cursor = store.cursor("spool")
        assert cursor is not None
        assert cursor.position > 0
    finally:
        store.close()
    assert "draining" in server.log.read_text()
    assert not any(p.name.endswith((".serve.json", ".serve.token")) for p in tmp_path.iterdir())


def test_a_second_serve_on_a_held_store_exits_1_naming_the_pid(tmp_path: Path) -> None:
    server = Server(tmp_path)
    server.start()
    try:
        assert server.proc is not None
        env = {**os.environ}
        second = subprocess.run(
            [sys.executable, "-m", "kubetrail", "serve", "--db", str(server.db), "--listen", f"127.0.0.1:{free_port()}",
             "--token-file", str(server.tokens)],
            capture_output=True, env=env, timeout=60, check=False,
        )  # fmt: skip
        assert second.returncode == 1
        assert f"PID {server.proc.pid}" in second.stderr.decode()
    finally:
        assert server.terminate() == 0


def test_serve_follows_export_files_beside_what_it_receives(tmp_path: Path, corpora: Path) -> None:
    lines = (corpora / "hubble" / "hubble-otel" / "basic-sample-10-flows.json").read_bytes().splitlines(keepends=True)
    export = tmp_path / "hubble-export.log"
    export.write_bytes(b"".join(lines[:4]))
    server = Server(tmp_path)
    server.extra = ["--follow", str(export)]
    server.start()
    with export.open("ab") as f:
        f.write(b"".join(lines[4:]))
    response = httpx.post(
        f"{server.url}/v1/audit", content=event_list(audit_events(corpora)[:3]), headers={"authorization": f"Bearer {TOKEN}"}
    )
    assert response.status_code == 200
    time.sleep(1.0)  # the follower's poll and linger (0.2 s, 0.5 s): what was appended is read before the stop
    assert server.terminate() == 0
    store = DuckDBStore(server.db, read_only=True)
    try:
        by_source = dict(store.con.execute("SELECT source, count(*) FROM events GROUP BY source").fetchall())
        cursor = store.cursor(f"follow:{export}")
    finally:
        store.close()
    assert by_source["hubble"] == len(lines)
    assert by_source["k8s_audit"] >= 1
    assert cursor is not None
    assert cursor.position == export.stat().st_size


def test_a_file_that_cannot_be_followed_stops_the_start_with_the_reason(tmp_path: Path) -> None:
    server = Server(tmp_path)
    out = subprocess.run(
        [sys.executable, "-m", "kubetrail", "serve", "--db", str(server.db), "--token-file", str(server.tokens),
         "--listen", f"127.0.0.1:{server.port}", "--follow", str(tmp_path / "missing.log")],
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert out.returncode == 1
    assert "missing.log" in out.stderr.decode()


def test_the_cli_asks_a_serve_listening_on_every_address_over_tls(tmp_path: Path) -> None:
    """In a pod: serve on 0.0.0.0 with a certificate for the Service's name only; `kubectl exec ...
    kubetrail status` on the held store comes over loopback and trusts exactly that certificate."""
    import trustme

    ca = trustme.CA()
    leaf = ca.issue_cert("kubetrail.kubetrail.svc")
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    server = Server(tmp_path)
    config = tmp_path / "kubetrail.yaml"
    config.write_text(f"tls: {{cert_file: {cert}, key_file: {key}}}\n")
    server.extra = ["--config", str(config)]
    server.listen = f"0.0.0.0:{server.port}"
    server.start()
    try:
        held = orjson.loads(Path(f"{server.db}.serve.json").read_bytes())
        assert held["url"] == f"https://127.0.0.1:{server.port}"
        asked = subprocess.run([sys.executable, "-m", "kubetrail", "status", "--db", str(server.db), "-o", "json"],
                               capture_output=True, timeout=60, check=False)  # fmt: skip
        assert asked.returncode == 0, asked.stderr.decode()
        assert orjson.loads(asked.stdout)["events"] == 0
    finally:
        assert server.terminate() == 0
