"""Cilium Tetragon: the JSON export (`tetra getevents -o json`, export files).

A record is a `GetEventsResponse`: `{"<event type>": {...}, "node_name"?, "time"?, "cluster_name"?,
"node_labels"?, "aggregation_info"?}`, the event type being `process_exec`, `process_exit`,
`process_kprobe`, `process_tracepoint`, `process_uprobe`, `process_usdt`, `process_lsm`,
`process_loader`, `process_throttle`, or the older `process_connect`/`process_close`/`process_listen`;
any other `process_*` type is read generically, and `rate_limit_info` (events the agent dropped)
becomes `sensor_stats`. Each record is one event.

protojson leaves out every empty field, so none of them is required to recognise a record: the
`process_*` object names the producer. The time of each event type (`time_source` names the field
when it is not the usual one):
- `process_exec`: `process_exec.process.start_time`, the exec as the kernel stamped it (the
  envelope's `time` is when the agent saw it, a microsecond or so off); else `time`. But a
  process the agent found already running when it started (flag `procFS`) is dated by `time`,
  when the agent saw it: its start may be days before the sensor saw anything, and dating the
  event there would claim coverage the sensor never had; else by its start.
- `process_exit`: `time`, else `process_exit.time` (Tetragon writes the same kernel stamp to
  both, so either is the usual field).
- every other type: `time` only. A probe, a connection or a throttle is not dated by its
  process's start: without `time` it is a NormalizeError.

Identity: an exec and an exit are keyed on the event type and `exec_id` (unique across the
cluster), so the same exec read from two exports is one event whatever its envelope says; other
events, and execs or exits without an `exec_id`, on node, time, event type and `exec_id`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Final, NamedTuple

import msgspec

from kubetrail.ids import container_id, make_id
from kubetrail.model import Event
from kubetrail.sources import NormalizeError, Source
from kubetrail.sources._json import integer
from kubetrail.timeutil import parse_rfc3339

Obj = dict[str, Any]


class _Detail(NamedTuple):
    """What the event-type-specific part of a record says."""

    kind: str
    what: str  # the middle of the summary, after the event type
    fields: Obj  # further Event columns


# Process attributes without a column that are worth keeping.
_PROCESS_EXTRA: Final = ("start_time", "flags", "auid", "cap", "ns", "binary_properties", "process_credentials", "in_init_tree")
# Event-body keys that have a column; the rest of the body goes to `extra`.
_BODY_MAPPED: Final = frozenset(
    {"process", "parent", "ancestors", "policy_name", "tags"}
    | {"source_ip", "source_port", "destination_ip", "destination_port", "protocol", "ip", "port"}
)
_TOP_MAPPED: Final = frozenset({"node_name", "time", "cluster_name"})
# GetEventsResponse's keys beside the event object.
_ENVELOPE: Final = ("node_name", "time", "cluster_name", "node_labels", "aggregation_info")
# Events keyed on their exec_id rather than on a time.
_EXEC_KEYED: Final = ("process_exec", "process_exit")
_RATE_LIMIT: Final = "rate_limit_info"

# Probe function names, reduced to a base name: '__x64_sys_openat' -> 'openat',
# 'security_file_permission' -> 'file_permission', 'syscalls/sys_enter_connect' -> 'connect'.
_NAME_PREFIXES: Final = (
    "__x64_sys_",
    "__arm64_sys_",
    "__ia32_sys_",
    "__se_sys_",
    "__do_sys_",
    "sys_enter_",
    "sys_exit_",
    "sys_",
    "security_",
)
_FILE_SYSCALLS: Final = frozenset(
    {"open", "openat", "openat2", "creat", "unlink", "unlinkat", "rename", "renameat", "renameat2", "truncate", "ftruncate"}
    | {"chmod", "fchmod", "fchmodat", "chown", "fchown", "fchownat", "lchown", "link", "linkat", "symlink", "symlinkat"}
    | {"mkdir", "mkdirat", "rmdir", "mknod", "mknodat", "name_to_handle_at", "open_by_handle_at"}
)
_FILE_PREFIXES: Final = ("file_", "path_", "inode_", "mmap_file", "vfs_", "do_sys_open", "do_filp_open", "filp_", "fd_install")
_NET_SYSCALLS: Final = frozenset(
    {"connect", "accept", "accept4", "bind", "listen", "sendto", "sendmsg", "recvfrom", "recvmsg", "socket"}
)
_NET_PREFIXES: Final = ("tcp_", "udp_", "inet_", "inet6_", "ip4_", "ip6_", "ip_", "sock_", "sk_", "socket_")
# Functions that open a connection: their flows are egress.
_CONNECTS: Final = frozenset(
    {"connect", "tcp_connect", "tcp_v4_connect", "tcp_v6_connect", "socket_connect", "ip4_datagram_connect"}
)
_SOCK_ARGS: Final = ("sock_arg", "skb_arg", "sockaddr_arg")
_FILE_ARGS: Final = ("file_arg", "path_arg")
_IP_PROTOCOLS: Final = {1: "ICMPv4", 6: "TCP", 17: "UDP", 58: "ICMPv6", 132: "SCTP"}
_PROTOCOL_NAMES: Final = {"ICMP": "ICMPv4", "ICMPV6": "ICMPv6"}
_ARG_TEXT_MAX: Final = 64


def detect(value: Any) -> bool:
    """A Tetragon event: a `process_*` object that is one of Tetragon's event types, holds a
    `process`, or sits beside an envelope key; or a `rate_limit_info` object beside one."""
    if not isinstance(value, dict):
        return False
    etype = _event_type(value)
    if etype is None:
        return isinstance(value.get(_RATE_LIMIT), dict) and _has_envelope(value)
    return etype in _EVENT_TYPES or isinstance(value[etype].get("process"), dict) or _has_envelope(value)


def _has_envelope(value: Obj) -> bool:
    return any(key in value for key in _ENVELOPE)


def normalize(value: Any) -> Iterable[Event]:
    if not isinstance(value, dict):
        raise NormalizeError("Tetragon event is not a JSON object")
    etype = _event_type(value)
    if etype is None:
        if isinstance(value.get(_RATE_LIMIT), dict):
            return (_rate_limit(value, value[_RATE_LIMIT]),)
        raise NormalizeError("Tetragon event has no process_* object")
    body: Obj = value[etype]
    process = _obj(body.get("process"))
    time_ns, time_source = _event_time(etype, value, body, process)
    node = _text(value.get("node_name"))
    proc_fields = {**_process(process), **_parent(process, _obj(body.get("parent"))), **_pod(process)}
    detail = _DETAILS.get(etype, _generic)(etype, body, proc_fields)
    event = Event(
        id=_event_id(etype, proc_fields["exec_id"], node, time_ns),
        time=time_ns,
        source="tetragon",
        kind=detail.kind,
        format="tetragon-json",
        time_source=time_source,
        summary=_summary(etype, detail.what, proc_fields, node),
        sensor_cluster=_text(value.get("cluster_name")),
        node=node,
        rule=_text(body.get("policy_name")),
        sensor_source=etype,
        tags=_tags(body.get("tags")),
        extra=_extra(value, etype, body, process),
        **proc_fields,
        **detail.fields,
    )
    return (event,)


def _event_id(etype: str, exec_id: str | None, node: str | None, time_ns: int) -> str:
    if exec_id is not None and etype in _EXEC_KEYED:
        return make_id("tetragon", etype, exec_id)
    return make_id("tetragon", node, time_ns, etype, exec_id)


def _event_type(record: Obj) -> str | None:
    for key, body in record.items():
        if key.startswith("process_") and isinstance(body, dict):
            return key
    return None


def _event_time(etype: str, record: Obj, body: Obj, process: Obj) -> tuple[int, str | None]:
    """The event's time and, when it is not the event type's usual field, the field it came from."""
    if etype == "process_exec":
        start, found_running = process.get("start_time"), "procFS" in str(process.get("flags", "")).split()
        if found_running and record.get("time") is not None:
            return _time(record["time"], "time"), None
        if start is not None:
            path = "process_exec.process.start_time"
            return _time(start, path), path if found_running else None
        if record.get("time") is not None:
            return _time(record["time"], "time"), "time"
        raise NormalizeError("Tetragon process_exec has no time: neither process_exec.process.start_time nor time")
    if record.get("time") is not None:
        return _time(record["time"], "time"), None
    if etype == "process_exit" and body.get("time") is not None:
        return _time(body["time"], "process_exit.time"), None  # the same kernel stamp as `time`
    also = " nor process_exit.time" if etype == "process_exit" else ""
    raise NormalizeError(f"Tetragon {etype} has no time: no time{also} (nothing else dates a {etype})")


def _time(raw: Any, path: str) -> int:
    if not isinstance(raw, str):
        raise NormalizeError(f"Tetragon {path} is not a time ({path}={raw!r})")
    try:
        return parse_rfc3339(raw)
    except ValueError as exc:
        raise NormalizeError(f"Tetragon {path}: {exc}") from exc


# -- the process, its parent and its pod -------------------------------------------------------


def _process(p: Obj) -> Obj:
    user = _obj(p.get("user"))
    return {
        "binary": _text(p.get("binary")),
        "args": _text(p.get("arguments")),
        "pid": integer(p.get("pid")),
        "process_uid": integer(p.get("uid")),
        "process_user": _text(user.get("name")),
        "cwd": _text(p.get("cwd")),
        "exec_id": _text(p.get("exec_id")),
        "tty": bool(p["tty"]) if "tty" in p else None,
    }


def _parent(p: Obj, parent: Obj) -> Obj:
    return {
        "parent_exec_id": _text(p.get("parent_exec_id")) or _text(parent.get("exec_id")),
        "parent_binary": _text(parent.get("binary")),
        "parent_args": _text(parent.get("arguments")),
        "parent_pid": integer(parent.get("pid")),
    }


def _pod(p: Obj) -> Obj:
    """Pod and container; without a pod, the container id from `docker` (a truncated id)."""
    pod = _obj(p.get("pod"))
    container = _obj(pod.get("container"))
    return {
        "namespace": _text(pod.get("namespace")),
        "pod_name": _text(pod.get("name")),
        "container_id": container_id(_text(container.get("id")) or _text(p.get("docker"))),
        "container_name": _text(container.get("name")),
        "image": _text(_obj(container.get("image")).get("name")),
        "workload_name": _text(pod.get("workload")),
        "workload_kind": _text(pod.get("workload_kind")),
    }


# -- event types -------------------------------------------------------------------------------


def _exec(etype: str, body: Obj, proc: Obj) -> _Detail:
    return _Detail("process_exec", _command(proc), {})


def _exit(etype: str, body: Obj, proc: Obj) -> _Detail:
    signal = _text(body.get("signal"))
    # protojson leaves out a zero status: an exit without signal or status exited with 0.
    ending = f" signal {signal}" if signal else f" status {integer(body.get('status')) or 0}"
    return _Detail("process_exit", _command(proc) + ending, {})


def _probe(etype: str, body: Obj, proc: Obj) -> _Detail:
    """kprobe, tracepoint, uprobe, lsm: a file access, a network flow, or another alert."""
    function = _function_name(body)
    args = body.get("args")
    arg_list: list[Any] = args if isinstance(args, list) else []
    kind, fields = _classify(_base_name(function), arg_list)
    what = f"{function}({', '.join(_arg_text(a) for a in arg_list)}) by {proc['binary'] or '?'}"
    return _Detail(kind, what, fields)


def _connection(etype: str, body: Obj, proc: Obj) -> _Detail:
    """Older schema's process_connect / process_close: one TCP/UDP connection."""
    src_ip, src_port = _text(body.get("source_ip")), integer(body.get("source_port"))
    dst_ip, dst_port = _text(body.get("destination_ip")), integer(body.get("destination_port"))
    protocol = _protocol(body.get("protocol"))
    fields: Obj = {
        "src_ip": src_ip,
        "src_port": src_port,
        "dst_ip": dst_ip,
        "dst_port": dst_port,
        "protocol": protocol,
        "direction": "EGRESS" if etype == "process_connect" else None,
    }
    src, dst = _endpoint_text(src_ip, src_port), _endpoint_text(dst_ip, dst_port)
    return _Detail("network_flow", _joined(proc["binary"] or "?", src, "->", dst, protocol), fields)


def _listen(etype: str, body: Obj, proc: Obj) -> _Detail:
    """Older schema's process_listen: the local address goes to src_ip/src_port."""
    ip, port, protocol = _text(body.get("ip")), integer(body.get("port")), _protocol(body.get("protocol"))
    what = _joined(proc["binary"] or "?", _endpoint_text(ip, port), protocol)
    return _Detail("network_flow", what, {"src_ip": ip, "src_port": port, "protocol": protocol})


def _throttle(etype: str, body: Obj, proc: Obj) -> _Detail:
    """Events of a cgroup throttled (not reported) from THROTTLE_START until THROTTLE_STOP."""
    kind = _text(body.get("type")) or "THROTTLE_UNKNOWN"  # protojson leaves out the zero enum value
    return _Detail("sensor_stats", _joined(kind, _text(body.get("cgroup"))), {"drop_count": 1 if kind == "THROTTLE_START" else 0})


def _loader(etype: str, body: Obj, proc: Obj) -> _Detail:
    path = _text(body.get("path"))
    return _Detail("runtime_alert", f"{proc['binary'] or '?'} loaded {path or '?'}", {"file_path": path})


def _generic(etype: str, body: Obj, proc: Obj) -> _Detail:
    """An event type this module does not know: a flow when it names a destination."""
    if "destination_ip" in body:
        return _connection(etype, body, proc)
    return _Detail("runtime_alert", _command(proc), {})


_DETAILS: Final[dict[str, Callable[[str, Obj, Obj], _Detail]]] = {
    "process_exec": _exec,
    "process_exit": _exit,
    "process_kprobe": _probe,
    "process_tracepoint": _probe,
    "process_uprobe": _probe,
    "process_lsm": _probe,
    "process_usdt": _probe,
    "process_connect": _connection,
    "process_close": _connection,
    "process_listen": _listen,
    "process_throttle": _throttle,
    "process_loader": _loader,
}
# GetEventsResponse's event types (api/v1/tetragon/events.proto) and the older schema's.
_EVENT_TYPES: Final = frozenset(_DETAILS)


# -- probes ------------------------------------------------------------------------------------


def _function_name(body: Obj) -> str:
    if "function_name" in body:
        return str(body["function_name"])
    if "subsys" in body or "event" in body:  # tracepoint
        return f"{body.get('subsys')}/{body.get('event')}"
    if "provider" in body:  # usdt
        return f"{body.get('path')}:{body.get('provider')}:{body.get('name')}"
    return f"{body.get('path')}:{body.get('symbol')}"  # uprobe


def _base_name(function: str) -> str:
    name = function.rpartition("/")[2]
    for prefix in _NAME_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def _classify(base: str, args: list[Any]) -> tuple[str, Obj]:
    """network_flow when a socket argument (or a socket function) is involved, file_access when a
    file argument (or a file function) is, else runtime_alert."""
    sock = _first_arg(args, _SOCK_ARGS)
    if sock is not None:
        return "network_flow", _sock_fields(sock, base)
    path = _file_arg_path(args)
    if path is not None:
        return "file_access", {"file_path": path}
    if base in _NET_SYSCALLS or base.startswith(_NET_PREFIXES):
        return "network_flow", {"direction": "EGRESS" if base in _CONNECTS else None}
    if base in _FILE_SYSCALLS or base.startswith(_FILE_PREFIXES):
        return "file_access", {"file_path": _path_string_arg(args)}
    return "runtime_alert", {}


def _first_arg(args: list[Any], keys: tuple[str, ...]) -> Obj | None:
    for arg in args:
        if isinstance(arg, dict):
            for key in keys:
                value = arg.get(key)
                if isinstance(value, dict):
                    return value
    return None


def _file_arg_path(args: list[Any]) -> str | None:
    """The path of the first file/path argument; older Tetragon wrote it without the leading '/'."""
    arg = _first_arg(args, _FILE_ARGS)
    path = _text(arg.get("path")) if arg is not None else None
    return _absolute(path) if path else None


def _absolute(path: str) -> str:
    return path if path.startswith("/") else "/" + path


def _path_string_arg(args: list[Any]) -> str | None:
    """A syscall's path given as a plain string argument (e.g. openat's filename)."""
    for arg in args:
        value = arg.get("string_arg") if isinstance(arg, dict) else None
        if isinstance(value, str) and value.startswith("/"):
            return value
    return None


def _sock_fields(sock: Obj, base: str) -> Obj:
    """sock_arg/skb_arg carry both ends; sockaddr_arg is the address connected or sent to."""
    if "addr" in sock:
        src_ip, src_port, dst_ip, dst_port = None, None, _text(sock.get("addr")), integer(sock.get("port"))
    else:
        src_ip, src_port = _text(sock.get("saddr")), integer(sock.get("sport"))
        dst_ip, dst_port = _text(sock.get("daddr")), integer(sock.get("dport"))
    return {
        "src_ip": src_ip,
        "src_port": src_port,
        "dst_ip": dst_ip,
        "dst_port": dst_port,
        "protocol": _protocol(sock.get("protocol", sock.get("proto"))),
        "direction": "EGRESS" if base in _CONNECTS else None,
    }


def _arg_text(arg: Any) -> str:
    """One probe argument, short, for the summary."""
    if not isinstance(arg, dict):
        return "?"
    for key, value in arg.items():
        if key != "label":
            return _arg_value_text(key, value)
    return "?"


def _arg_value_text(key: str, value: Any) -> str:
    if key in ("bytes_arg", "truncated_bytes_arg"):
        size = value.get("orig_size") if isinstance(value, dict) else None
        return f"<{size} bytes>" if size else "<bytes>"
    if isinstance(value, dict):
        if "path" in value:
            return _absolute(str(value["path"]))
        if "saddr" in value or "daddr" in value:
            return f"{value.get('saddr')}:{value.get('sport')}->{value.get('daddr')}:{value.get('dport')}"
        return str(value.get("name", f"<{key}>"))
    return str(value)[:_ARG_TEXT_MAX]


def _protocol(raw: Any) -> str | None:
    """'IPPROTO_TCP', 'TCP' or 6 -> 'TCP'."""
    if isinstance(raw, int):
        return _IP_PROTOCOLS.get(raw, str(raw))
    if not isinstance(raw, str) or not raw:
        return None
    name = raw.removeprefix("IPPROTO_").upper()
    return _PROTOCOL_NAMES.get(name, name)


# -- summary and extra ------------------------------------------------------------------------


def _command(proc: Obj) -> str:
    return _joined(proc["binary"] or "?", proc["args"])


def _joined(*parts: str | None) -> str:
    return " ".join(p for p in parts if p)


def _endpoint_text(ip: str | None, port: int | None) -> str:
    return f"{ip or '?'}:{port}" if port is not None else ip or "?"


def _summary(etype: str, what: str, proc: Obj, node: str | None) -> str:
    if proc["pod_name"]:
        return f"{etype} {what} in {proc['namespace']}/{proc['pod_name']}"
    return f"{etype} {what} on {node}" if node else f"{etype} {what}"


def _extra(record: Obj, etype: str, body: Obj, process: Obj) -> str | None:
    extra: Obj = {k: process[k] for k in _PROCESS_EXTRA if k in process}
    pod = _obj(process.get("pod"))
    container = _obj(pod.get("container"))
    if "pod_labels" in pod:
        extra["pod_labels"] = pod["pod_labels"]
    if "image" in container:
        extra["image_id"] = _obj(container["image"]).get("id")
    if "maybe_exec_probe" in container:
        extra["maybe_exec_probe"] = container["maybe_exec_probe"]
    ancestors = body.get("ancestors")
    if isinstance(ancestors, list):
        extra["ancestor_exec_ids"] = [_obj(a).get("exec_id") for a in ancestors]
    extra.update((k, v) for k, v in body.items() if k not in _BODY_MAPPED)
    extra.update((k, v) for k, v in record.items() if k != etype and k not in _TOP_MAPPED)
    return msgspec.json.encode(extra, order="sorted").decode() if extra else None


# -- rate_limit_info ---------------------------------------------------------------------------


def _rate_limit(record: Obj, info: Obj) -> Event:
    """Process events the agent dropped under its export rate limit (a zero count is left out)."""
    time_ns, _ = _event_time(_RATE_LIMIT, record, info, {})
    node = _text(record.get("node_name"))
    dropped = integer(info.get("number_of_dropped_process_events")) or 0
    return Event(
        id=make_id("tetragon", node, time_ns, _RATE_LIMIT, dropped),
        time=time_ns,
        source="tetragon",
        kind="sensor_stats",
        format="tetragon-json",
        summary=_joined(f"Tetragon rate limit dropped {dropped} process events", f"on {node}" if node else None),
        sensor_cluster=_text(record.get("cluster_name")),
        node=node,
        sensor_source=_RATE_LIMIT,
        drop_count=dropped,
    )


# -- values ------------------------------------------------------------------------------------


def _obj(v: Any) -> Obj:
    return v if isinstance(v, dict) else {}


def _text(v: Any) -> str | None:
    return v if isinstance(v, str) and v else None


def _tags(v: Any) -> list[str] | None:
    return [str(t) for t in v] if isinstance(v, list) and v else None


SOURCE = Source(name="tetragon", detect=detect, normalize=normalize, order=30)
