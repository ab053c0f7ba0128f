"""The one normalized event schema and its field catalog.

Every record from every source becomes one or more `Event`s. The class *is* the field catalog:
each field carries its SQL type and its documentation, and the store's DDL and `docs/fields.md`
are generated from it (see `catalog()`), so a column is described exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Final

import msgspec

SOURCES: Final = ("k8s_audit", "falco", "hubble", "tetragon", "otel", "inventory")
KINDS: Final = (
    "api_call",
    "process_exec",
    "process_exit",
    "runtime_alert",
    "file_access",
    "network_flow",
    "dns",
    "http",
    "span",
    "log",
    "inventory",
    "sensor_stats",
)
VERDICTS: Final = ("FORWARDED", "DROPPED", "ERROR", "AUDIT", "REDIRECTED", "TRACED", "TRANSLATED")


def _f(sql: str, doc: str, compression: str | None = None) -> msgspec.Meta:
    return msgspec.Meta(description=doc, extra={"sql": sql, "compression": compression})


# Long, mostly unique text: zstd compresses it ~3x better than DuckDB's default string
# compression and is about twice as fast to write (measured in bench/RESULTS.md).
ZSTD = "zstd"


Str = str | None
Int = int | None
Bool = bool | None
StrList = list[str] | None


class Event(msgspec.Struct, kw_only=True, gc=False):
    """One normalized event. Field order is the order of docs/fields.md (and of a new store's
    columns up to the last migration that added one)."""

    # identity and time
    id: Annotated[str, _f("VARCHAR NOT NULL", "Stable id derived from the source's identity key.")]
    time: Annotated[int, _f("TIMESTAMP_NS NOT NULL", "When it happened, UTC, ns (audit: requestReceivedTimestamp; span: start).")]
    source: Annotated[str, _f("VARCHAR NOT NULL", "Producer family: k8s_audit, falco, hubble, tetragon, otel, inventory.")]
    kind: Annotated[str, _f("VARCHAR NOT NULL", "What happened: api_call, process_exec, network_flow, ... (closed enum).")]
    format: Annotated[
        Str, _f("VARCHAR", "The producer's own format, e.g. audit.k8s.io/v1, gke-cloudaudit, aks-diagnostic, otlp-json.")
    ] = None
    time_source: Annotated[
        Str,
        _f(
            "VARCHAR",
            "The record field `time` came from when it is not the source's usual one (e.g. Tetragon `time` for a "
            "process_exec without `process.start_time`, audit `stageTimestamp`, Hubble `time` for a flow without "
            "`flow.time`); null: the usual field.",
        ),
    ] = None
    end_time: Annotated[
        Int, _f("TIMESTAMP_NS", "End of the interval the event covers (span end, audit stage time of ResponseComplete).")
    ] = None
    summary: Annotated[Str, _f("VARCHAR", "One-line human description of the event.", ZSTD)] = None
    # where
    cluster: Annotated[
        Str,
        _f(
            "VARCHAR NOT NULL",
            "The cluster, one name whatever each source calls it: --cluster at ingest; else the one name the "
            "ingest's inputs (and the store, when it holds one cluster) carry; else the record's own; else 'default'.",
        ),
    ] = None
    sensor_cluster: Annotated[
        Str,
        _f(
            "VARCHAR",
            "The cluster name the record itself carries (Hubble node_name prefix or the local endpoint's cluster, "
            "Tetragon cluster_name, OTel k8s.cluster.name, GKE/AKS/EKS resource), as the sensor said it.",
        ),
    ] = None
    node: Annotated[Str, _f("VARCHAR", "Node name (without a 'cluster/' prefix).")] = None
    namespace: Annotated[
        Str, _f("VARCHAR", "Namespace of the subject (pod of a runtime event, object of an API call, source endpoint of a flow).")
    ] = None
    pod_name: Annotated[Str, _f("VARCHAR", "Pod name of the subject.")] = None
    pod_uid: Annotated[Str, _f("VARCHAR", "Pod uid of the subject, when the record carries it.")] = None
    container_id: Annotated[
        Str, _f("VARCHAR", "Container id, normalized to its first 12 hex digits (runtime prefix dropped).")
    ] = None
    container_name: Annotated[Str, _f("VARCHAR", "Container name.")] = None
    image: Annotated[Str, _f("VARCHAR", "Container image reference.")] = None
    workload_kind: Annotated[Str, _f("VARCHAR", "Owner workload kind (Deployment, DaemonSet, ...), when known.")] = None
    workload_name: Annotated[Str, _f("VARCHAR", "Owner workload name, when known.")] = None
    service_account: Annotated[Str, _f("VARCHAR", "Service account 'namespace/name' of the actor or of the subject pod.")] = None
    # who (API)
    actor: Annotated[
        Str, _f("VARCHAR", "Username exactly as the API server saw it (the impersonated user when impersonating).")
    ] = None
    actor_groups: Annotated[StrList, _f("VARCHAR[]", "Groups of the actor.")] = None
    impersonated_by: Annotated[Str, _f("VARCHAR", "The authenticated user who impersonated `actor`.")] = None
    user_agent: Annotated[Str, _f("VARCHAR", "HTTP user agent of the API call.", ZSTD)] = None
    source_ips: Annotated[StrList, _f("VARCHAR[]", "Client addresses of the API call (audit sourceIPs).")] = None
    token_pod_name: Annotated[Str, _f("VARCHAR", "Bound service-account token: pod name from user.extra.")] = None
    token_pod_uid: Annotated[Str, _f("VARCHAR", "Bound service-account token: pod uid from user.extra.")] = None
    token_node_name: Annotated[Str, _f("VARCHAR", "Bound token / node credential: node name from user.extra.")] = None
    credential_id: Annotated[Str, _f("VARCHAR", "Credential id from user.extra (e.g. JTI=...).")] = None
    # what (API)
    audit_id: Annotated[
        Str, _f("VARCHAR", "Audit ID shared by the stages of one API request (GKE: operation id or insertId).")
    ] = None
    audit_level: Annotated[Str, _f("VARCHAR", "Audit level: None, Metadata, Request, RequestResponse.")] = None
    stage: Annotated[Str, _f("VARCHAR", "Audit stage: RequestReceived, ResponseStarted, ResponseComplete, Panic.")] = None
    stage_time: Annotated[Int, _f("TIMESTAMP_NS", "Audit stageTimestamp.")] = None
    verb: Annotated[Str, _f("VARCHAR", "API verb (get, list, watch, create, patch, ...).")] = None
    resource: Annotated[Str, _f("VARCHAR", "API resource (pods, secrets, ...).")] = None
    subresource: Annotated[
        Str, _f("VARCHAR", "API subresource (exec, attach, portforward, ephemeralcontainers, token, ...).")
    ] = None
    api_group: Annotated[Str, _f("VARCHAR", "API group ('' for core).")] = None
    object_name: Annotated[Str, _f("VARCHAR", "Name of the object acted on.")] = None
    request_uri: Annotated[Str, _f("VARCHAR", "Request URI as sent.", ZSTD)] = None
    code: Annotated[Int, _f("INTEGER", "HTTP status of the response (GKE gRPC codes mapped).")] = None
    decision: Annotated[Str, _f("VARCHAR", "Authorization decision (allow, forbid).")] = None
    reason: Annotated[Str, _f("VARCHAR", "Authorization reason.")] = None
    exec_command: Annotated[
        Str, _f("VARCHAR", "Command of an exec request, parsed from requestURI, arguments joined by spaces.")
    ] = None
    exec_container: Annotated[Str, _f("VARCHAR", "Container named by an exec/attach request.")] = None
    # process
    binary: Annotated[Str, _f("VARCHAR", "Executable path (or name when the sensor gives no path).")] = None
    args: Annotated[Str, _f("VARCHAR", "Arguments, space separated, without the binary.")] = None
    pid: Annotated[Int, _f("BIGINT", "Process id.")] = None
    parent_pid: Annotated[Int, _f("BIGINT", "Parent process id.")] = None
    parent_binary: Annotated[Str, _f("VARCHAR", "Parent executable path or name.")] = None
    parent_args: Annotated[Str, _f("VARCHAR", "Parent arguments.")] = None
    exec_id: Annotated[Str, _f("VARCHAR", "Sensor's unique process id (Tetragon exec_id).")] = None
    parent_exec_id: Annotated[Str, _f("VARCHAR", "Sensor's unique id of the parent process.")] = None
    process_uid: Annotated[Int, _f("BIGINT", "Unix uid of the process.")] = None
    process_user: Annotated[Str, _f("VARCHAR", "User name of the process.")] = None
    cwd: Annotated[Str, _f("VARCHAR", "Working directory of the process.")] = None
    tty: Annotated[Bool, _f("BOOLEAN", "Whether the process has a terminal.")] = None
    file_path: Annotated[Str, _f("VARCHAR", "File the event touched.")] = None
    # network
    src_ip: Annotated[Str, _f("VARCHAR", "Source address.")] = None
    src_port: Annotated[Int, _f("INTEGER", "Source port.")] = None
    dst_ip: Annotated[Str, _f("VARCHAR", "Destination address.")] = None
    dst_port: Annotated[Int, _f("INTEGER", "Destination port (ICMP: none).")] = None
    protocol: Annotated[Str, _f("VARCHAR", "TCP, UDP, ICMPv4, ICMPv6, SCTP, ...")] = None
    verdict: Annotated[Str, _f("VARCHAR", "Flow verdict (FORWARDED, DROPPED, ...).")] = None
    drop_reason: Annotated[Str, _f("VARCHAR", "Why a flow was dropped.")] = None
    direction: Annotated[Str, _f("VARCHAR", "Traffic direction seen by the sensor (INGRESS, EGRESS).")] = None
    is_reply: Annotated[Bool, _f("BOOLEAN", "Whether the flow is a reply (replies are not connections).")] = None
    src_namespace: Annotated[Str, _f("VARCHAR", "Namespace of the source endpoint.")] = None
    src_pod_name: Annotated[Str, _f("VARCHAR", "Pod name of the source endpoint.")] = None
    src_labels: Annotated[
        StrList, _f("VARCHAR[]", "Labels of the source endpoint (Hubble form, e.g. k8s:app=x, reserved:world).")
    ] = None
    src_identity: Annotated[Int, _f("BIGINT", "Cilium security identity of the source.")] = None
    src_workload: Annotated[Str, _f("VARCHAR", "Owner workload of the source endpoint (kind/name).")] = None
    dst_namespace: Annotated[Str, _f("VARCHAR", "Namespace of the destination endpoint.")] = None
    dst_pod_name: Annotated[Str, _f("VARCHAR", "Pod name of the destination endpoint.")] = None
    dst_labels: Annotated[StrList, _f("VARCHAR[]", "Labels of the destination endpoint.")] = None
    dst_identity: Annotated[Int, _f("BIGINT", "Cilium security identity of the destination.")] = None
    dst_workload: Annotated[Str, _f("VARCHAR", "Owner workload of the destination endpoint (kind/name).")] = None
    dst_names: Annotated[StrList, _f("VARCHAR[]", "DNS names the sensor knew for the destination.")] = None
    dst_service: Annotated[Str, _f("VARCHAR", "Service 'namespace/name' of the destination, when the sensor knew it.")] = None
    dns_query: Annotated[Str, _f("VARCHAR", "DNS query name (trailing dot kept as sent).")] = None
    dns_ips: Annotated[StrList, _f("VARCHAR[]", "Addresses in a DNS answer.")] = None
    dns_rcode: Annotated[Int, _f("INTEGER", "DNS response code.")] = None
    dns_ttl: Annotated[Int, _f("BIGINT", "DNS answer TTL, seconds.")] = None
    http_method: Annotated[Str, _f("VARCHAR", "HTTP method.")] = None
    http_url: Annotated[Str, _f("VARCHAR", "HTTP URL.")] = None
    http_code: Annotated[Int, _f("INTEGER", "HTTP response status.")] = None
    http_route: Annotated[Str, _f("VARCHAR", "Route template (OTel http.route).")] = None
    # detections and sensors
    rule: Annotated[Str, _f("VARCHAR", "Detection rule that fired (Falco rule, Tetragon policy).")] = None
    priority: Annotated[Str, _f("VARCHAR", "Sensor priority/severity (Falco priority, OTel log severity).")] = None
    sensor_source: Annotated[
        Str, _f("VARCHAR", "The sensor's own event source name (Falco syscall, k8s_audit; Tetragon event type).")
    ] = None
    tags: Annotated[StrList, _f("VARCHAR[]", "Sensor tags (Falco rule tags).")] = None
    drop_count: Annotated[Int, _f("BIGINT", "Sensor drop counter (sensor_stats events).")] = None
    # traces
    trace_id: Annotated[Str, _f("VARCHAR", "Trace id, lowercase hex.")] = None
    span_id: Annotated[Str, _f("VARCHAR", "Span id, lowercase hex.")] = None
    parent_span_id: Annotated[Str, _f("VARCHAR", "Parent span id, lowercase hex.")] = None
    span_name: Annotated[Str, _f("VARCHAR", "Span name.")] = None
    span_kind: Annotated[Str, _f("VARCHAR", "Span kind: server, client, internal, producer, consumer.")] = None
    service_name: Annotated[Str, _f("VARCHAR", "OTel service.name.")] = None
    enduser_id: Annotated[Str, _f("VARCHAR", "End user (OTel enduser.id).")] = None
    status: Annotated[Str, _f("VARCHAR", "Span status code (OK, ERROR, UNSET).")] = None
    # everything else the source said, and where it came from
    extra: Annotated[Str, _f("JSON", "Source-specific fields worth keeping that have no column (JSON object).", ZSTD)] = None
    raw: Annotated[Str, _f("VARCHAR", "The original record, secrets redacted (JSON text).", ZSTD)] = None
    file_id: Annotated[Int, _f("BIGINT", "Provenance: the ingested file (see the files table).")] = None
    line: Annotated[Int, _f("BIGINT", "Provenance: 1-based line where the record starts.")] = None
    byte_offset: Annotated[Int, _f("BIGINT", "Provenance: byte offset of the record in the (decompressed) input.")] = None
    content_hash: Annotated[
        Str, _f("VARCHAR", "Hash of the normalized content; same id and hash = duplicate, same id and other hash = conflict.")
    ] = None


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    sql: str
    doc: str
    compression: str | None = None


def catalog() -> tuple[Field, ...]:
    """The field catalog, read once from `Event`'s annotations."""
    return _CATALOG


def _read_catalog() -> tuple[Field, ...]:
    info = msgspec.inspect.type_info(Event)
    assert isinstance(info, msgspec.inspect.StructType)
    out = []
    for f in info.fields:
        out.append(Field(f.name, *_sql_and_doc(f.type)))
    return tuple(out)


def _sql_and_doc(t: msgspec.inspect.Type) -> tuple[str, str, str | None]:
    if isinstance(t, msgspec.inspect.Metadata) and t.extra and t.extra_json_schema:
        return str(t.extra["sql"]), str(t.extra_json_schema["description"]), t.extra["compression"]
    raise TypeError(f"Event field type {t!r} lacks catalog metadata")


_CATALOG: Final = _read_catalog()
FIELD_NAMES: Final = tuple(f.name for f in _CATALOG)
# Fields that describe where a record came from, or what ingest named it, rather than what it
# says: they are not part of the content hash, so the same event arriving by two paths, or under
# another cluster name, is a duplicate.
PROVENANCE_FIELDS: Final = frozenset({"raw", "format", "cluster", "file_id", "line", "byte_offset", "content_hash"})


@dataclass(frozen=True, slots=True)
class EventClass:
    """A class of events and the table that stores them: the kinds it holds and the fields it
    has a column for (catalog order). The common fields are every class's."""

    table: str
    kinds: tuple[str, ...]
    fields: tuple[str, ...]
    doc: str


def _run(first: str, last: str) -> tuple[str, ...]:
    """The catalog's fields from `first` to `last`, both included."""
    return FIELD_NAMES[FIELD_NAMES.index(first) : FIELD_NAMES.index(last) + 1]


# Fields every class has: identity, time, where, the subject's workload, who, and provenance.
COMMON_FIELDS: Final = (*_run("id", "service_account"), "actor", *_run("extra", "content_hash"))
_API: Final = _run("actor_groups", "exec_container")
_PROCESS: Final = _run("binary", "file_path")
_NETWORK: Final = _run("src_ip", "http_route")
_DETECTION: Final = _run("rule", "drop_count")
_TRACE: Final = _run("trace_id", "status")


def _class(table: str, kinds: tuple[str, ...], own: tuple[str, ...], doc: str) -> EventClass:
    fields = {*COMMON_FIELDS, *own}
    return EventClass(table, kinds, tuple(f for f in FIELD_NAMES if f in fields), doc)


# The logical schema: each class of events in a table of its own, with only its own columns,
# behind one `events` view (every engine's DDL is generated from this; store/ddl.py). A field
# set on an event its class has no column for is a normalizer bug, caught before it is stored
# (ingest quarantines the record, saying so).
CLASSES: Final = (
    _class("api_calls", ("api_call",), _API, "API server requests (audit events)."),
    _class(
        "processes",
        ("process_exec", "process_exit", "file_access"),
        (*_PROCESS, *_DETECTION),
        "Processes started and ended, files touched.",
    ),
    _class(
        "flows",
        ("network_flow", "dns", "http"),
        (*_NETWORK, *_PROCESS, *_DETECTION, "trace_id", "span_id", "parent_span_id"),
        "Connections, DNS and HTTP exchanges, seen on the network or in the kernel (with the process, when known).",
    ),
    _class(
        "runtime_alerts",
        ("runtime_alert",),
        (*_API, *_PROCESS, *_NETWORK, *_DETECTION),
        "Sensor detections (Falco rules, Tetragon policies), of any subject.",
    ),
    _class("spans", ("span", "log"), (*_TRACE, *_NETWORK, "user_agent", "priority"), "Trace spans and logs."),
    _class("objects", ("inventory", "sensor_stats"), ("object_name", *_DETECTION), "Inventory objects and sensor counters."),
)
CLASS_OF_KIND: Final = {kind: c for c in CLASSES for kind in c.kinds}


def fields_markdown() -> str:
    """docs/fields.md, generated from the catalog."""
    lines = [
        "# Event fields",
        "",
        "Generated from `src/kubetrail/model.py` by `python -m kubetrail.model`; do not edit.",
        "",
        "Every event has these fields. The store keeps each class of events in a table of its own, with",
        "only the columns its events can fill; the view `events` shows them all, with NULL where a table",
        "has no column.",
        "",
        "| table | kinds | what |",
        "|---|---|---|",
    ]
    lines += [f"| `{c.table}` | {', '.join(c.kinds)} | {c.doc} |" for c in CLASSES]
    lines += ["", "| column | type | tables | meaning |", "|---|---|---|---|"]
    for f in _CATALOG:
        tables = "all" if f.name in COMMON_FIELDS else ", ".join(c.table for c in CLASSES if f.name in c.fields)
        lines.append(f"| `{f.name}` | {f.sql.replace(' NOT NULL', '')} | {tables} | {f.doc} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(fields_markdown(), end="")
