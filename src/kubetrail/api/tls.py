"""TLS for `kubetrail serve`: the server's SSL context, client certificates, and who a client is.

With a client CA the server asks every client for a certificate but does not require one
(CERT_OPTIONAL): a client without a certificate (a bearer-token sender, a reader) still connects, a
certificate the CA did not sign fails the handshake, and the app decides per route whether it needs
a verified certificate, reading its common name with `client_cert_name(scope)`.

uvicorn does not put the peer certificate in the scope; the HTTP protocols `uvicorn_options` selects
add it as the ASGI TLS extension (https://asgi.readthedocs.io/en/latest/specs/tls.html):
`scope["extensions"]["tls"]`, whose `client_cert_name` is the subject's RFC 4514 distinguished name.
"""

from __future__ import annotations

import asyncio
import functools
import re
import ssl
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol


class TLSError(ValueError):
    """A certificate, key or CA file that cannot serve TLS: the message names the file and the fix."""


@dataclass(frozen=True)
class TLSConfig:
    cert_file: str  # PEM: the server certificate, then any intermediates
    key_file: str  # PEM: its private key, unencrypted
    client_ca_file: str | None = None  # PEM: the CA(s) that sign client certificates; None: no client certificates


def server_context(cfg: TLSConfig) -> ssl.SSLContext:
    """The server's SSL context, or TLSError saying which file is wrong and what to do."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    _load_chain(ctx, cfg.cert_file, cfg.key_file)
    if cfg.client_ca_file is not None:
        _load_client_ca(ctx, cfg.client_ca_file)
        ctx.verify_mode = ssl.CERT_OPTIONAL
    return ctx


def uvicorn_options(cfg: TLSConfig) -> dict[str, Any]:
    """The keyword arguments for `uvicorn.Config` that serve `cfg` and put client certificates in the scope.

    The context is built here, so a bad file fails before the server starts.
    """
    ctx = server_context(cfg)
    return {"ssl_context_factory": lambda _config, _default: ctx, "http": http_protocol()}


def client_cert_name(scope: Scope) -> str | None:
    """The common name (CN) of the client's verified certificate; None without one or over plain HTTP.

    A subject with several CNs yields the most specific (the last in the certificate, the first in
    RFC 4514), the one Kubernetes takes as the user name.
    """
    tls = (scope.get("extensions") or {}).get("tls")
    if not tls or tls.get("client_cert_error") or not tls.get("client_cert_name"):
        return None
    return next((value for kind, value in _attributes(tls["client_cert_name"]) if kind.upper() in _CN_TYPES), None)


# --- files -------------------------------------------------------------------------------------


def _load_chain(ctx: ssl.SSLContext, cert_file: str, key_file: str) -> None:
    _check_certificates(cert_file, "TLS certificate", "give the server certificate (then any intermediates) in PEM")
    _check_readable(key_file, "TLS private key")
    try:
        ctx.load_cert_chain(cert_file, key_file, password=functools.partial(_encrypted_key, key_file))
    except ssl.SSLError as e:
        if e.reason == "KEY_VALUES_MISMATCH":
            raise TLSError(
                f"{key_file}: the private key does not match the certificate {cert_file}; give that certificate's key"
            ) from e
        raise TLSError(f"{key_file}: not a PEM private key ({e}); give the certificate's private key in PEM") from e


def _load_client_ca(ctx: ssl.SSLContext, ca_file: str) -> None:
    _check_certificates(ca_file, "client CA", "give the CA certificate(s) that sign client certificates, in PEM")
    ctx.load_verify_locations(cafile=ca_file)


def _check_certificates(path: str, what: str, fix: str) -> None:
    _check_readable(path, what)
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=path)
    except ssl.SSLError as e:
        raise TLSError(f"{path}: no PEM certificate in the {what} file ({e.reason}); {fix}") from e


def _check_readable(path: str, what: str) -> None:
    try:
        Path(path).read_bytes()
    except FileNotFoundError:
        raise TLSError(f"{path}: {what} file not found; check the path") from None
    except OSError as e:
        raise TLSError(f"{path}: cannot read the {what} file ({e.strerror}); make it a file readable by this user") from e


def _encrypted_key(key_file: str) -> str:
    # OpenSSL calls this only for an encrypted key; without it, it would prompt on the terminal.
    raise TLSError(f"{key_file}: the private key is encrypted; give an unencrypted key (openssl pkey -in KEY -out PLAIN)")


# --- the ASGI TLS extension --------------------------------------------------------------------

_TLS_VERSIONS = {"TLSv1": 0x0301, "TLSv1.1": 0x0302, "TLSv1.2": 0x0303, "TLSv1.3": 0x0304}
# OpenSSL's long names, as getpeercert() gives them, to RFC 4514's short ones; others stay as they are.
_SHORT_NAMES = {
    "commonName": "CN",
    "countryName": "C",
    "domainComponent": "DC",
    "localityName": "L",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "stateOrProvinceName": "ST",
    "streetAddress": "STREET",
    "userId": "UID",
}
_CN_TYPES = frozenset({"CN", "2.5.4.3"})
_SPECIAL = re.compile(r'(["+,;<>\\])')
_ATTRIBUTE = re.compile(r"(?:\\.|[^\\,+])+", re.DOTALL)  # an attribute: up to an unescaped , or +
_ESCAPED = re.compile(r"\\([0-9A-Fa-f]{2})|\\(.)|([^\\]+)", re.DOTALL)

Subject = tuple[tuple[tuple[str, str], ...], ...]  # getpeercert()["subject"]: RDNs, most general first


def tls_extension(ssl_object: ssl.SSLObject) -> dict[str, Any]:
    """The ASGI TLS extension of a connection whose handshake is done.

    The server verified any certificate the client sent (a failure ends the handshake), so
    `client_cert_error` is always None. Python's ssl gives only the client's own certificate, not the
    chain it sent, and no cipher suite number.
    """
    peer = ssl_object.getpeercert()  # None: no certificate; {}: one not verified (CERT_NONE)
    der = ssl_object.getpeercert(binary_form=True) if peer else None
    version = ssl_object.version()
    return {
        "server_cert": None,
        "client_cert_chain": [ssl.DER_cert_to_PEM_cert(der)] if der else [],
        "client_cert_name": rfc4514(cast(Subject, peer["subject"])) if peer else None,
        "client_cert_error": None,
        "tls_version": _TLS_VERSIONS.get(version) if version else None,
        "cipher_suite": None,
    }


def rfc4514(subject: Subject) -> str:
    """A certificate subject as an RFC 4514 string: most specific RDN first, values escaped."""
    return ",".join("+".join(f"{_SHORT_NAMES.get(k, k)}={_escape(v)}" for k, v in rdn) for rdn in reversed(subject))


def _escape(value: str) -> str:
    out = _SPECIAL.sub(r"\\\1", value).replace("\0", "\\00")
    if value.startswith(("#", " ")):
        out = "\\" + out
    if len(value) > 1 and value.endswith(" "):
        out = out[:-1] + "\\ "
    return out


def _attributes(dn: str) -> Iterator[tuple[str, str]]:
    for attribute in _ATTRIBUTE.findall(dn):
        kind, _, value = attribute.partition("=")  # a type has no escapes, so its first = ends it
        yield kind.strip(), _unescape(value)


def _unescape(value: str) -> str:
    out = bytearray()
    for hex_pair, char, text in _ESCAPED.findall(value):
        out += bytes.fromhex(hex_pair) if hex_pair else (char or text).encode()
    return out.decode("utf-8", "replace")


@dataclass(frozen=True)
class _WithTLS:
    """An app wrapped to see one connection's TLS extension in each request's scope."""

    app: ASGIApp
    tls: Mapping[str, Any]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["extensions"] = {**(scope.get("extensions") or {}), "tls": dict(self.tls)}
        await self.app(scope, receive, send)


class _TLSScope(asyncio.Protocol):
    """Puts the ASGI TLS extension in the scope of every request on a TLS connection.

    Pinned to uvicorn 0.55's HTTP protocols (H11Protocol, HttpToolsProtocol): `__init__` sets
    `self.app = config.loaded_app`, and every request on the connection runs `self.app`
    (`handle_events` / `on_headers_complete`: `app = self.app`) after `connection_made`; so wrapping
    `self.app` once the handshake is done covers the connection. tests/api/test_tls.py serves through
    real uvicorn and fails if an upgrade changes this. (A WebSocket upgrade hands the connection to
    a protocol that uses `config.loaded_app` and does not get the extension.)
    """

    app: ASGIApp

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        if isinstance(ssl_object, ssl.SSLObject):
            self.app = _WithTLS(self.app, tls_extension(ssl_object))


class H11TLSProtocol(_TLSScope, H11Protocol):
    """uvicorn's h11 protocol with the ASGI TLS extension in the scope."""


@functools.cache
def protocols() -> Mapping[str, type[asyncio.Protocol]]:
    """The TLS-scope HTTP protocols by uvicorn's name: h11 always, httptools when it is installed."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:
        return {"h11": H11TLSProtocol}

    class HttpToolsTLSProtocol(_TLSScope, HttpToolsProtocol):
        """uvicorn's httptools protocol with the ASGI TLS extension in the scope."""

    return {"h11": H11TLSProtocol, "httptools": HttpToolsTLSProtocol}


def http_protocol() -> type[asyncio.Protocol]:
    """The protocol uvicorn's "auto" would choose (httptools if installed, else h11), with the TLS scope."""
    return protocols().get("httptools") or protocols()["h11"]
