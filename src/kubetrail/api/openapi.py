"""The read API's OpenAPI 3.1 document, built from the questions themselves (answers/requests.py):
their paths and parameters, and as response schemas the contract's JSON Schemas (the export, a
tar.gz, is binary). Each sits in `components/schemas` under its file's name, its references into
itself re-rooted there and its `$id` left out, so that tools which resolve references as JSON
pointers into this one document (most do, whatever `$id` says) find them.

The schemas are the files of `contract/` at the top of the repository. A wheel ships them inside
the package (`kubetrail/contract` links there, and package data takes them along); a checkout
run from source reads them through the same link, or from the repository when the link is gone.
"""

from __future__ import annotations

from functools import cache
from importlib import metadata, resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Any, Final

import orjson

from kubetrail.answers.requests import JSON, QUESTIONS, Param, Question

API: Final = "/api/v1"
SUFFIX: Final = ".schema.json"
NOTE_HEADER: Final = "kubetrail-note"  # a diagnostic the CLI prints on stderr (e.g. the window holds no events)

ERROR: Final = {
    "type": "object",
    "description": "The contract's one error shape: `usage` (HTTP 400) for bad parameters, `not_found` (404).",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}
_OWN: Final = {"error": ERROR}
_NOTE: Final = "A diagnostic the CLI prints on stderr (repeated), e.g. that the window holds no events at all."


def document() -> dict[str, Any]:
    schemas = contract_schemas()
    for q in QUESTIONS.values():  # an install without the contract still gets a valid document
        name = q.schema.partition("#")[0]
        if q.media_type == JSON and name not in schemas and name not in _OWN:
            schemas[name] = {"description": f"contract/{name}{SUFFIX} is not installed", "$defs": {"row": {}}}
    paths: dict[str, Any] = {API + q.path: {"get": _operation(q)} for q in QUESTIONS.values()}
    paths[API + "/openapi.json"] = {
        "get": {
            "operationId": "openapi",
            "summary": "This document.",
            "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}},
        }
    }
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "kubetrail read API",
            "version": _version(),
            "description": "The documents of the CLI's `-o json`, with parameters named as its options (CONTRACT.md).",
        },
        "paths": paths,
        "components": {
            "schemas": {name: embedded(name, contract) for name, contract in schemas.items()} | _OWN,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }


def embedded(name: str, schema: Any) -> Any:
    """A contract schema as components/schemas/NAME: `#/...` references re-rooted there, no `$id`."""
    if isinstance(schema, dict):
        return {
            k: (f"#/components/schemas/{name}/{v[2:]}" if k == "$ref" and v.startswith("#/") else embedded(name, v))
            for k, v in schema.items()
            if k != "$id"
        }
    if isinstance(schema, list):
        return [embedded(name, v) for v in schema]
    return schema


def _operation(q: Question) -> dict[str, Any]:
    error = {"description": "", "content": {JSON: {"schema": {"$ref": "#/components/schemas/error"}}}}
    headers = {NOTE_HEADER: {"description": _NOTE, "schema": {"type": "string"}}}
    return {
        "operationId": q.name.replace(" ", "_"),
        "summary": q.summary,
        "x-kubetrail-command": q.name,  # the command whose `-o json` this is (or holds: incident, export)
        "parameters": [_parameter(p) for p in q.params],
        "responses": {
            "200": {"description": q.summary, "headers": headers | _file_headers(q), "content": _content(q)},
            "400": error | {"description": "Bad parameters (code `usage`)."},
            "404": error | {"description": "Nothing with that id (code `not_found`)."},
        },
    }


def _content(q: Question) -> dict[str, Any]:
    """A document by its contract schema; a file (the export's tar.gz) as binary of its media type."""
    if q.media_type != JSON:
        return {q.media_type: {"schema": {"type": "string", "format": "binary", "contentMediaType": q.media_type}}}
    name, _, part = q.schema.partition("#")
    return {JSON: {"schema": {"$ref": f"#/components/schemas/{name}{part}"}}}


def _file_headers(q: Question) -> dict[str, Any]:
    if q.media_type == JSON:
        return {}
    disposition = "attachment, and the name to save the file as (the export: kubetrail-export-ID.tar.gz)."
    return {"content-disposition": {"description": disposition, "schema": {"type": "string"}}}


def _parameter(p: Param) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": p.kind} if p.kind != "array" else {"type": "array", "items": {"type": "string"}}
    if p.default is not None and p.kind != "array":
        schema["default"] = p.default
    out = {"name": p.name, "in": "path" if p.in_path else "query", "required": p.needed, "description": p.help, "schema": schema}
    if p.kind == "array":
        out |= {"style": "form", "explode": True}
    return out


def contract_schemas() -> dict[str, Any]:
    """contract/NAME.schema.json by NAME ({} when this install has none)."""
    return dict(_schemas())


@cache
def _schemas() -> dict[str, Any]:
    folder = _contract()
    if folder is None:
        return {}
    return {
        f.name.removesuffix(SUFFIX): orjson.loads(f.read_bytes())
        for f in sorted(folder.iterdir(), key=lambda f: f.name)
        if f.name.endswith(SUFFIX)
    }


def _contract() -> Traversable | None:
    shipped = resources.files("kubetrail") / "contract"
    if shipped.is_dir():
        return shipped
    checkout = Path(__file__).resolve().parents[3] / "contract"  # src/kubetrail/api/openapi.py -> the repository
    return checkout if checkout.is_dir() else None


def _version() -> str:
    try:
        return metadata.version("kubetrail")
    except metadata.PackageNotFoundError:
        return "0"
