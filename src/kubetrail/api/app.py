"""The web applications: `kubetrail serve`'s (receivers, the read API, the UI, health checks and
metrics) and `kubetrail ui`'s (the read API and the UI on a store opened read-only), both behind
the authentication middleware and the security headers."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from kubetrail.alerts.engine import Engine
from kubetrail.api import receivers
from kubetrail.api.auth import Authenticator, AuthMiddleware
from kubetrail.api.receivers import Gate
from kubetrail.rules import RuleSet, builtin
from kubetrail.serve import metrics
from kubetrail.serve.config import ServeConfig
from kubetrail.serve.pipeline import Core
from kubetrail.store.duckdb import DuckDBStore


async def not_here(request: Request, exc: Exception) -> JSONResponse:
    """Unknown paths and methods answer in the contract's one error shape too."""
    status = getattr(exc, "status_code", 404)
    code = "not_found" if status == 404 else "method_not_allowed"
    return JSONResponse(
        {"error": {"code": code, "message": f"{request.method} {request.url.path}: {code.replace('_', ' ')}"}}, status
    )


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """Ready when the spool has room and the store takes writes: a sender told 503 here would be
    refused anyway, or would only fill the spool."""
    core: Core = request.app.state.core
    status = "store_failing" if core.failing else "backpressure" if core.full() else "ready"
    doc = {"status": status, "backlog_bytes": core.backlog(), "high_water": core.high_water}
    return JSONResponse(doc, 200 if status == "ready" else 503)


def build(
    config: ServeConfig, store: DuckDBStore, core: Core, auth: Authenticator, engine: Engine | None = None,
    rules: RuleSet | None = None,
) -> Starlette:  # fmt: skip
    routes: list[BaseRoute] = [
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics.metrics, methods=["GET"]),
        *receivers.routes(),
    ]
    app = _app(routes, store, auth, live=True, rules=rules)
    app.state.core = core
    app.state.engine = engine
    app.state.metrics = metrics.registry(core, auth, engine)
    app.state.gate = Gate(config.limits)
    app.state.config = config
    return app


def viewer(store: DuckDBStore, auth: Authenticator, rules: RuleSet | None = None) -> Starlette:
    """The read API and the UI alone (`kubetrail ui`): nothing received, nothing written."""
    return _app([], store, auth, live=False, rules=rules)


def _app(routes: list[BaseRoute], store: DuckDBStore, auth: Authenticator, *, live: bool, rules: RuleSet | None) -> Starlette:
    from kubetrail.api import read
    from kubetrail.ui import web

    every = [Route("/healthz", healthz, methods=["GET"]), *routes, *read.routes(), *web.routes()]
    app = Starlette(routes=every, exception_handlers={404: not_here, 405: not_here})
    app.state.store = store
    app.state.auth = auth
    app.state.live = live  # pages refresh while events arrive
    app.state.rules = rules if rules is not None else builtin()  # what incidents and the answers judge by
    app.add_middleware(AuthMiddleware, auth=auth)
    app.add_middleware(web.SecurityHeaders)  # outermost: refusals carry the headers too
    return app
