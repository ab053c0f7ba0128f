"""Falco: `json_output` lines (any event source), `http_output` bodies and falcosidekick payloads.

All three carry one alert object. Falco always writes `time`, `rule` and `priority` (and, in
newer versions, `source` and `hostname`); `output`, `tags`, `message` and `output_fields` can each
be turned off (`json_include_*_property`), and falcosidekick adds a `uuid`. Every alert becomes one
`runtime_alert`; Falco's own metrics snapshots and syscall-drop notices become `sensor_stats`.

Time: `time`; when it is missing or not RFC 3339 (falcosidekick's zero time, hand-edited
samples), the event time among the output fields (`evt.time`, `evt.rawtime`, `evt.time.iso8601`),
named in `time_source` (e.g. `output_fields.evt.time`). The summary is `output` without its
time/priority prefix, else `message`, else built from the rule and the fields.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Final

import msgspec

from kubetrail.ids import container_id, make_id
from kubetrail.model import Event
from kubetrail.sources import NormalizeError, Source
from kubetrail.timeutil import epoch_to_ns, parse_rfc3339

# "13:44:05.478445995: Critical " or "2016-08-04T16:17:57.881781397+0000: Warning " before the message.
_OUTPUT_PREFIX: Final = re.compile(r"(?:\d\d:\d\d:\d\d\.\d+|\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:?\d\d)?): \w+ ")
_STATS_RULE_PREFIX: Final = "Falco internal:"  # metrics snapshot, syscall event drop
_STATS_OUTPUT: Final = "Falco metrics snapshot"
# Counters of events the sensor lost: kernel drops (all causes), alerts dropped by the output
# queue, and `n_drops` of the legacy "syscall event drop" alert.
_DROP_COUNTERS: Final = ("scap.n_drops", "falco.outputs_queue_num_drops", "n_drops")
_EPOCH_FIELDS: Final = ("evt.time", "evt.rawtime", "evt.time.iso8601")
_EPOCH_SOURCES: Final = {key: f"output_fields.{key}" for key in _EPOCH_FIELDS}  # time_source values
_UNKNOWN: Final = frozenset({"<NA>", ""})
# Top-level keys that have a column; the others (falcosidekick `uuid`, ...) go to `extra`.
_MAPPED: Final = frozenset({"output", "message", "priority", "rule", "time", "output_fields", "source", "tags", "hostname"})

Fields = dict[str, Any]


def detect(value: Any) -> bool:
    """A Falco alert: a `rule` and a `priority`, with a `time`, `output_fields`, `output` or `message`."""
    return (
        isinstance(value, dict)
        and isinstance(value.get("rule"), str)
        and isinstance(value.get("priority"), str)
        and ("time" in value or "output_fields" in value or "output" in value or "message" in value)
    )


def normalize(value: Any) -> Iterable[Event]:
    if not isinstance(value, dict):
        raise NormalizeError("Falco alert is not a JSON object")
    fields = _output_fields(value)
    time_ns, time_source = _time(value, fields)
    rule = _text(value.get("rule"))
    output = _text(value.get("output"))
    node = _text(value.get("hostname")) or _field(fields, "evt.hostname")
    uuid = _text(value.get("uuid"))
    stats = _is_stats(rule, output)
    container, process, audit = _container(fields), _process(fields), _audit(fields)
    message = _summary(output) or _text(value.get("message"))
    event = Event(
        id=make_id("falco", uuid) if uuid else make_id("falco", node, time_ns, rule, output or _said(message, fields)),
        time=time_ns,
        source="falco",
        kind="sensor_stats" if stats else "runtime_alert",
        format="falcosidekick" if uuid else "falco-json",
        time_source=time_source,
        summary=message or _built_summary(rule, {**container, **process, **audit}),
        node=node,
        rule=rule,
        priority=_text(value.get("priority")),
        sensor_source=_text(value.get("source")),
        tags=_tags(value.get("tags")),
        drop_count=_drop_count(fields) if stats else None,
        extra=_extra(value, fields),
        **container,
        **process,
        **_network(fields),
        **audit,
    )
    return (event,)


def _output_fields(value: dict[str, Any]) -> Fields:
    fields = value.get("output_fields")
    if fields is None:
        return {}
    if not isinstance(fields, dict):
        raise NormalizeError(f"Falco output_fields is a {type(fields).__name__}, not an object")
    return fields


def _time(value: dict[str, Any], fields: Fields) -> tuple[int, str | None]:
    """`time` when it is RFC 3339, else the epoch number in `evt.time` (ns or µs) and its kin,
    with the path of the field it came from."""
    text = value.get("time")
    if isinstance(text, str):
        try:
            return parse_rfc3339(text), None
        except ValueError:
            pass  # e.g. "2021-04-13T20:58:00.746609046Z+2": fall back to the epoch fields
    for key in _EPOCH_FIELDS:
        ns = _epoch(fields.get(key))
        if ns is not None:
            return ns, _EPOCH_SOURCES[key]
    raise NormalizeError(
        f"Falco alert has no usable time (time={text!r}, and no output_fields evt.time, evt.rawtime or evt.time.iso8601)"
    )


def _epoch(raw: Any) -> int | None:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        return None
    try:
        return parse_rfc3339(raw) if isinstance(raw, str) and "T" in raw else epoch_to_ns(raw)
    except ValueError:
        return None


def _is_stats(rule: str | None, output: str | None) -> bool:
    return output == _STATS_OUTPUT or (rule is not None and rule.startswith(_STATS_RULE_PREFIX))


def _drop_count(fields: Fields) -> int | None:
    counts = [n for key in _DROP_COUNTERS if (n := _int(fields, key)) is not None]
    return sum(counts) if counts else None


def _summary(output: str | None) -> str | None:
    if output is None:
        return None
    m = _OUTPUT_PREFIX.match(output)
    return output[m.end() :] if m else output


def _said(message: str | None, fields: Fields) -> str:
    """What the alert says, for its identity, when it has no `output`."""
    return message if message is not None else msgspec.json.encode(fields, order="sorted").decode()


def _prefixed(word: str, value: str | None) -> str | None:
    return f"{word} {value}" if value else None


def _built_summary(rule: str | None, c: Fields) -> str:
    """'Terminal shell in container: sh by root in default/kubecon' for an alert without output or message."""
    where = f"{c['namespace']}/{c['pod_name']}" if c["pod_name"] else c["container_name"] or c["container_id"]
    parts = [c["binary"], c["args"], _prefixed("by", c["process_user"]), _prefixed("in", where)]
    if c["actor"]:
        parts += [c["actor"], c["verb"] or "?", c["resource"], c["object_name"]]
    detail = " ".join(p for p in parts if p)
    return f"{rule or 'Falco alert'}: {detail}" if detail else rule or "Falco alert"


def _container(f: Fields) -> Fields:
    raw_id = _field(f, "container.id")
    repo = _field(f, "container.image.repository")
    tag = _field(f, "container.image.tag")
    image = f"{repo}:{tag}" if repo and tag else repo or _field(f, "container.image")
    return {
        "container_id": container_id(raw_id),
        "container_name": None if raw_id == "host" else _field(f, "container.name"),
        "image": image,
        "namespace": _field(f, "k8s.ns.name") or _field(f, "ka.target.namespace"),
        "pod_name": _field(f, "k8s.pod.name"),
        "pod_uid": _field(f, "k8s.pod.uid"),
    }


def _process(f: Fields) -> Fields:
    cmdline = _field(f, "proc.cmdline")
    tty = _int(f, "proc.tty")
    return {
        "binary": _field(f, "proc.exepath") or _field(f, "proc.name") or _first_word(cmdline),
        "args": _rest(cmdline) if cmdline else _field(f, "proc.args"),
        "pid": _int(f, "proc.pid"),
        "parent_pid": _int(f, "proc.ppid"),
        "parent_binary": _field(f, "proc.pexepath") or _field(f, "proc.pname"),
        "parent_args": _rest(_field(f, "proc.pcmdline")),
        "process_user": _field(f, "user.name"),
        "process_uid": _int(f, "user.uid"),
        "tty": None if tty is None else tty != 0,
        "file_path": _file_path(f),
    }


def _file_path(f: Fields) -> str | None:
    path = _field(f, "fs.path.name")
    if path:
        return path
    name = _field(f, "fd.name")
    return None if name is None or "->" in name or _field(f, "fd.type") in ("ipv4", "ipv6") else name


def _network(f: Fields) -> Fields:
    """Client -> server of the socket: from fd.cip/fd.sip..., else parsed from an fd.name tuple."""
    out = {
        "src_ip": _field(f, "fd.cip"),
        "src_port": _int(f, "fd.cport"),
        "dst_ip": _field(f, "fd.sip"),
        "dst_port": _int(f, "fd.sport"),
        "protocol": _upper(_field(f, "fd.l4proto")),
    }
    name = _field(f, "fd.name")
    if out["dst_ip"] is None and name and "->" in name:
        client, _, server = name.partition("->")
        out["src_ip"], out["src_port"] = _endpoint(client)
        out["dst_ip"], out["dst_port"] = _endpoint(server)
    return out


def _endpoint(text: str) -> tuple[str | None, int | None]:
    """'10.96.0.1:443' -> ('10.96.0.1', 443); anything else (a unix socket) -> (None, None)."""
    host, _, port = text.strip().rpartition(":")
    return (host, int(port)) if host and port.isdigit() else (None, None)


def _audit(f: Fields) -> Fields:
    """Fields of alerts from the k8s_audit source (k8saudit plugins)."""
    user = _field(f, "ka.user.name")
    impersonated = _field(f, "ka.impuser.name")
    return {
        "actor": impersonated or user,
        "impersonated_by": user if impersonated else None,
        "user_agent": _field(f, "ka.useragent"),
        "audit_id": _field(f, "ka.auditid"),
        "stage": _field(f, "ka.stage"),
        "verb": _field(f, "ka.verb"),
        "resource": _field(f, "ka.target.resource"),
        "subresource": _field(f, "ka.target.subresource"),
        "object_name": _field(f, "ka.target.name"),
        "request_uri": _field(f, "ka.uri"),
        "code": _int(f, "ka.response.code"),
        "decision": _field(f, "ka.auth.decision"),
        "reason": _field(f, "ka.auth.reason"),
        "exec_command": _field(f, "ka.uri.param[command]"),
    }


def _extra(value: dict[str, Any], fields: Fields) -> str:
    extra = {k: v for k, v in value.items() if k not in _MAPPED}
    extra["output_fields"] = fields
    return msgspec.json.encode(extra, order="sorted").decode()


def _field(f: Fields, key: str) -> str | None:
    """A text output field; Falco's `<NA>`, null and "" mean unknown."""
    v = f.get(key)
    if v is None or isinstance(v, dict | list):
        return None
    text = v if isinstance(v, str) else str(v)
    return None if text in _UNKNOWN else text


def _int(f: Fields, key: str) -> int | None:
    v = f.get(key)
    if isinstance(v, bool):
        return None
    if isinstance(v, int | float):
        return int(v)
    if isinstance(v, str) and v.lstrip("-").isdigit():
        return int(v)
    return None


def _text(v: Any) -> str | None:
    return v if isinstance(v, str) and v else None


def _tags(v: Any) -> list[str] | None:
    return [str(t) for t in v] if isinstance(v, list) and v else None


def _upper(v: str | None) -> str | None:
    return v.upper() if v else None


def _first_word(cmdline: str | None) -> str | None:
    return cmdline.split(" ", 1)[0] or None if cmdline else None


def _rest(cmdline: str | None) -> str | None:
    """A command line without its first word (the program): Falco's `proc.cmdline` is `name args`."""
    if not cmdline:
        return None
    _, _, rest = cmdline.partition(" ")
    return rest or None


SOURCE = Source(name="falco", detect=detect, normalize=normalize, order=20)
