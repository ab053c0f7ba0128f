"""Authentication of every request but the health checks: a bearer token (compared in constant
time with every accepted token, never logged), a verified client certificate's CN, or a web UI
session (the cookie a token was exchanged for at /ui/login). The identity found goes into the
request's state; a route's role decides what it may do. No credential: 401 (a UI page: a
redirect to the login page); a credential without the role, or the audit receiver without a
client certificate when one is required: 403. Each refusal is counted by reason.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections import Counter
from http.cookies import CookieError, SimpleCookie
from typing import Final
from urllib.parse import quote

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from kubetrail.api.tls import client_cert_name
from kubetrail.serve.config import Identity, ServeConfig

OPEN_PATHS: Final = frozenset({"/healthz", "/readyz", "/favicon.ico", "/ui/login"})
OPEN_PREFIXES: Final = ("/ui/static/",)  # the UI's stylesheet, script and icon: nothing of the store
UI: Final = "/ui"
SESSION_COOKIE: Final = "kubetrail_session"
MAX_SESSIONS: Final = 10_000  # the oldest go first: a flood of logins cannot grow the process


def required_role(method: str, path: str) -> str:
    if path.startswith("/v1/"):
        return "ingest"
    if path.startswith(("/api/", UI + "/")) or path in ("/metrics", "/", UI):
        return "viewer"
    return "admin"


class Sessions:
    """The UI's sessions: a random id, the HttpOnly cookie, for the identity of the token it was
    exchanged for (in memory: a restart asks to log in again)."""

    def __init__(self) -> None:
        self._by_id: dict[str, Identity] = {}
        self._lock = threading.Lock()

    def open(self, identity: Identity) -> str:
        session = secrets.token_urlsafe(32)
        with self._lock:
            while len(self._by_id) >= MAX_SESSIONS:
                del self._by_id[next(iter(self._by_id))]
            self._by_id[session] = identity
        return session

    def get(self, session: str) -> Identity | None:
        with self._lock:
            return self._by_id.get(session)


class Authenticator:
    def __init__(self, config: ServeConfig, extra_tokens: dict[str, Identity] | None = None) -> None:
        self.tokens: list[tuple[bytes, Identity]] = [
            (token.encode(), ts.identity) for ts in config.token_sets for token in ts.tokens
        ]
        for token, identity in (extra_tokens or {}).items():
            self.tokens.append((token.encode(), identity))
        self.certs = {c.cn: c.identity for c in config.client_certs}
        self.audit_requires_cert = config.audit_requires_client_cert
        self.open = OPEN_PATHS | ({"/metrics"} if config.metrics_public else set())
        self.refused: Counter[str] = Counter()
        self.sessions = Sessions()

    def token_identity(self, token: bytes) -> Identity | None:
        """The identity of a bearer token; every accepted token compared, so that the time says
        nothing of which matched."""
        found: Identity | None = None
        for accepted, identity in self.tokens:
            if hmac.compare_digest(accepted, token):
                found = identity
        return found

    def is_open(self, path: str) -> bool:
        return path in self.open or path.startswith(OPEN_PREFIXES)

    def identify(self, scope: Scope) -> tuple[Identity | None, str | None]:
        """The identity of a request, and (when there is none) why."""
        cn = client_cert_name(scope)
        token = _bearer(scope)
        if token is not None:
            found = self.token_identity(token)
            return (found, None) if found is not None else (None, "wrong_token")
        session = _cookie(scope, SESSION_COOKIE)
        if session is not None:
            by_session = self.sessions.get(session)
            if by_session is not None:
                return by_session, None
        if cn is not None:
            by_cert = self.certs.get(cn)
            return (by_cert, None) if by_cert is not None else (None, "unknown_certificate")
        return None, "no_credentials"


class AuthMiddleware:
    """Pure ASGI middleware (no request body buffering): identify, check the route's role."""

    def __init__(self, app: ASGIApp, auth: Authenticator) -> None:
        self.app, self.auth = app, auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.auth.is_open(scope["path"]):
            await self.app(scope, receive, send)
            return
        identity, why = self.auth.identify(scope)
        if identity is None:
            self.auth.refused[why or "no_credentials"] += 1
            if _is_page(scope):
                await _to_login(send, scope)
                return
            message = "a valid bearer token or client certificate is required"
            await _refuse(send, 401, "unauthenticated", message, {"www-authenticate": "Bearer"})
            return
        if scope["path"] == "/v1/audit" and self.auth.audit_requires_cert:
            # The sender is the certificate, never a token: a leaked token beside any certificate
            # the client CA signed (a kubelet's, when it is the cluster's CA) must not forge
            # audit events.
            cn = client_cert_name(scope)
            identity = self.auth.certs.get(cn) if cn is not None else None
            if identity is None:
                self.auth.refused["audit_without_certificate"] += 1
                message = "the audit receiver requires a client certificate from the configured CA whose CN client_certs lists"
                await _refuse(send, 403, "forbidden", message)
                return
        role = required_role(scope["method"], scope["path"])
        if not identity.may(role):
            self.auth.refused["role"] += 1
            await _refuse(send, 403, "forbidden", f"{identity.name} has role {identity.role}; this path needs {role}")
            return
        scope.setdefault("state", {})["identity"] = identity
        await self.app(scope, receive, send)


def _is_page(scope: Scope) -> bool:
    path: str = scope["path"]
    return scope["method"] == "GET" and (path in ("/", UI) or path.startswith(UI + "/"))


async def _to_login(send: Send, scope: Scope) -> None:
    """A page asked for without a session: the login page, which brings the reader back."""
    query = scope.get("query_string", b"").decode("latin-1")
    back = scope["path"] + ("?" + query if query else "")
    location = f"{UI}/login?next={quote(back, safe='')}"
    await send({"type": "http.response.start", "status": 303, "headers": [(b"location", location.encode()),
                                                                       (b"content-length", b"0")]})  # fmt: skip
    await send({"type": "http.response.body", "body": b""})


def _cookie(scope: Scope, name: str) -> str | None:
    for key, value in scope["headers"]:
        if key == b"cookie":
            try:
                jar: SimpleCookie = SimpleCookie(value.decode("latin-1"))
            except CookieError:
                return None
            if name in jar:
                return jar[name].value
    return None


def _bearer(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.partition(b" ")
            if scheme.lower() == b"bearer" and token.strip():
                return bytes(token.strip())
            return b""  # a header that is not a bearer token: wrong credentials, not none
    return None


async def _refuse(send: Send, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
    body = orjson.dumps({"error": {"code": code, "message": message}})
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
