"""The read API of `kubetrail serve`: `GET /api/v1/...` answers with the CLI's `-o json` documents.

A route parses only HTTP's syntax (strings, repeated parameters) into the values its question
declares (answers/requests.py) and answers in a worker thread, as the answers are synchronous;
the store is the app's (`request.app.state.store`). Errors are the contract's one shape: 400
`usage`, 404 `not_found`. Diagnostics the CLI prints on stderr (an empty window) travel as
`Kubetrail-Note` headers. A question that answers with a file (the export's tar.gz) sends it as
an attachment of its media type. Authentication is the app's middleware, not this module's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any, Final

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from kubetrail.answers.requests import QUESTIONS, File, Param, Question, RequestError, UsageError, reply
from kubetrail.api import openapi
from kubetrail.api.openapi import NOTE_HEADER

_STATUS: Final = {"usage": 400, "not_found": 404}
_TRUE: Final = frozenset({"", "1", "true", "yes"})
_FALSE: Final = frozenset({"0", "false", "no"})


def routes() -> list[BaseRoute]:
    out: list[BaseRoute] = [
        Route(openapi.API + q.path, _endpoint(q), methods=["GET"], name=f"api:{q.name}") for q in QUESTIONS.values()
    ]
    out.append(Route(openapi.API + "/openapi.json", _openapi, methods=["GET"], name="api:openapi"))
    return out


def _endpoint(question: Question) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        notes: list[str] = []
        try:
            values = parameters(question, request)
            state = request.app.state
            doc = await run_in_threadpool(reply, question.name, state.store, values, notes.append, state.rules)
        except RequestError as exc:
            return error(exc.code, exc.message)
        response = file_response(doc, question.media_type) if isinstance(doc, File) else json_response(doc)
        for note in notes:
            response.headers.append(NOTE_HEADER, note.encode("ascii", "backslashreplace").decode())
        return response

    return endpoint


async def _openapi(request: Request) -> Response:
    return Response(_openapi_bytes(), media_type="application/json")


@cache
def _openapi_bytes() -> bytes:
    return orjson.dumps(openapi.document())


def parameters(question: Question, request: Request) -> dict[str, Any]:
    """The request's path and query parameters as the values `question` declares."""
    declared = {p.name: p for p in question.params if not p.in_path}
    unknown = sorted(set(request.query_params) - set(declared))
    if unknown:
        takes = ", ".join(sorted(declared)) or "no query parameters"
        raise UsageError(f"{question.path} takes no parameter {unknown[0]!r}: it takes {takes}")
    values: dict[str, Any] = dict(request.path_params)
    for name, param in declared.items():
        texts = request.query_params.getlist(name)
        if texts:
            values[name] = value_of(param, texts)
    return values


def value_of(param: Param, texts: list[str]) -> Any:
    """A parameter's value from the texts given for it (a repeatable one: each of them)."""
    if param.kind == "array":
        return tuple(texts)
    if len(texts) > 1:
        raise UsageError(f"{param.name} given {len(texts)} times: give it once")
    (text,) = texts
    if param.kind == "integer":
        try:
            return int(text)
        except ValueError:
            raise UsageError(f"{param.name}={text!r}: give a whole number") from None
    if param.kind == "boolean":
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise UsageError(f"{param.name}={text!r}: give true or false")
    return text


def json_response(doc: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(doc), status_code=status, media_type="application/json")


def file_response(file: File, media_type: str) -> Response:
    """A file to download under its own name."""
    return Response(file.data, media_type=media_type, headers={"content-disposition": f'attachment; filename="{file.name}"'})


def error(code: str, message: str) -> Response:
    """The contract's error shape, with the HTTP status its code means (500 for others)."""
    return json_response({"error": {"code": code, "message": message}}, _STATUS.get(code, 500))
