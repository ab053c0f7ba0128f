"""Authentication of every request but the health checks: a bearer token (compared in constant
time with every accepted token, never logged) or a verified client certificate's CN. The
identity found goes into the request's state; a route's role decides what it may do.
No credential: 401; a credential without the role, or the audit receiver without a client
certificate when one is required: 403. Each refusal is counted by reason.
"""

from __future__ import annotations

import hmac
from collections import Counter
from typing import Final

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from kubetrail.api.tls import client_cert_name
from kubetrail.serve.config import Identity, ServeConfig

OPEN_PATHS: Final = frozenset({"/healthz", "/readyz"})


def required_role(method: str, path: str) -> str:
    if path.startswith("/v1/"):
        return "ingest"
    if path.startswith("/api/") or path == "/metrics":
        return "viewer"
    return "admin"


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

    def identify(self, scope: Scope) -> tuple[Identity | None, str | None]:
        """The identity of a request, and (when there is none) why."""
        cn = client_cert_name(scope)
        token = _bearer(scope)
        if token is not None:
            found: Identity | None = None
            for accepted, identity in self.tokens:  # every token compared: the time says nothing of which matched
                if hmac.compare_digest(accepted, token):
                    found = identity
            if found is None:
                return None, "wrong_token"
            return found, None
        if cn is not None:
            by_cert = self.certs.get(cn)
            return (by_cert, None) if by_cert is not None else (None, "unknown_certificate")
        return None, "no_credentials"


class AuthMiddleware:
    """Pure ASGI middleware (no request body buffering): identify, check the route's role."""

    def __init__(self, app: ASGIApp, auth: Authenticator) -> None:
        self.app, self.auth = app, auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.auth.open:
            await self.app(scope, receive, send)
            return
        identity, why = self.auth.identify(scope)
        if identity is None:
            self.auth.refused[why or "no_credentials"] += 1
            message = "a valid bearer token or client certificate is required"
            await _refuse(send, 401, "unauthenticated", message, {"www-authenticate": "Bearer"})
            return
        role = required_role(scope["method"], scope["path"])
        if not identity.may(role):
            self.auth.refused["role"] += 1
            await _refuse(send, 403, "forbidden", f"{identity.name} has role {identity.role}; this path needs {role}")
            return
        if scope["path"] == "/v1/audit" and self.auth.audit_requires_cert and client_cert_name(scope) is None:
            self.auth.refused["audit_without_certificate"] += 1
            await _refuse(send, 403, "forbidden", "the audit receiver requires a client certificate from the configured CA")
            return
        scope.setdefault("state", {})["identity"] = identity
        await self.app(scope, receive, send)


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
