"""`kubetrail serve` from a YAML configuration, over TLS, with the audit receiver requiring the
client certificate the kube-apiserver's webhook kubeconfig presents; its CN names the sender and
the cluster. Real process, real sockets, certificates from real CAs (trustme)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trustme
import yaml

from kubetrail.store.duckdb import DuckDBStore
from tests.serve.conftest import event_list
from tests.serve.test_crash import Server, free_port
from tests.serve.test_receivers import audit_events

TOKEN = "falco-sender-token"


class TLSServer(Server):
    def __init__(self, tmp: Path, config: Path) -> None:
        super().__init__(tmp)
        self.config = config
        self.url = f"https://127.0.0.1:{self.port}"

    def start(self) -> None:
        cmd = [sys.executable, "-m", "kubetrail", "serve", "--config", str(self.config)]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=log)
        self.wait_up()


@pytest.fixture
def pki_server(tmp_path: Path) -> Iterator[tuple[TLSServer, trustme.LeafCert, trustme.LeafCert, trustme.LeafCert]]:
    server_ca, client_ca, other_ca = trustme.CA(), trustme.CA(), trustme.CA()
    leaf = server_ca.issue_cert("127.0.0.1", "localhost")
    leaf.private_key_pem.write_to_path(str(tmp_path / "server.key"))
    for i, blob in enumerate(leaf.cert_chain_pems):
        blob.write_to_path(str(tmp_path / "server.crt"), append=i > 0)
    client_ca.cert_pem.write_to_path(str(tmp_path / "client-ca.crt"))
    (tmp_path / "falco.token").write_text(TOKEN + "\n")
    port = free_port()
    config = {
        "db": str(tmp_path / "s.duckdb"),
        "listen": f"127.0.0.1:{port}",
        "tls": {"cert_file": str(tmp_path / "server.crt"), "key_file": str(tmp_path / "server.key"),
                "client_ca_file": str(tmp_path / "client-ca.crt")},
        "audit_requires_client_cert": True,
        "client_certs": [{"cn": "system:kube-apiserver", "role": "ingest", "cluster": "prod-euw1"}],
        "tokens": [{"file": str(tmp_path / "falco.token"), "role": "ingest", "cluster": "prod-euw1"}],
    }  # fmt: skip
    (tmp_path / "kubetrail.yaml").write_text(yaml.safe_dump(config))
    server = TLSServer(tmp_path, tmp_path / "kubetrail.yaml")
    server.port = port
    server.url = f"https://127.0.0.1:{port}"
    apiserver = client_ca.issue_cert("kube-apiserver", common_name="system:kube-apiserver")
    stranger = other_ca.issue_cert("kube-apiserver", common_name="system:kube-apiserver")
    unlisted = client_ca.issue_cert("node-1", common_name="system:node:node-1")  # the CA's, not in client_certs
    server_ca.cert_pem.write_to_path(str(tmp_path / "server-ca.crt"))
    server.start()
    try:
        yield server, unlisted, apiserver, stranger
    finally:
        server.terminate()


def client(tmp: Path, cert: trustme.LeafCert | None) -> httpx.Client:
    import ssl

    ctx = ssl.create_default_context(cafile=str(tmp / "server-ca.crt"))
    if cert is not None:
        cert.private_key_and_cert_chain_pem.write_to_path(str(tmp / "client.pem"))
        ctx.load_cert_chain(str(tmp / "client.pem"))
    return httpx.Client(verify=ctx, timeout=10)


def test_the_apiservers_certificate_is_required_for_audit_and_its_cn_names_the_cluster(
    tmp_path: Path, corpora: Path, pki_server: tuple[TLSServer, trustme.LeafCert, trustme.LeafCert, trustme.LeafCert]
) -> None:
    server, unlisted, apiserver, stranger = pki_server
    events = audit_events(corpora)[:5]
    with client(tmp_path, apiserver) as c:
        assert c.post(f"{server.url}/v1/audit", content=event_list(events)).status_code == 200
    with client(tmp_path, None) as c:
        token = {"authorization": f"Bearer {TOKEN}"}
        refused = c.post(f"{server.url}/v1/audit", content=event_list(events), headers=token)
        assert refused.status_code == 403  # a token is not enough for the audit receiver here
        assert "client certificate" in refused.json()["error"]["message"]
        assert c.post(f"{server.url}/v1/falco", content=b'{"rule": "r", "output": "o", "time": "2026-11-28T10:00:00Z",'
                      b' "priority": "Notice"}', headers=token).status_code == 200  # fmt: skip
        assert c.post(f"{server.url}/v1/audit", content=event_list(events)).status_code == 401
    with client(tmp_path, unlisted) as c:
        # A token beside a certificate the CA signed for someone else: still not the API server.
        refused = c.post(f"{server.url}/v1/audit", content=event_list(events), headers={"authorization": f"Bearer {TOKEN}"})
        assert refused.status_code == 403
        assert "client_certs" in refused.json()["error"]["message"]
    with pytest.raises(httpx.TransportError), client(tmp_path, stranger) as c:
        c.post(f"{server.url}/v1/audit", content=event_list(events))
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{server.port}/healthz", timeout=5)  # plain HTTP to the TLS port
    assert server.terminate() == 0
    store = DuckDBStore(server.db, read_only=True)
    try:
        assert store.cluster_names() == ["prod-euw1"]
        origins = {p for (p,) in store.con.execute("SELECT path FROM files").fetchall()}
        assert origins == {"POST /v1/audit from cert:system:kube-apiserver", "POST /v1/falco from token:falco.token"}
    finally:
        store.close()


def test_print_config_masks_the_tokens(tmp_path: Path) -> None:
    (tmp_path / "tokens").write_text("s3cret-token-value\n")
    out = subprocess.run(
        [sys.executable, "-m", "kubetrail", "serve", "--db", str(tmp_path / "s.duckdb"), "--token-file",
         str(tmp_path / "tokens"), "--listen", "127.0.0.1:9999", "--print-config"],
        capture_output=True, check=True,
    )  # fmt: skip
    doc = json.loads(out.stdout)
    assert "s3cret" not in out.stdout.decode()
    assert doc["listen"] == "127.0.0.1:9999"
    assert doc["tokens"][0]["role"] == "admin"
    assert doc["tokens"][0]["tokens"][0].startswith("sha256:")


def test_a_bad_configuration_says_what_is_wrong_and_where(tmp_path: Path) -> None:
    (tmp_path / "kubetrail.yaml").write_text("listen: nowhere\ntokens: [{file: /nonexistent/tokens, role: ingest}]\n")
    out = subprocess.run(
        [sys.executable, "-m", "kubetrail", "serve", "--config", str(tmp_path / "kubetrail.yaml")],
        capture_output=True,
        check=False,
    )
    assert out.returncode == 2
    message = out.stderr.decode()
    assert "kubetrail.yaml" in message
    assert "/nonexistent/tokens" in message or "listen" in message
