"""Kubernetes API server audit events, as every real producer writes them.

Shapes read (each becomes one `api_call` event per audit event):
- log-backend events, one JSON per line: `audit.k8s.io/v1`, `v1beta1`, or no apiVersion at all
  (Falco's trace files); also the lines of a CloudWatch Logs export, whose timestamp prefix the
  reader strips;
- the webhook backend's `EventList` POST body;
- GKE Cloud Audit `LogEntry`s (`protoPayload.serviceName == "k8s.io"`);
- AKS diagnostic records (`category` kube-audit / kube-audit-admin; `properties.log` holds the
  event as a JSON string or as an object), alone or in an Event Hub `{"records": [...]}` batch;
- EKS audit via CloudWatch Logs: subscription-filter payloads, and the output of
  `aws logs filter-log-events` / `get-log-events`.

Events taken out of a container (EventList, `records`, CloudWatch) carry their own item as
`raw`; for a record that is one event, `raw` is left to the pipeline (the record's text).

Time: `requestReceivedTimestamp`; else, named in `time_source`, v1beta1's deprecated
`timestamp` (the same instant, to the second), `stageTimestamp`, or v1alpha1/v1beta1's
`metadata.creationTimestamp` (the Go types write a zero time as null, so any may be missing).
GKE: the LogEntry's `timestamp`, else `receiveTimestamp` (Cloud Logging's own fallback).
Identity: `auditID` and the stage; without an `auditID` (or a GKE `insertId`) the event is keyed
on what it says instead (times, verb, URI, user), never dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any, Final
from urllib.parse import unquote_plus

import orjson

from kubetrail.ids import make_id
from kubetrail.model import Event
from kubetrail.sources import NormalizeError, Source
from kubetrail.timeutil import TimeError, parse_rfc3339

NAME: Final = "k8s_audit"
_NO_API_VERSION: Final = "audit (no apiVersion)"
_GKE: Final = "gke-cloudaudit"
_AKS: Final = "aks-diagnostic"
_EKS: Final = "eks-cloudwatch"

_DECISION: Final = "authorization.k8s.io/decision"
_REASON: Final = "authorization.k8s.io/reason"
_SA_PREFIX: Final = "system:serviceaccount:"
_STREAMING: Final = frozenset({"exec", "attach", "portforward"})
_AKS_CATEGORIES: Final = ("kube-audit", "kube-audit-admin")  # a tuple: `in` must not hash record values
_EKS_AUDIT_STREAM: Final = "kube-apiserver-audit-"
# The other streams of an EKS control-plane log group: clearly not audit, skipped silently.
_EKS_OTHER_STREAMS: Final = (
    "kube-apiserver-",
    "authenticator-",
    "kube-controller-manager-",
    "kube-scheduler-",
    "cloud-controller-manager-",
)
# google.rpc.Code (the index) -> HTTP status, as google/rpc/code.proto documents each code.
_GRPC_TO_HTTP: Final = (200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401)
_EMPTY: Final[dict[str, Any]] = {}  # read-only stand-in for a missing object

Reader = Callable[[dict[str, Any]], list[Event]]


# ---- detection ---------------------------------------------------------------------------


def detect(value: Any) -> bool:
    return isinstance(value, dict) and _reader(value) is not None


def normalize(value: Any) -> list[Event]:
    read = _reader(value) if isinstance(value, dict) else None
    if read is None:
        raise NormalizeError("not a Kubernetes audit record")
    return read(value)


def _reader(v: dict[str, Any]) -> Reader | None:
    for test, read in _SHAPES:
        if test(v):
            return read
    return None


def _is_audit_event(v: dict[str, Any]) -> bool:
    api = v.get("apiVersion")
    if api is None:  # Falco's trace files drop apiVersion (some drop nothing else)
        return v.get("kind", "Event") == "Event" and "auditID" in v and any(k in v for k in _AUDIT_KEYS)
    return isinstance(api, str) and api.startswith("audit.k8s.io/") and v.get("kind", "Event") == "Event"


# Beside an auditID and no apiVersion, any of these says it is an audit event.
_AUDIT_KEYS: Final = ("stage", "stageTimestamp", "requestReceivedTimestamp", "requestURI", "verb")


def _is_event_list(v: dict[str, Any]) -> bool:
    api = v.get("apiVersion")
    return v.get("kind") == "EventList" and (api is None or (isinstance(api, str) and api.startswith("audit.k8s.io/")))


def _is_gke(v: dict[str, Any]) -> bool:
    pp = v.get("protoPayload")
    if not isinstance(pp, dict):
        return False
    method = pp.get("methodName")
    return pp.get("serviceName") == "k8s.io" or (isinstance(method, str) and method.startswith("io.k8s."))


def _is_aks(v: dict[str, Any]) -> bool:
    return v.get("category") in _AKS_CATEGORIES and isinstance(v.get("properties"), dict)


def _is_aks_batch(v: dict[str, Any]) -> bool:
    items = v.get("records")
    return isinstance(items, list) and any(isinstance(i, dict) and _is_aks(i) for i in items)


def _is_subscription(v: dict[str, Any]) -> bool:
    kind = v.get("messageType")
    if kind == "CONTROL_MESSAGE":
        return "logEvents" in v
    group = v.get("logGroup")
    if kind != "DATA_MESSAGE" or not isinstance(group, str):
        return False
    return group.startswith("/aws/eks/") or _any_audit_log_event(v.get("logEvents"))


def _is_log_events(v: dict[str, Any]) -> bool:
    return _any_audit_log_event(v.get("events"))


def _any_audit_log_event(events: Any) -> bool:
    return isinstance(events, list) and any(_looks_like_audit(e) for e in events)


def _looks_like_audit(e: Any) -> bool:
    if not isinstance(e, dict) or "timestamp" not in e:
        return False
    stream, message = e.get("logStreamName"), e.get("message")
    if isinstance(stream, str) and stream.startswith(_EKS_AUDIT_STREAM):
        return True
    return isinstance(message, str) and message.startswith("{") and '"apiVersion":"audit.k8s.io/' in message[:120]


# ---- readers: one per shape --------------------------------------------------------------


def _read_event(v: dict[str, Any]) -> list[Event]:
    return [_audit(v, _format_of(v), None, None)]


def _read_event_list(v: dict[str, Any]) -> list[Event]:
    fmt = _format_of(v)
    return [_audit(_object(item, "EventList item"), fmt, None, _dump(item)) for item in _items(v, "items")]


def _read_aks(v: dict[str, Any]) -> list[Event]:
    return [_aks(v, None)]


def _read_aks_batch(v: dict[str, Any]) -> list[Event]:
    # An Event Hub batch may mix diagnostic categories; only the audit ones are ours.
    return [_aks(item, _dump(item)) for item in _items(v, "records") if isinstance(item, dict) and _is_aks(item)]


def _read_subscription(v: dict[str, Any]) -> list[Event]:
    if v.get("messageType") == "CONTROL_MESSAGE" or _is_other_eks_stream(v.get("logStream")):
        return []
    cluster = _eks_cluster(v.get("logGroup"))
    return [_cloudwatch(item, cluster) for item in _items(v, "logEvents")]


def _read_log_events(v: dict[str, Any]) -> list[Event]:
    # `filter-log-events` over a whole EKS log group interleaves the other components' streams.
    items = (_object(item, "CloudWatch log event") for item in _items(v, "events"))
    return [_cloudwatch(item, None) for item in items if not _is_other_eks_stream(item.get("logStreamName"))]


def _format_of(v: dict[str, Any]) -> str:
    api = v.get("apiVersion")
    return api if isinstance(api, str) else _NO_API_VERSION


def _aks(record: dict[str, Any], raw: str | None) -> Event:
    log = record["properties"].get("log")
    event = _loads(log, "AKS properties.log") if isinstance(log, str) else log
    if not isinstance(event, dict) or not _is_audit_event(event):
        raise NormalizeError("AKS record whose properties.log is not an audit event")
    return _audit(event, _AKS, _aks_cluster(record.get("resourceId")), raw)


def _aks_cluster(resource_id: Any) -> str | None:
    # Azure Monitor upper-cases the whole resourceId (".../MANAGEDCLUSTERS/TEST-CLUSTER"), so the
    # case written there is Azure's, not the cluster's; Azure resource names are case-insensitive.
    # Lower-case it: the name as `az aks list` usually shows it and as users pass --cluster.
    if not isinstance(resource_id, str) or "/managedclusters/" not in resource_id.lower():
        return None
    return resource_id.rpartition("/")[2].lower() or None


def _eks_cluster(group: Any) -> str | None:
    parts = group.split("/") if isinstance(group, str) else ()
    # "/aws/eks/<name>/cluster"
    if len(parts) == 5 and parts[1] == "aws" and parts[2] == "eks" and parts[4] == "cluster" and parts[3]:
        return parts[3]
    return None


def _is_other_eks_stream(stream: Any) -> bool:
    return isinstance(stream, str) and stream.startswith(_EKS_OTHER_STREAMS) and not stream.startswith(_EKS_AUDIT_STREAM)


def _cloudwatch(item: dict[str, Any], cluster: str | None) -> Event:
    message = item.get("message")
    if not isinstance(message, str):
        raise NormalizeError("CloudWatch log event without a message")
    event = _loads(message, "CloudWatch log event message")
    if not isinstance(event, dict) or not _is_audit_event(event):
        raise NormalizeError(f"CloudWatch log event message is not an audit event: {message[:80]!r}")
    return _audit(event, _EKS, cluster, message)


# ---- one audit event ---------------------------------------------------------------------


def _audit(ev: dict[str, Any], fmt: str, cluster: str | None, raw: str | None) -> Event:
    """`cluster`: the name the record's envelope carries (AKS resource, EKS log group), if any."""
    stage, stage_ts, audit_id = _str(ev.get("stage")), ev.get("stageTimestamp"), _str(ev.get("auditID"))
    stage_time = None if stage_ts is None else _ns(stage_ts, "stageTimestamp")
    time, time_source = _request_time(ev, stage_time)
    # The audit ID is a UUID per request: with the stage, it is the event's identity in any cluster.
    key = make_id(NAME, audit_id, stage, stage_time) if audit_id else _id_without_audit_id(ev, stage, stage_time, time)
    e = _event(key, time, fmt, cluster, raw)
    if time_source is not None:
        e.time_source = time_source
    e.audit_id, e.audit_level, e.stage, e.stage_time = audit_id, _str(ev.get("level")), stage, stage_time
    if stage == "ResponseComplete":
        e.end_time = stage_time  # an exec session ends then
    e.verb, e.request_uri = _str(ev.get("verb")), _str(ev.get("requestURI"))
    e.user_agent, e.source_ips = _str(ev.get("userAgent")), _strs(ev.get("sourceIPs"))
    extra: dict[str, Any] = {}
    _set_actor(e, ev, extra)
    _set_object(e, ev.get("objectRef"), ev.get("requestObject"), ev.get("responseObject"), extra)
    _set_status(e, ev.get("responseStatus"), extra)
    _set_annotations(e, ev.get("annotations"), extra)
    return _finish(e, extra)


def _event(event_id: str, time: int, fmt: str, cluster: str | None, raw: str | None) -> Event:
    # Setting attributes is several times cheaper than passing many keywords to the constructor.
    e = Event(id=event_id, time=time, source=NAME, kind="api_call")
    e.format, e.sensor_cluster, e.raw = fmt, cluster, raw
    return e


def _request_time(ev: dict[str, Any], stage_time: int | None) -> tuple[int, str | None]:
    """The request's time and, when it is not `requestReceivedTimestamp`, the field it came from."""
    text = ev.get("requestReceivedTimestamp")
    if text is not None:
        return _ns(text, "requestReceivedTimestamp"), None
    text = ev.get("timestamp")  # v1beta1's deprecated name for the same instant
    if text is not None:
        return _ns(text, "timestamp"), "timestamp"
    if stage_time is not None:
        return stage_time, "stageTimestamp"
    created = _dict(ev.get("metadata")).get("creationTimestamp")  # v1alpha1/v1beta1 ObjectMeta
    if created is not None:
        return _ns(created, "metadata.creationTimestamp"), "metadata.creationTimestamp"
    raise NormalizeError("audit event without requestReceivedTimestamp, timestamp, stageTimestamp or metadata.creationTimestamp")


def _id_without_audit_id(ev: dict[str, Any], stage: str | None, stage_time: int | None, time: int) -> str:
    user = _dict(ev.get("user")).get("username")
    return make_id(NAME, None, stage, stage_time, time, ev.get("verb"), ev.get("requestURI"), user)


def _set_actor(e: Event, ev: dict[str, Any], extra: dict[str, Any]) -> None:
    user, impersonated = _dict(ev.get("user")), ev.get("impersonatedUser")
    who = user
    if isinstance(impersonated, dict):
        e.impersonated_by, who = _str(user.get("username")), impersonated
    e.actor, e.actor_groups = _str(who.get("username")), _strs(who.get("groups"))
    e.service_account = _service_account(e.actor)
    user_extra = user.get("extra")
    if user_extra and isinstance(user_extra, dict):
        extra["user_extra"] = user_extra
        _set_token(e, user_extra)


def _set_token(e: Event, user_extra: dict[str, Any]) -> None:
    # Bound service-account tokens (and node credentials) name what holds them.
    e.token_pod_name = _first(user_extra.get("authentication.kubernetes.io/pod-name"))
    e.token_pod_uid = _first(user_extra.get("authentication.kubernetes.io/pod-uid"))
    e.token_node_name = _first(user_extra.get("authentication.kubernetes.io/node-name"))
    e.credential_id = _first(user_extra.get("authentication.kubernetes.io/credential-id"))


def _service_account(actor: str | None) -> str | None:
    return _service_account_of(actor) if actor is not None and actor.startswith(_SA_PREFIX) else None


@lru_cache(maxsize=1024)
def _service_account_of(actor: str) -> str | None:
    namespace, _, name = actor[len(_SA_PREFIX) :].partition(":")
    return f"{namespace}/{name}" if namespace and name and ":" not in name else None


def _set_object(e: Event, ref: Any, request: Any, response: Any, extra: dict[str, Any]) -> None:
    if not isinstance(ref, dict):
        return
    e.resource, e.subresource = _str(ref.get("resource")), _str(ref.get("subresource"))
    e.api_group = (_str(ref.get("apiGroup")) or "") if e.resource is not None else None
    e.namespace, e.object_name = _str(ref.get("namespace")), _str(ref.get("name"))
    if e.resource == "pods":
        e.pod_name, e.pod_uid = e.object_name, _str(ref.get("uid"))
        _set_pod_call(e, request, response, extra)


def _set_pod_call(e: Event, request: Any, response: Any, extra: dict[str, Any]) -> None:
    if e.subresource in _STREAMING:
        _set_streaming(e, request, extra)
    elif e.subresource == "ephemeralcontainers":
        _set_ephemeral(e, request)
    pod = _pod(response) or _pod(request)
    if pod is not None:
        _set_pod(e, pod, extra)


def _set_streaming(e: Event, request: Any, extra: dict[str, Any]) -> None:
    uri = e.request_uri
    if uri and "?" in uri:
        _set_query(e, uri.partition("?")[2], extra)
    elif isinstance(request, dict):  # GKE logs no URI but the PodExecOptions
        e.exec_command = _join(request.get("command"), None)
        e.exec_container = _str(request.get("container"))


def _set_query(e: Event, query: str, extra: dict[str, Any]) -> None:
    """?command=sh&command=-c&container=app (Go's url.Values encoding: '+' is a space)."""
    commands: list[str] = []
    ports: list[str] = []
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if key == "command":
            commands.append(_unquote(value))
        elif key == "container" and e.exec_container is None:
            e.exec_container = _unquote(value) or None
        elif key == "ports":
            ports.append(_unquote(value))
    e.exec_command = " ".join(commands) or None
    if ports:
        extra["ports"] = ports


def _unquote(value: str) -> str:
    return unquote_plus(value) if "%" in value or "+" in value else value


def _set_ephemeral(e: Event, request: Any) -> None:
    """kubectl debug: the container added last (a Pod, an EphemeralContainers object or a patch)."""
    if not isinstance(request, dict):
        return
    spec = request.get("spec")
    added = (spec if isinstance(spec, dict) else request).get("ephemeralContainers")
    if isinstance(added, list) and added and isinstance(added[-1], dict):
        container = added[-1]
        e.exec_container, e.image = _str(container.get("name")), _str(container.get("image"))
        e.exec_command = _join(container.get("command"), container.get("args"))


def _pod(obj: Any) -> dict[str, Any] | None:
    if not isinstance(obj, dict):
        return None
    type_url = obj.get("@type")  # GKE: "core.k8s.io/v1.Pod"
    is_pod = obj.get("kind") == "Pod" or (isinstance(type_url, str) and type_url.endswith(".Pod"))
    return obj if is_pod else None


def _set_pod(e: Event, pod: dict[str, Any], extra: dict[str, Any]) -> None:
    """The subject pod's identity. Its service account goes to `extra`: the column is the actor's."""
    meta, spec = _dict(pod.get("metadata")), _dict(pod.get("spec"))
    e.pod_uid = e.pod_uid or _str(meta.get("uid"))
    e.pod_name = e.pod_name or _str(meta.get("name"))  # a create names the pod only in its body
    e.namespace = e.namespace or _str(meta.get("namespace"))
    e.node = _str(spec.get("nodeName"))
    details = _pod_details(meta, spec, _dict(pod.get("status")), e.namespace)
    if details:
        extra["pod"] = details


def _pod_details(meta: dict[str, Any], spec: dict[str, Any], status: dict[str, Any], ns: str | None) -> dict[str, Any]:
    """What identity and correlation need; keys are kept only when they say something.

    serviceAccount is "namespace/name" like the column; images maps container name -> image
    (init and ephemeral containers included); privileged lists container names.
    """
    containers = _containers(spec)
    sa = _str(spec.get("serviceAccountName")) or _str(spec.get("serviceAccount"))
    details = {
        "uid": meta.get("uid"),
        "node": spec.get("nodeName"),
        "serviceAccount": f"{ns}/{sa}" if sa and ns else sa,
        "ips": _pod_ips(status),
        "images": {c["name"]: c.get("image") for c in containers},
        "owner": _owner(meta.get("ownerReferences")),
        "privileged": [c["name"] for c in containers if _dict(c.get("securityContext")).get("privileged") is True],
        "hostPath": [v["hostPath"].get("path") for v in _dicts(spec.get("volumes")) if isinstance(v.get("hostPath"), dict)],
        "hostNetwork": spec.get("hostNetwork") is True,
        "hostPID": spec.get("hostPID") is True,
        "hostIPC": spec.get("hostIPC") is True,
    }
    return {k: v for k, v in details.items() if v}


def _containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """All of a pod's containers that have a name (init and ephemeral ones included)."""
    everything = (*_dicts(spec.get("initContainers")), *_dicts(spec.get("containers")), *_dicts(spec.get("ephemeralContainers")))
    return [c for c in everything if isinstance(c.get("name"), str)]


def _pod_ips(status: dict[str, Any]) -> list[Any]:
    ips = [ip.get("ip") for ip in _dicts(status.get("podIPs"))]
    return ips or ([status["podIP"]] if status.get("podIP") else [])


def _owner(refs: Any) -> str | None:
    """The controlling owner as "Kind/name" (a ReplicaSet for Deployment pods)."""
    owners = _dicts(refs)
    owner = next((r for r in owners if r.get("controller") is True), owners[0] if owners else None)
    return f"{owner.get('kind')}/{owner.get('name')}" if owner else None


def _set_status(e: Event, status: Any, extra: dict[str, Any]) -> None:
    if not isinstance(status, dict):
        return
    code = status.get("code")
    e.code = code if type(code) is int and 0 < code < 1000 else None  # the column is an INTEGER
    if e.code is not None and e.code >= 400:
        _keep_failure(status, ("reason", "message"), extra)


def _keep_failure(status: dict[str, Any], keys: tuple[str, ...], extra: dict[str, Any]) -> None:
    failure = {k: status[k] for k in keys if status.get(k)}
    if failure:
        extra["status"] = failure


def _set_annotations(e: Event, annotations: Any, extra: dict[str, Any]) -> None:
    if not isinstance(annotations, dict) or not annotations:
        return
    e.decision = _str(annotations.get(_DECISION)) or None
    e.reason = _str(annotations.get(_REASON)) or None
    if len(annotations) > (_DECISION in annotations) + (_REASON in annotations):
        extra["annotations"] = {k: v for k, v in annotations.items() if k not in (_DECISION, _REASON)}


def _finish(e: Event, extra: dict[str, Any]) -> Event:
    e.summary = _summary(e)
    e.extra = _dump(extra) if extra else None
    return e


def _summary(e: Event) -> str:
    """'alice@example.com create pods/exec default/nginx-x: bash (101)'."""
    text = f"{e.actor or '?'} {e.verb or '?'} {_target(e)}"
    if e.exec_command:
        text = f"{text}: {e.exec_command}"
    return text if e.code is None else f"{text} ({e.code})"


def _target(e: Event) -> str:
    if e.resource is None:
        return e.request_uri or "?"
    what = f"{e.resource}/{e.subresource}" if e.subresource else e.resource
    name = e.object_name or e.pod_name
    if name:
        return f"{what} {e.namespace}/{name}" if e.namespace else f"{what} {name}"
    return f"{what} in {e.namespace}" if e.namespace else what


# ---- GKE Cloud Audit LogEntry ------------------------------------------------------------


def _read_gke(v: dict[str, Any]) -> list[Event]:
    pp = v["protoPayload"]
    e = _gke_event(v)
    _set_gke_caller(e, pp)
    extra: dict[str, Any] = {}
    _set_gke_object(e, _str(pp.get("resourceName")), pp, extra)
    _set_gke_status(e, pp.get("status"), extra)
    _set_annotations(e, v.get("labels"), extra)
    e.decision = e.decision or _granted(pp.get("authorizationInfo"))
    return [_finish(e, extra)]


def _gke_event(v: dict[str, Any]) -> Event:
    """insertId is the entry's identity; GKE logs no stage (stage, stage_time, end_time stay unknown).
    The time is `timestamp`, else `receiveTimestamp` (what Cloud Logging assigns when `timestamp`
    is omitted); an entry without insertId is keyed on its operation, time, method and resource."""
    insert_id, operation = _str(v.get("insertId")) or None, _str(_dict(v.get("operation")).get("id")) or None
    time, time_source = _gke_time(v)
    if insert_id:
        key = make_id(NAME, "gke", insert_id)
    else:
        pp = v["protoPayload"]
        key = make_id(NAME, "gke", None, operation, time, pp.get("methodName"), pp.get("resourceName"))
    cluster = _str(_dict(_dict(v.get("resource")).get("labels")).get("cluster_name"))
    e = _event(key, time, _GKE, cluster, None)
    e.time_source = time_source
    e.audit_id = operation or insert_id
    return e


def _gke_time(v: dict[str, Any]) -> tuple[int, str | None]:
    if v.get("timestamp") is not None:
        return _ns(v["timestamp"], "timestamp"), None
    if v.get("receiveTimestamp") is not None:
        return _ns(v["receiveTimestamp"], "receiveTimestamp"), "receiveTimestamp"
    raise NormalizeError("GKE LogEntry without timestamp or receiveTimestamp")


def _set_gke_caller(e: Event, pp: dict[str, Any]) -> None:
    meta = _dict(pp.get("requestMetadata"))
    caller_ip = _str(meta.get("callerIp"))
    e.verb, e.actor = _gke_verb(pp.get("methodName")), _str(_dict(pp.get("authenticationInfo")).get("principalEmail"))
    e.user_agent, e.source_ips = _str(meta.get("callerSuppliedUserAgent")), [caller_ip] if caller_ip else None
    e.service_account = _service_account(e.actor)


def _gke_verb(method: Any) -> str | None:
    # io.k8s.<group>.<version>.<resource>[.<subresource>].<verb>, or io.k8s.<verb> (non-resource)
    if not isinstance(method, str) or not method.startswith("io.k8s."):
        return None
    return method.rpartition(".")[2] or None


def _set_gke_object(e: Event, name: str | None, pp: dict[str, Any], extra: dict[str, Any]) -> None:
    ref = _gke_ref(name)
    if ref is None:  # a non-resource request: /readyz, /healthz, probes for HNAP1 ...
        e.request_uri = f"/{name}" if name else None
        return
    _set_object(e, ref, pp.get("request"), pp.get("response"), extra)


def _gke_ref(name: str | None) -> dict[str, str] | None:
    """'core/v1/namespaces/default/pods/x/exec' -> an audit objectRef."""
    parts = name.split("/") if name else []
    if len(parts) < 3 or not (parts[1][:1] == "v" and parts[1][1:2].isdigit()):
        return None
    ref = {"apiGroup": "" if parts[0] == "core" else parts[0]}
    rest = parts[2:]
    if len(rest) >= 3 and rest[0] == "namespaces":
        ref["namespace"], rest = rest[1], rest[2:]
    for key, value in zip(("resource", "name", "subresource"), rest, strict=False):
        ref[key] = value
    return ref


def _set_gke_status(e: Event, status: Any, extra: dict[str, Any]) -> None:
    if not isinstance(status, dict):
        return
    code = status.get("code", 0)  # proto3 JSON leaves out a zero (OK) code
    e.code = _GRPC_TO_HTTP[code] if type(code) is int and 0 <= code < len(_GRPC_TO_HTTP) else None
    if e.code is not None and e.code >= 400:
        _keep_failure(status, ("message",), extra)


def _granted(checks: Any) -> str | None:
    """Without the decision label, GKE's authorizationInfo still says whether it was granted."""
    checks = _dicts(checks)
    if not checks:
        return None
    return "allow" if all(c.get("granted") is True for c in checks) else "forbid"


# ---- small typed accessors ---------------------------------------------------------------


def _ns(text: Any, what: str) -> int:
    if not isinstance(text, str):
        raise NormalizeError(f"{what} is not a time: {text!r}")
    try:
        return parse_rfc3339(text)
    except TimeError as exc:
        raise NormalizeError(f"{what}: {exc}") from None


def _str(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def _strs(v: Any) -> list[str] | None:
    if not isinstance(v, list) or not v:
        return None
    for x in v:  # a loop: `all()` over a generator costs more than the rest of this function
        if not isinstance(x, str):
            return None
    return v


def _first(v: Any) -> str | None:
    """user.extra values are lists of strings."""
    if isinstance(v, list):
        v = v[0] if v else None
    return v if isinstance(v, str) else None


def _join(command: Any, args: Any) -> str | None:
    words = [w for part in (command, args) if isinstance(part, list) for w in part if isinstance(w, str)]
    return " ".join(words) or None


def _dict(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else _EMPTY


def _dicts(v: Any) -> list[dict[str, Any]]:
    return [x for x in v if isinstance(x, dict)] if isinstance(v, list) else []


def _object(v: Any, what: str) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise NormalizeError(f"{what} is not a JSON object")
    return v


def _items(v: dict[str, Any], key: str) -> list[Any]:
    items = v.get(key)
    if not isinstance(items, list):
        raise NormalizeError(f"{key} is not a list")
    return items


def _loads(text: str, what: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise NormalizeError(f"{what} is not JSON: {exc}") from None


def _dump(value: Any) -> str:
    return orjson.dumps(value).decode()


_SHAPES: Final[tuple[tuple[Callable[[dict[str, Any]], bool], Reader], ...]] = (
    (_is_audit_event, _read_event),  # the hot path first
    (_is_event_list, _read_event_list),
    (_is_gke, _read_gke),
    (_is_aks, _read_aks),
    (_is_aks_batch, _read_aks_batch),
    (_is_subscription, _read_subscription),
    (_is_log_events, _read_log_events),
)


def may_hold_secrets(value: Any) -> bool:
    """A log-backend event without request or response bodies (level None or Metadata) carries
    no secret material: user, object reference, URI, addresses and annotations only; nor does a
    webhook EventList of such events. Every other shape (bodies, lists with other keys, cloud
    envelopes with events inside strings) is scanned."""
    if isinstance(value, dict) and value.get("kind") == "EventList" and value.keys() <= _EVENT_LIST_KEYS:
        items = value.get("items")
        return not isinstance(items, list) or any(_may_hold(item) for item in items)
    return _may_hold(value)


_EVENT_LIST_KEYS: Final = frozenset({"kind", "apiVersion", "metadata", "items"})


def _may_hold(value: Any) -> bool:
    return not (
        isinstance(value, dict)
        and value.get("kind", "Event") == "Event"
        and "auditID" in value
        and "requestObject" not in value
        and "responseObject" not in value
    )


SOURCE: Final = Source(name=NAME, detect=detect, normalize=normalize, order=10, may_hold_secrets=may_hold_secrets)
