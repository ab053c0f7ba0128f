"""Serving fixtures: the real app on a real store and spool, driven in-process (Starlette's test
client), and bodies in the producers' wire formats built from the real corpora."""

from __future__ import annotations

import base64
import gzip
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import orjson
from starlette.testclient import TestClient

from kubetrail.api.app import build
from kubetrail.api.auth import Authenticator
from kubetrail.serve.config import Identity, Limits, ServeConfig, TokenSet
from kubetrail.serve.pipeline import SPOOL_CURSOR, Core
from kubetrail.serve.spool import Spool
from kubetrail.store.duckdb import DuckDBStore

ADMIN = "admin-token"
INGEST = "ingest-token-prod"
VIEWER = "viewer-token"


@dataclass
class Served:
    client: TestClient
    core: Core
    store: DuckDBStore
    auth: Authenticator

    def post(self, path: str, body: bytes, token: str = ADMIN, **headers: str) -> Any:
        named = {k.replace("_", "-"): v for k, v in headers.items()}  # content_type= -> content-type
        return self.client.post(path, content=body, headers={"authorization": f"Bearer {token}", **named})

    def drained(self) -> DuckDBStore:
        """Everything acknowledged, in the store (the core stopped)."""
        self.core.stop()
        return self.store


def config(db: Path, **limits: int) -> ServeConfig:
    tokens = (
        TokenSet("admin", Identity("token:admin", "admin", None, True), (ADMIN,)),
        TokenSet("prod", Identity("token:prod", "ingest", "prod-euw1", False), (INGEST,)),
        TokenSet("viewer", Identity("token:viewer", "viewer", None, False), (VIEWER,)),
    )
    return ServeConfig(db=str(db), token_sets=tokens, limits=replace(Limits(), **limits))


@contextmanager
def served(tmp_path: Path, **limits: int) -> Iterator[Served]:
    cfg = config(tmp_path / "s.duckdb", **limits)
    store = DuckDBStore(cfg.db)
    cursor = store.cursor(SPOOL_CURSOR)
    # Normalized in the drain thread (workers=0): a worker process per test would cost its start;
    # the real `serve` in test_crash.py and bench/serve.py normalizes in its worker.
    spool = Spool(cfg.spool, start=cursor.position if cursor else 0)
    core = Core(store, spool, high_water=cfg.limits.spool_high_water, workers=0)
    auth = Authenticator(cfg)
    core.start()
    app = build(cfg, store, core, auth)
    with TestClient(app) as client:
        s = Served(client, core, store, auth)
        try:
            yield s
        finally:
            if core._drain.is_alive():
                core.stop()
            store.close()


# -- wire formats ------------------------------------------------------------------------------
def event_list(events: list[dict[str, Any]]) -> bytes:
    """What the kube-apiserver's webhook backend POSTs (audit.k8s.io/v1 EventList)."""
    return orjson.dumps({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "metadata": {}, "items": events})


def otlp_protobuf(otlp_json: dict[str, Any], signal: str) -> bytes:
    """An OTLP/JSON request as the OTLP/HTTP protobuf body a Collector sends (ids hex -> bytes)."""
    from google.protobuf.json_format import ParseDict
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    value = orjson.loads(orjson.dumps(otlp_json))
    outer, middle, inner = (
        ("resourceSpans", "scopeSpans", "spans") if signal == "traces" else ("resourceLogs", "scopeLogs", "logRecords")
    )
    for group in value.get(outer, ()):
        for scope in group.get(middle, ()):
            for item in scope.get(inner, ()):
                for key in ("traceId", "spanId", "parentSpanId"):
                    if item.get(key):
                        item[key] = base64.b64encode(bytes.fromhex(item[key])).decode()
                for link in item.get("links", ()):
                    for key in ("traceId", "spanId"):
                        if link.get(key):
                            link[key] = base64.b64encode(bytes.fromhex(link[key])).decode()
    message = ExportTraceServiceRequest() if signal == "traces" else ExportLogsServiceRequest()
    ParseDict(value, message)
    return bytes(message.SerializeToString())


def gz(data: bytes) -> bytes:
    return gzip.compress(data)
