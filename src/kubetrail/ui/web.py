"""The web UI's pages: each one the answer of a read question (answers/requests.py), the very
document the read API returns, rendered as HTML by the templates beside this module, with the
incident's lanes and entity graph drawn as SVG on the server (ui/svg.py).

A page parses its query string into the question's values (the API's parsing; a blank form field
is not given), answers in a worker thread and renders. A page's URL holds all its parameters, so
a link pasted into a chat opens the same view. Opened without a time on a store whose newest
event is older than the question's default window, a page shows the window that ends at the
newest event and says so, rather than an empty page. Login exchanges a token for a session
cookie (api/auth.py); every response carries the security headers (`SecurityHeaders`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final
from urllib.parse import urlencode

import jinja2
import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kubetrail.answers.requests import QUESTIONS, Question, RequestError, answer
from kubetrail.answers.window import parse_duration
from kubetrail.api.auth import SESSION_COOKIE, UI, Authenticator
from kubetrail.api.read import value_of
from kubetrail.correlate.incidents import SEVERITIES
from kubetrail.rules import RuleSet
from kubetrail.serve.config import Identity
from kubetrail.store import Store
from kubetrail.timeutil import format_ns, parse_rfc3339
from kubetrail.ui import svg

CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS: Final = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)
STATIC: Final = {"kubetrail.css": "text/css", "kubetrail.js": "text/javascript", "favicon.svg": "image/svg+xml"}
ATTACK: Final = "https://attack.mitre.org/techniques/"
PAGE_ROWS: Final = 100  # rows of a page when no limit is given (the CLI's 1000 is for scripts)
CELL_ITEMS: Final = 5  # a list in a table's cell shows this many items, then how many more
MAX_GRAPH_STEPS: Final = 60  # the entity graph reads at most this many of an incident's events
_STATUS: Final = {"usage": 400, "not_found": 404}


@dataclass(frozen=True)
class Page:
    path: str  # under /ui
    question: str  # a key of QUESTIONS
    title: str
    subject: tuple[str, ...] = ()  # asked only once one of these is given (before: the form alone)
    template: str = "answer.html"


PAGES: Final = (
    Page("/incidents", "incidents", "Incidents", template="incidents.html"),
    Page("/ask/secrets", "ask secrets", "Who read secrets"),
    Page("/ask/processes", "ask processes", "Processes"),
    Page("/ask/actor", "ask actor", "What an account did", ("name", "sa")),
    Page("/ask/egress", "ask egress", "Who talked to the outside"),
    Page("/ask/trace", "ask trace", "Which user action caused an event", ("event_id",)),
    Page("/timeline", "timeline", "Timeline", ("pod", "actor", "sa", "incident")),
    Page("/who", "who", "Who held an IP", ("ip",)),
    Page("/status", "status", "Status"),
)
NAV: Final = tuple((UI + p.path, p.title) for p in PAGES)


def routes() -> list[BaseRoute]:
    out: list[BaseRoute] = [Route(UI + p.path, _page(p), methods=["GET"], name=f"ui:{p.question}") for p in PAGES]
    out += [
        Route("/", _home, methods=["GET"]),
        Route(UI, _home, methods=["GET"]),
        Route(UI + "/", _home, methods=["GET"]),
        Route(UI + "/incidents/{id}", _incident, methods=["GET"]),
        Route(UI + "/events/{id}", _event, methods=["GET"]),
        Route(UI + "/login", _login, methods=["GET", "POST"]),
        Route(UI + "/logout", _logout, methods=["POST"]),
        Route(UI + "/static/{name}", _static, methods=["GET"]),
        Route("/favicon.ico", _favicon, methods=["GET"]),
    ]
    return out


# -- the pages -------------------------------------------------------------------------------------
def _page(page: Page) -> Callable[[Request], Awaitable[Response]]:
    question = QUESTIONS[page.question]

    async def endpoint(request: Request) -> Response:
        try:
            given = given_values(question, request)
        except RequestError as exc:
            return render(request, page.template, _STATUS[exc.code], page=page, question=question, given={}, error=exc.message)
        if any(p.name == "limit" for p in question.params):
            given.setdefault("limit", PAGE_ROWS)
        asked = not page.subject or any(name in given for name in page.subject)
        store = request.app.state.store
        banner = await run_in_threadpool(default_window, store, question, given) if asked else None
        doc, error, notes = await _answer(question, store, given, request.app.state.rules) if asked else (None, None, [])
        status = _STATUS.get(error[0], 500) if error else 200
        least = given.get("severity") or SEVERITIES[0]
        return render(
            request, page.template, status, page=page, question=question, given=given, doc=doc,
            error=error[1] if error else None, notes=notes, banner=banner, least=least, window_query=window_query(given),
        )  # fmt: skip

    return endpoint


async def _incident(request: Request) -> Response:
    question = QUESTIONS["incident"]
    try:
        given = given_values(question, request)
    except RequestError as exc:
        return render(request, "incident.html", _STATUS[exc.code], error=exc.message, given={})
    store = request.app.state.store
    banner = await run_in_threadpool(default_window, store, question, given)
    doc, error, notes = await _answer(question, store, given, request.app.state.rules)
    if doc is None:
        status = _STATUS.get(error[0], 500) if error else 500
        return render(request, "incident.html", status, error=error[1] if error else None, given=given, banner=banner)
    events = await run_in_threadpool(_step_events, store, doc)
    lanes = svg.lanes(doc["steps"], lambda event_id: f"{UI}/events/{event_id}")
    graph = svg.graph(doc, events, entity_href)
    seen_in = window_query(given)
    export = f"/api/v1/export/{doc['id']}" + (f"?{seen_in}" if seen_in else "")
    return render(
        request, "incident.html", 200, doc=doc, lanes=lanes, graph=graph, export=export, notes=notes,
        banner=banner, given=given,
    )  # fmt: skip


async def _event(request: Request) -> Response:
    question = QUESTIONS["show"]
    doc, error, _ = await _answer(question, request.app.state.store, {"id": request.path_params["id"]}, request.app.state.rules)
    if doc is None:
        status = _STATUS.get(error[0], 500) if error else 500
        return render(request, "event.html", status, error=error[1] if error else None)
    return render(request, "event.html", 200, doc=doc, original=_pretty(doc["original"]))


async def _home(request: Request) -> Response:
    return RedirectResponse(UI + "/incidents", 303)


# -- login: a token, once, for an HttpOnly cookie ----------------------------------------------
async def _login(request: Request) -> Response:
    """GET ?token= (the URL `kubetrail ui` prints) or POST token= (the form): a session cookie
    and a redirect to a URL without the token; a wrong token: the form again, 401."""
    auth: Authenticator = request.app.state.auth
    back = _local(request.query_params.get("next", UI + "/incidents"))
    token = request.query_params.get("token")
    if request.method == "POST":
        form = await request.form()
        token, back = str(form.get("token", "")), _local(str(form.get("next", back)))
    if not token:
        return render(request, "login.html", 200, back=back, error=None)
    identity = auth.token_identity(token.strip().encode())
    if identity is None or not identity.may("viewer"):
        auth.refused["wrong_token"] += 1
        return render(request, "login.html", 401, back=back, error="That token is not accepted here.")
    response = RedirectResponse(back, 303)
    secure = request.url.scheme == "https"
    session = auth.sessions.open(Identity(identity.name, "viewer", identity.cluster))  # a cookie never ingests
    response.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="strict", secure=secure, path="/")
    return response


async def _logout(request: Request) -> Response:
    response = RedirectResponse(UI + "/login", 303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _local(url: str) -> str:
    """Only a path of this site to go back to: never another site's URL."""
    if url.startswith(UI) and not url.startswith("//") and "\\" not in url:
        return url
    return UI + "/incidents"


# -- the assets, shipped in the package --------------------------------------------------------
async def _static(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in STATIC:
        return Response("not found", 404, media_type="text/plain")
    return Response(_asset(name), media_type=STATIC[name], headers={"cache-control": "public, max-age=3600"})


async def _favicon(request: Request) -> Response:
    return Response(_asset("favicon.svg"), media_type="image/svg+xml", headers={"cache-control": "public, max-age=86400"})


@cache
def _asset(name: str) -> bytes:
    return resources.files("kubetrail.ui").joinpath("static", name).read_bytes()


# -- what the pages share ------------------------------------------------------------------------
def given_values(question: Question, request: Request) -> dict[str, Any]:
    """The query string as the question's values, as the API parses them; a blank field of a form
    is not given, and a repeatable one may hold several values apart by commas."""
    values: dict[str, Any] = {}
    for param in question.params:
        texts = [t.strip() for text in request.query_params.getlist(param.name) for t in _split(param.kind, text)]
        texts = [t for t in texts if t]
        if param.in_path and param.name in request.path_params:
            values[param.name] = request.path_params[param.name]
        elif texts:
            values[param.name] = value_of(param, texts)
    return values


def window_query(given: Mapping[str, Any]) -> str:
    """The window of `given` as a query string: an incident is found in the window it was seen in."""
    return urlencode({k: str(given[k]) for k in ("since", "until", "at", "cluster") if k in given})


def _split(kind: str, text: str) -> list[str]:
    return text.replace(",", " ").split() if kind == "array" else [text]


def default_window(store: Store, question: Question, given: dict[str, Any]) -> str | None:
    """On a store whose newest event is older than the question's default window, the window that
    ends at the newest event (`at` latest, set in `given`), and the sentence that says so."""
    defaults = {p.name: p.default for p in question.params}
    if "at" not in defaults or given.keys() & {"since", "until", "at"}:
        return None
    newest: int | None = store.query("newest_event")[0]["newest"]
    span = parse_duration(str(defaults.get("since") or "1h")) or 0
    if newest is None or newest >= time.time_ns() - span:
        return None
    given["at"] = "latest"
    since = f"the {defaults['since']} " if defaults.get("since") else ""
    return f"The newest stored event is at {format_ns(newest)}, older than the default window: showing {since}up to it."


async def _answer(
    question: Question, store: Store, given: Mapping[str, Any], rules: RuleSet
) -> tuple[dict[str, Any] | None, tuple[str, str] | None, list[str]]:
    notes: list[str] = []
    try:
        doc = await run_in_threadpool(answer, question.name, store, given, notes.append, rules)
    except RequestError as exc:
        return None, (exc.code, exc.message), notes
    return doc, None, notes


def _step_events(store: Store, incident: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The fields the entity graph reads of an incident's steps (the first MAX_GRAPH_STEPS), by
    event id: read at their steps' times first (a step's time is its event's), then the rest
    anywhere (a step of a summary signal need not be one stored event)."""
    steps = incident["steps"][:MAX_GRAPH_STEPS]
    if not steps:
        return {}
    times = [parse_rfc3339(step["time"]) for step in steps]
    found = store.get_events([step["id"] for step in steps], svg.EVENT_FIELDS, (min(times), max(times) + 1))
    rest = [step["id"] for step in steps if step["id"] not in found]
    return found | store.get_events(rest, svg.EVENT_FIELDS) if rest else found


def entity_href(kind: str, value: str) -> str | None:
    """Where an entity of the graph leads: its timeline, or the answer about it (an account's
    timeline by its username, a service account's too: system:serviceaccount:NS:NAME)."""
    if kind in ("pod", "actor", "sa"):
        return f"{UI}/timeline?{urlencode({kind: value})}"
    if kind == "destination":
        return f"{UI}/ask/egress?{urlencode({'destination': value.rsplit(':', 1)[0] if value.count(':') == 1 else value})}"
    if kind == "process":
        return f"{UI}/ask/processes?{urlencode({'binary': value})}"
    return None


def _pretty(value: Any) -> str:
    if isinstance(value, str):
        return value
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()


def technique_url(technique: str) -> str:
    """T1552.007 -> https://attack.mitre.org/techniques/T1552/007/"""
    return ATTACK + technique.replace(".", "/") + "/"


_CONTEXT: Final[dict[str, Any]] = {"doc": None, "error": None, "banner": None, "notes": (), "given": {}}


def render(request: Request, template: str, status: int, **context: Any) -> HTMLResponse:
    values = _CONTEXT | {"request_path": request.url.path, "nav": NAV, "live": request.app.state.live} | context
    return HTMLResponse(_env().get_template(template).render(values), status)


@cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("kubetrail.ui", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals |= {
        "UI": UI,
        "SEVERITIES": SEVERITIES,
        "CELL_ITEMS": CELL_ITEMS,
        "technique_url": technique_url,
        "link": link,
        "urlencode": urlencode,
    }
    return env


# -- links of entities by the field that holds them ----------------------------------------------
_EVENT_FIELDS: Final = frozenset({"evidence", "event_id"})
_IP_FIELDS: Final = frozenset({"ip", "src_ip", "dst_ip", "destination_ip", "source_ips", "ips", "shared_addresses"})


def link(field: str, value: Any, row: Mapping[str, Any] | None = None) -> str | None:
    """The page a value of `field` leads to, when it names an entity: a pod, an account, an IP, a
    destination, an event, an incident."""
    if not isinstance(value, str) or not value:
        return None
    if field in ("pod", "pods", "destination_pod") and value.count("/") == 1:
        return entity_href("pod", value)
    if field in ("actor", "actors", "user", "impersonated_by"):
        return entity_href("actor", value)
    if field == "service_account" and value.count("/") == 1:
        return entity_href("sa", value)
    if field in _IP_FIELDS:
        at = row.get("time") or row.get("last_seen") if row else None
        return f"{UI}/who?{urlencode({'ip': value} | ({'at': at} if isinstance(at, str) else {}))}"
    if field in ("destination_names", "destinations"):
        return entity_href("destination", value)
    if field in _EVENT_FIELDS or (field == "id" and row is not None and "summary" in row):
        return f"{UI}/events/{value}"
    if field == "binary":
        return entity_href("process", value)
    return None


class SecurityHeaders:
    """Pure ASGI middleware: every response says what it is and where it may be shown; HTML
    allows no inline script or style (the Content-Security-Policy)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", [])) + list(HEADERS)
                headers.append((b"content-security-policy", CSP.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, sending)
