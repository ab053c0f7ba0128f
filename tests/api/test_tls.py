"""TLS for `kubetrail serve`: a real uvicorn over real sockets, with certificates from three CAs."""

from __future__ import annotations

import re
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
import uvicorn
from cryptography import x509
from hypothesis import example, given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from kubetrail.api.tls import TLSConfig, TLSError, client_cert_name, protocols, rfc4514, server_context, uvicorn_options

CLIENT_CN = "system:kube-apiserver"


@dataclass(frozen=True)
class PKI:
    server_ca: trustme.CA
    client_ca: trustme.CA
    other_ca: trustme.CA
    client: trustme.LeafCert  # signed by client_ca
    stranger: trustme.LeafCert  # signed by other_ca, same CN
    cfg: TLSConfig  # the server's certificate, key and the client CA
    files: Path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    files = tmp_path_factory.mktemp("pki")
    server_ca, client_ca, other_ca = trustme.CA(), trustme.CA(), trustme.CA()
    server = server_ca.issue_cert("127.0.0.1", "localhost")
    server.private_key_pem.write_to_path(str(files / "server.key"))
    for i, blob in enumerate(server.cert_chain_pems):
        blob.write_to_path(str(files / "server.crt"), append=i > 0)
    client_ca.cert_pem.write_to_path(str(files / "client-ca.crt"))
    cfg = TLSConfig(str(files / "server.crt"), str(files / "server.key"), str(files / "client-ca.crt"))
    client = client_ca.issue_cert("kube-apiserver", common_name=CLIENT_CN)
    stranger = other_ca.issue_cert("kube-apiserver", common_name=CLIENT_CN)
    return PKI(server_ca, client_ca, other_ca, client, stranger, cfg, files)


SEEN: list[str | None] = []  # the client_cert_name of every request that reached the app


async def whoami(request: Request) -> JSONResponse:
    SEEN.append(client_cert_name(request.scope))
    tls = request.scope.get("extensions", {}).get("tls")
    return JSONResponse({"cn": client_cert_name(request.scope), "tls": tls})


APP = Starlette(routes=[Route("/", whoami)])


@contextmanager
def serving(cfg: TLSConfig, http: str = "h11") -> Iterator[str]:
    """A real uvicorn serving APP with `cfg` on a free local port, in a thread; yields its https URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    options: dict[str, Any] = uvicorn_options(cfg) | {"http": protocols()[http]}
    server = uvicorn.Server(uvicorn.Config(APP, lifespan="off", log_level="critical", **options))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            assert thread.is_alive(), "uvicorn stopped before it started serving"
            time.sleep(0.005)
        yield f"https://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join()
        sock.close()


@pytest.fixture(scope="module", params=["h11", "httptools"])
def url(request: pytest.FixtureRequest, pki: PKI) -> Iterator[str]:
    if request.param not in protocols():
        pytest.skip(f"{request.param} is not installed")
    with serving(pki.cfg, request.param) as url:
        yield url


def client(
    pki: PKI, cert: trustme.LeafCert | None = None, tls: ssl.TLSVersion = ssl.TLSVersion.MAXIMUM_SUPPORTED
) -> httpx.Client:
    ctx = ssl.create_default_context()
    ctx.maximum_version = tls
    pki.server_ca.configure_trust(ctx)
    if cert is not None:
        cert.configure_cert(ctx)
    return httpx.Client(verify=ctx)


@pytest.mark.parametrize("tls", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3], ids=["tls1.2", "tls1.3"])
def test_a_certificate_from_the_client_ca_names_the_client(pki: PKI, url: str, tls: ssl.TLSVersion) -> None:
    with client(pki, pki.client, tls) as c:
        body = c.get(url).json()
    assert body["cn"] == CLIENT_CN


def test_several_requests_on_one_connection_each_see_the_certificate(pki: PKI, url: str) -> None:
    with client(pki, pki.client) as c:
        names = [c.get(url).json()["cn"] for _ in range(3)]
    assert names == [CLIENT_CN] * 3


def test_the_scope_carries_the_asgi_tls_extension(pki: PKI, url: str) -> None:
    with client(pki, pki.client) as c:
        tls = c.get(url).json()["tls"]
    leaf = x509.load_pem_x509_certificate(pki.client.cert_chain_pems[0].bytes())
    assert tls["client_cert_name"] == leaf.subject.rfc4514_string()
    assert [x509.load_pem_x509_certificate(pem.encode()) for pem in tls["client_cert_chain"]] == [leaf]
    assert tls["tls_version"] in (0x0303, 0x0304)
    assert tls["client_cert_error"] is None
    assert {"server_cert", "cipher_suite"} <= tls.keys()


def test_a_client_without_a_certificate_connects_unnamed(pki: PKI, url: str) -> None:
    with client(pki) as c:
        body = c.get(url).json()
    assert body["cn"] is None
    assert body["tls"]["client_cert_chain"] == []
    assert body["tls"]["client_cert_name"] is None


def test_a_certificate_from_another_ca_fails_the_handshake(pki: PKI, url: str) -> None:
    # Under TLS 1.2 the server checks the client's certificate before the client's handshake ends.
    with client(pki, pki.stranger, ssl.TLSVersion.TLSv1_2) as c, pytest.raises(httpx.ConnectError):
        c.get(url)


def test_a_certificate_from_another_ca_never_reaches_the_app(pki: PKI, url: str) -> None:
    # Under TLS 1.3 the client's handshake ends before the server checks its certificate; the server
    # then drops the connection, so the request fails without an answer and the app never sees it.
    SEEN.clear()
    with client(pki, pki.stranger, ssl.TLSVersion.TLSv1_3) as c, pytest.raises(httpx.TransportError):
        c.get(url)
    assert SEEN == []


def test_plain_http_to_the_tls_port_fails(url: str) -> None:
    with pytest.raises(httpx.TransportError):
        httpx.get(url.replace("https://", "http://"))


def test_without_a_client_ca_no_client_is_named(pki: PKI) -> None:
    cfg = TLSConfig(pki.cfg.cert_file, pki.cfg.key_file)
    with serving(cfg) as url, client(pki, pki.stranger) as c:
        body = c.get(url).json()
    assert body["cn"] is None
    assert body["tls"]["client_cert_chain"] == []


def test_server_context_asks_for_a_client_certificate_only_with_a_client_ca(pki: PKI) -> None:
    assert server_context(pki.cfg).verify_mode == ssl.CERT_OPTIONAL
    assert server_context(TLSConfig(pki.cfg.cert_file, pki.cfg.key_file)).verify_mode == ssl.CERT_NONE


def test_a_bad_key_file_is_a_tls_error_naming_it(pki: PKI, tmp_path: Path) -> None:
    bad = tmp_path / "bad.key"
    bad.write_text("not a key\n")
    with pytest.raises(TLSError, match=rf"^{re.escape(str(bad))}: not a PEM private key"):
        uvicorn_options(TLSConfig(pki.cfg.cert_file, str(bad)))


def test_the_key_of_another_certificate_is_a_tls_error_naming_both(pki: PKI, tmp_path: Path) -> None:
    other = tmp_path / "other.key"
    pki.client.private_key_pem.write_to_path(str(other))
    with pytest.raises(
        TLSError,
        match=rf"^{re.escape(str(other))}: the private key does not match the certificate {re.escape(pki.cfg.cert_file)}",
    ):
        server_context(TLSConfig(pki.cfg.cert_file, str(other)))


def test_an_encrypted_key_is_a_tls_error_not_a_prompt(pki: PKI, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(pki.client.private_key_pem.bytes(), password=None)
    encrypted = tmp_path / "encrypted.key"
    encrypted.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"secret")
        )
    )
    pki.client.cert_chain_pems[0].write_to_path(str(tmp_path / "client.crt"))
    with pytest.raises(TLSError, match=rf"^{re.escape(str(encrypted))}: the private key is encrypted"):
        server_context(TLSConfig(str(tmp_path / "client.crt"), str(encrypted)))


@pytest.mark.parametrize("which", ["cert_file", "key_file", "client_ca_file"])
def test_a_missing_file_is_a_tls_error_naming_it(pki: PKI, tmp_path: Path, which: str) -> None:
    missing = str(tmp_path / "missing.pem")
    files = {"cert_file": pki.cfg.cert_file, "key_file": pki.cfg.key_file, "client_ca_file": pki.cfg.client_ca_file}
    with pytest.raises(TLSError, match=rf"^{re.escape(missing)}: .* not found"):
        server_context(TLSConfig(**(files | {which: missing})))


@pytest.mark.parametrize("which", ["cert_file", "client_ca_file"])
def test_a_file_without_a_certificate_is_a_tls_error_naming_it(pki: PKI, which: str) -> None:
    files = {"cert_file": pki.cfg.cert_file, "key_file": pki.cfg.key_file, "client_ca_file": pki.cfg.client_ca_file}
    with pytest.raises(TLSError, match=rf"^{re.escape(pki.cfg.key_file)}: no PEM certificate"):
        server_context(TLSConfig(**(files | {which: pki.cfg.key_file})))


def test_a_directory_is_a_tls_error_naming_it(pki: PKI, tmp_path: Path) -> None:
    with pytest.raises(TLSError, match=rf"^{re.escape(str(tmp_path))}: cannot read the TLS certificate file"):
        server_context(TLSConfig(str(tmp_path), pki.cfg.key_file))


def test_client_cert_name_is_none_without_the_tls_extension() -> None:
    assert client_cert_name({"type": "http", "extensions": {}}) is None
    assert client_cert_name({"type": "http"}) is None


def test_client_cert_name_is_none_for_a_certificate_that_failed_verification() -> None:
    tls = {"client_cert_name": "CN=someone", "client_cert_error": "unknown ca"}
    assert client_cert_name({"type": "http", "extensions": {"tls": tls}}) is None


def test_client_cert_name_takes_the_most_specific_common_name() -> None:
    tls = {"client_cert_name": r"CN=node\, one+UID=7,cn=outer,O=system:nodes"}
    assert client_cert_name({"type": "http", "extensions": {"tls": tls}}) == "node, one"


NAME_TEXT = st.text(st.characters(codec="utf-8"), min_size=1, max_size=16)  # cryptography: at most 64 bytes


@given(cn=NAME_TEXT, org=NAME_TEXT)
@example(cn="#1", org=" a b ")
@example(cn='a,b+c"d\\e<f>g;h=i', org="\0")
@example(cn=" ", org="é 東")
def test_a_subject_formats_as_cryptography_does_and_its_cn_reads_back(cn: str, org: str) -> None:
    subject = ((("organizationName", org),), (("commonName", cn),))
    name = x509.Name([x509.NameAttribute(x509.NameOID.ORGANIZATION_NAME, org), x509.NameAttribute(x509.NameOID.COMMON_NAME, cn)])
    assert rfc4514(subject) == name.rfc4514_string()
    assert client_cert_name({"type": "http", "extensions": {"tls": {"client_cert_name": rfc4514(subject)}}}) == cn
