"""Asking a question of the `kubetrail serve` that holds a store (api/held.py), over its read API.

The CLI's option values go out as the question's query and path parameters (answers/requests.py),
with the serve's bearer token; the reply is the very document a local answer would be (or, for a
question that answers with a file, its bytes), and its `Kubetrail-Note` headers the diagnostics a
local answer prints on stderr.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote

import httpx
import orjson

from kubetrail.answers.requests import JSON, QUESTIONS
from kubetrail.api.held import Held
from kubetrail.api.openapi import API, NOTE_HEADER

TIMEOUT: Final = httpx.Timeout(300.0, connect=5.0)  # an answer on a large store takes a while; a connection does not


@dataclass(frozen=True, slots=True)
class Reply:
    doc: Any  # the JSON document; bytes for a question that answers with a file
    notes: list[str]


class ClientError(Exception):
    """The question was not answered: `code` and `message` as the contract's error shape has them;
    `usage` when the parameters were refused (HTTP 400)."""

    def __init__(self, code: str, message: str, *, usage: bool = False) -> None:
        super().__init__(message)
        self.code, self.message, self.usage = code, message, usage


def ask(held: Held, name: str, values: Mapping[str, Any]) -> Reply:
    """Question `name` (a key of QUESTIONS) with the option values `values` (None: not given)."""
    path, params = _request(name, values)
    response = _get(held, path, params)
    return Reply(_body(held, path, QUESTIONS[name].media_type, response), response.headers.get_list(NOTE_HEADER))


def _get(held: Held, path: str, params: dict[str, list[str]]) -> httpx.Response:
    """The serve's 200 response to GET `path`; anything else raises ClientError."""
    try:
        token = held.token()
    except OSError as exc:
        raise ClientError(
            "held", f"cannot read the token of kubetrail serve (PID {held.pid}) from {held.token_file}: {exc.strerror}"
        ) from None
    verify: ssl.SSLContext | bool = _pinned(held.ca_file) if held.ca_file else True
    try:
        with httpx.Client(verify=verify, trust_env=False, timeout=TIMEOUT) as client:
            headers = {"Authorization": f"Bearer {token}"}
            response = client.get(held.url.rstrip("/") + path, params=params, headers=headers)
    except httpx.TransportError as exc:
        reason = str(exc) or type(exc).__name__
        message = f"kubetrail serve (PID {held.pid}) holds {held.db} but does not answer at {held.url}: {reason}"
        raise ClientError("held", message) from None
    if response.status_code != httpx.codes.OK:
        raise _refused(held, response)
    return response


def _body(held: Held, path: str, media_type: str, response: httpx.Response) -> Any:
    """The JSON document of a response, or the bytes of a file of `media_type`."""
    if media_type != JSON:
        got = response.headers.get("content-type", "").partition(";")[0].strip()
        if got != media_type:
            message = f"kubetrail serve (PID {held.pid}) answered {path} with {got or 'no content type'}, not {media_type}"
            raise ClientError("server", message)
        return response.content
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        raise ClientError("server", f"kubetrail serve (PID {held.pid}) answered {path} with something not JSON") from None


def _pinned(cert_file: str) -> ssl.SSLContext:
    """Trust exactly the serve's own certificate (its file, readable here), whatever names it holds:
    the CLI reaches a serve that listens on every address over loopback, a name its certificate,
    made for the Service's DNS name, does not carry."""
    context = ssl.create_default_context(cafile=cert_file)
    context.check_hostname = False
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN  # the leaf itself is the anchor
    return context


def _request(name: str, values: Mapping[str, Any]) -> tuple[str, dict[str, list[str]]]:
    """The path (path parameters filled in) and the query parameters of a question."""
    question = QUESTIONS[name]
    in_path = {p.name: quote(str(values[p.name]), safe="") for p in question.params if p.in_path}
    params: dict[str, list[str]] = {}
    for p in question.params:
        value = values.get(p.name)
        if p.in_path or value is None:
            continue
        if isinstance(value, tuple | list):
            params[p.name] = [str(v) for v in value]
        elif isinstance(value, bool):
            params[p.name] = ["true" if value else "false"]
        else:
            params[p.name] = [str(value)]
    return API + question.path.format(**in_path), params


def _refused(held: Held, response: httpx.Response) -> ClientError:
    status = response.status_code
    try:
        err = orjson.loads(response.content)["error"]
        code, message = str(err["code"]), str(err["message"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        code, message = "server", f"kubetrail serve (PID {held.pid}) answered HTTP {status}: {response.text[:200]}"
    if status in (httpx.codes.UNAUTHORIZED, httpx.codes.FORBIDDEN):
        message = f"kubetrail serve (PID {held.pid}) refused the token in {held.token_file} (HTTP {status}): {message}"
    return ClientError(code, message, usage=status == httpx.codes.BAD_REQUEST)
