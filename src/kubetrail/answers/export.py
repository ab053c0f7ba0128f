"""`kubetrail export --incident ID --out DIR`: an incident's events as their redacted original
records (events.jsonl, one per line, in story order) plus manifest.json with the incident, each
event's provenance (file, line, offset, file sha256, ingest time) and the sha256 of each record
as written, so the bundle can be handed on and checked."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import orjson

from kubetrail.answers.incidents import Query, incidents
from kubetrail.show import event_document
from kubetrail.store import Store
from kubetrail.timeutil import format_ns


class NoSuchIncident(LookupError):
    """No incident with that id in the window."""


def export(store: Store, q: Query, incident_id: str, out: Path) -> dict[str, Any]:
    rows = incidents(store, Query(q.window, cluster=q.cluster, limit=1_000_000))["rows"]
    incident = next((r for r in rows if r["id"] == incident_id), None)
    if incident is None:
        raise NoSuchIncident(
            f"no incident {incident_id!r} between {format_ns(q.window.since)} and {format_ns(q.window.until)}: widen --since"
        )
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    with open(out / "events.jsonl", "wb") as f:
        stored = store.get_events(step["id"] for step in incident["steps"])
        for step in incident["steps"]:
            row = stored.get(step["id"])
            if row is None:
                continue
            doc = event_document(row)
            record = orjson.dumps(doc["original"]) + b"\n"
            f.write(record)
            entries.append(
                {
                    "id": step["id"],
                    "step": step,
                    "provenance": doc["provenance"],
                    "record_sha256": hashlib.sha256(record).hexdigest(),
                }
            )
    manifest = {"incident": incident, "events": entries, "exported_at": format_ns(time.time_ns()), "format": "kubetrail-export/1"}
    (out / "manifest.json").write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n")
    return {"incident": incident_id, "out": str(out), "events": len(entries)}
