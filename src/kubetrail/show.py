"""One stored event as a document: normalized fields, provenance, original record."""

from __future__ import annotations

from typing import Any

import orjson

from kubetrail.model import catalog
from kubetrail.timeutil import format_ns

_TIME_FIELDS = frozenset(f.name for f in catalog() if f.sql.startswith("TIMESTAMP"))
_PROVENANCE = ("file_id", "line", "byte_offset", "content_hash", "raw")


def event_document(row: dict[str, Any]) -> dict[str, Any]:
    event = {k: _value(k, v) for k, v in row.items() if k in _FIELDS and k not in _PROVENANCE}
    if event.get("extra"):
        event["extra"] = orjson.loads(event["extra"])
    ingested = row.get("provenance_ingested_at")
    return {
        "event": event,
        "provenance": {
            "file": row.get("provenance_path"),
            "line": row.get("line"),
            "byte_offset": row.get("byte_offset"),
            "sha256": row.get("provenance_sha256"),
            "ingested_at": format_ns(ingested) if ingested is not None else None,
            "content_hash": row.get("content_hash"),
        },
        "original": _original(row.get("raw")),
    }


_FIELDS = frozenset(f.name for f in catalog())


def _value(name: str, value: Any) -> Any:
    if name in _TIME_FIELDS and value is not None:
        return format_ns(value)
    return value


def _original(raw: str | None) -> Any:
    if raw is None:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw
