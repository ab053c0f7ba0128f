"""The receivers of `kubetrail serve`: each reads a body in its producer's wire format, checks it can
be read (400 with the reason if not), and answers 2xx only once the body is durable in the spool.

| path | producer setting |
|---|---|
| POST /v1/audit | kube-apiserver `--audit-webhook-config-file` (EventList, batch or blocking mode) |
| POST /v1/falco | Falco `http_output.url`, falcosidekick `webhook.address` |
| POST /v1/traces, /v1/logs | an OpenTelemetry Collector `otlphttp` exporter (protobuf or JSON, gzip) |
| POST /v1/ingest?source=NAME | NDJSON of any format `ingest` reads (Fluent Bit `http` json_lines, Vector `http` ndjson) |

Limits, in order: one sender's requests at once (429), spool backlog and bytes being received
(503, with Retry-After), body size as sent and decompressed (413).
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kubetrail.serve.config import Identity, Limits
from kubetrail.serve.pipeline import Core, Incoming
from kubetrail.sources import registry


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}

    def response(self) -> Response:
        return JSONResponse({"error": {"code": self.code, "message": self.message}}, self.status, self.headers)


@dataclass(frozen=True)
class Parsed:
    body: bytes  # what goes into the spool (JSON or NDJSON text)
    records: int
    unreadable: int = 0
    protobuf: bool = False  # answer in protobuf (OTLP)


Parse = Callable[[bytes, str, Request], Parsed]


class Gate:
    """What the receivers let in at once: per sender, and bytes in flight over all."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.per_sender: Counter[str] = Counter()
        self.inflight_bytes = 0


# -- formats -------------------------------------------------------------------------------------
def _json(body: bytes, what: str) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Refused(400, "unreadable", f"{what}: invalid JSON: {exc}") from exc


def parse_audit(body: bytes, content_type: str, request: Request) -> Parsed:
    value = _json(body, "audit webhook body")
    if isinstance(value, dict) and value.get("kind") == "EventList" and isinstance(value.get("items"), list):
        return Parsed(body, len(value["items"]))
    if isinstance(value, dict) and value.get("kind") == "Event":
        return Parsed(body, 1)
    raise Refused(400, "unreadable", "audit webhook body: expected an audit.k8s.io EventList (or one Event)")


def parse_falco(body: bytes, content_type: str, request: Request) -> Parsed:
    value = _json(body, "Falco alert")
    alerts = value if isinstance(value, list) else [value]
    if not alerts or not all(isinstance(a, dict) and ("rule" in a or "output" in a) for a in alerts):
        raise Refused(
            400,
            "unreadable",
            "Falco body: expected an alert (http_output, falcosidekick webhook): an object with rule and output",
        )
    return Parsed(body, len(alerts))


def otlp(signal: str) -> Parse:
    def parse(body: bytes, content_type: str, request: Request) -> Parsed:
        from kubetrail.sources.otel import OTLPError, request_as_json

        protobuf = "protobuf" in content_type
        try:
            value = request_as_json(body, signal) if protobuf else _json(body, f"OTLP/JSON {signal}")
        except OTLPError as exc:
            raise Refused(400, "unreadable", str(exc)) from exc
        outer = "resourceSpans" if signal == "traces" else "resourceLogs"
        if not isinstance(value, dict) or not isinstance(value.get(outer, []), list):
            raise Refused(400, "unreadable", f"OTLP {signal}: expected an object with {outer}")
        inner = ("scopeSpans", "spans") if signal == "traces" else ("scopeLogs", "logRecords")
        count = sum(len(s.get(inner[1], ())) for r in value.get(outer, ()) for s in r.get(inner[0], ()) or ())
        return Parsed(orjson.dumps(value) if protobuf else body, count, protobuf=protobuf)

    return parse


def parse_ndjson(body: bytes, content_type: str, request: Request) -> Parsed:
    good = bad = 0
    first_error = ""
    for number, line in enumerate(body.split(b"\n"), start=1):
        text = line.strip()
        if not text:
            continue
        try:
            orjson.loads(text)
            good += 1
        except orjson.JSONDecodeError as exc:
            bad += 1
            first_error = first_error or f"line {number}: {exc}"
    if not good and bad:
        raise Refused(400, "unreadable", f"no readable record (NDJSON, one JSON record per line): {first_error}")
    return Parsed(body, good, unreadable=bad)


# -- the handler ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Receiver:
    path: str
    parse: Parse
    source: str | None  # None: from ?source= (or detected per record)

    async def handle(self, request: Request) -> Response:
        core: Core = request.app.state.core
        gate: Gate = request.app.state.gate
        identity: Identity = request.state.identity
        try:
            return await self._receive(request, core, gate, identity)
        except Refused as refused:
            core.counters.rejected[refused.code] += 1
            return refused.response()

    async def _receive(self, request: Request, core: Core, gate: Gate, identity: Identity) -> Response:
        limits = gate.limits
        source = self._source(request)
        cluster = _cluster(request, identity)
        if gate.per_sender[identity.name] >= limits.per_sender_inflight:
            raise Refused(429, "too_many_requests", f"{identity.name} has {limits.per_sender_inflight} requests in flight",
                          {"retry-after": str(limits.retry_after_seconds)})  # fmt: skip
        if core.full():
            raise Refused(503, "backpressure", "the spool is full: the store is behind; retry later",
                          {"retry-after": str(limits.retry_after_seconds)})  # fmt: skip
        declared = int(request.headers.get("content-length") or 0)
        if declared > limits.max_body_bytes:
            raise Refused(413, "too_large", f"body of {declared} bytes; the limit is {limits.max_body_bytes}")
        reserve = declared or limits.max_body_bytes
        if gate.inflight_bytes + reserve > limits.max_inflight_bytes:
            raise Refused(503, "busy", "too many bytes being received at once; retry later",
                          {"retry-after": str(limits.retry_after_seconds)})  # fmt: skip
        gate.per_sender[identity.name] += 1
        gate.inflight_bytes += reserve
        try:
            body = _decoded(await _read(request, limits.max_body_bytes), request.headers.get("content-encoding", ""), limits)
            parsed = self.parse(body, request.headers.get("content-type", ""), request)
            if parsed.records or parsed.unreadable:
                origin = f"POST {self.path} from {identity.name}"
                await core.append(Incoming(self.path, origin, source, cluster, parsed.body, parsed.records))
        finally:
            gate.per_sender[identity.name] -= 1
            gate.inflight_bytes -= reserve
        if parsed.protobuf:
            return Response(b"", 200, media_type="application/x-protobuf")  # an empty Export*ServiceResponse
        return JSONResponse({"accepted": parsed.records, "unreadable": parsed.unreadable})

    def _source(self, request: Request) -> str | None:
        if self.source is not None:
            return self.source
        name = request.query_params.get("source")
        if name is not None and name not in registry():
            raise Refused(400, "usage", f"source {name!r}: give one of {', '.join(sorted(registry()))}, or none to detect")
        return name


def _cluster(request: Request, identity: Identity) -> str | None:
    asked = request.query_params.get("cluster")
    if asked is None:
        return identity.cluster
    if not identity.cluster_from_query:
        raise Refused(403, "forbidden", f"{identity.name} may not name the cluster (it sends for {identity.cluster!r})")
    return asked


async def _read(request: Request, limit: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    try:
        async for part in request.stream():
            size += len(part)
            if size > limit:
                raise Refused(413, "too_large", f"body over {limit} bytes")
            parts.append(part)
    except ClientDisconnect as exc:
        raise Refused(400, "disconnected", "the client went away before sending the whole body") from exc
    return b"".join(parts)


def _decoded(body: bytes, encoding: str, limits: Limits) -> bytes:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "x-gzip"):
        raise Refused(415, "unsupported_encoding", f"Content-Encoding {encoding!r}: send gzip or none")
    inflater = zlib.decompressobj(wbits=31)
    try:
        out = inflater.decompress(body, limits.max_decoded_bytes)
    except zlib.error as exc:
        raise Refused(400, "unreadable", f"body is not valid gzip: {exc}") from exc
    if inflater.unconsumed_tail:
        raise Refused(413, "too_large", f"body decompresses to more than {limits.max_decoded_bytes} bytes")
    if not inflater.eof:
        raise Refused(400, "unreadable", "gzip body is truncated")
    return out


RECEIVERS = (
    Receiver("/v1/audit", parse_audit, "k8s_audit"),
    Receiver("/v1/falco", parse_falco, "falco"),
    Receiver("/v1/traces", otlp("traces"), "otel"),
    Receiver("/v1/logs", otlp("logs"), "otel"),
    Receiver("/v1/ingest", parse_ndjson, None),
)


def routes() -> list[Route]:
    return [Route(r.path, r.handle, methods=["POST"]) for r in RECEIVERS]
