"""Inventory: `kubectl get pods,services,nodes -A -o json` snapshots.

Accepts kubectl's mixed `List`, the API's `PodList`/`ServiceList`/`NodeList` (whose items may
lack `kind`), and single `Pod`/`Service`/`Node` objects. Each item becomes one `inventory` event
that says who held what (pod <-> uid <-> IPs <-> node <-> service account <-> containers <-> owner)
at the snapshot. Other object kinds in a `List` (`kubectl get all` adds Deployments, ReplicaSets,
...) become inventory events with the columns every object has, so nothing is dropped.

Snapshot time: kubectl prints none, so an item's time is the newest timestamp found in it
(`metadata.creationTimestamp`, `status.startTime`, conditions' `lastTransitionTime` /
`lastHeartbeatTime` / `lastProbeTime`, and the `startedAt` / `finishedAt` of container states).
The object was observed no earlier than that; an item with no timestamp is a NormalizeError.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Final

import orjson

from kubetrail.ids import container_id, make_id
from kubetrail.model import Event
from kubetrail.sources import Context, NormalizeError, Source
from kubetrail.timeutil import TimeError, parse_rfc3339

FORMAT: Final = "kubectl-json"
_LISTS: Final = {"List": None, "PodList": "Pod", "ServiceList": "Service", "NodeList": "Node"}
_OBJECTS: Final = ("Pod", "Service", "Node")
_CONTAINER_TYPES: Final = (
    ("container", "containers", "containerStatuses"),
    ("init", "initContainers", "initContainerStatuses"),
    ("ephemeral", "ephemeralContainers", "ephemeralContainerStatuses"),
)
_CONDITION_TIMES: Final = ("lastTransitionTime", "lastHeartbeatTime", "lastProbeTime")
_NODE_IP_TYPES: Final = ("InternalIP", "ExternalIP")

Fields = dict[str, Any]


def detect(value: Any) -> bool:
    if not isinstance(value, dict) or value.get("apiVersion") != "v1":
        return False
    kind = value.get("kind")
    if kind in _OBJECTS:
        return isinstance(value.get("metadata"), dict)
    return kind in _LISTS and isinstance(value.get("items"), list)


def normalize(value: Any, ctx: Context) -> list[Event]:
    if not isinstance(value, dict):
        raise NormalizeError("not a Kubernetes object or list: expected a JSON object")
    kind = value.get("kind")
    if kind in _LISTS and isinstance(value.get("items"), list):
        return [_event(item, _LISTS[kind], ctx, f"items[{i}]", True) for i, item in enumerate(value["items"])]
    return [_event(value, None, ctx, str(kind), False)]


# --- small readers of JSON values -------------------------------------------------------------


def _str(v: Any) -> str | None:
    return v if isinstance(v, str) and v else None


def _dict(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _dicts(v: Any) -> Iterator[dict[str, Any]]:
    return (d for d in v if isinstance(d, dict)) if isinstance(v, list) else iter(())


def _strs(values: Any) -> list[str]:
    return [v for v in values if isinstance(v, str) and v] if isinstance(values, list) else []


def _json(d: dict[str, Any]) -> str:
    return orjson.dumps({k: v for k, v in d.items() if v not in (None, [], {})}).decode()


# --- one item ---------------------------------------------------------------------------------


def _event(item: Any, default_kind: str | None, ctx: Context, where: str, own_raw: bool) -> Event:
    if not isinstance(item, dict):
        raise NormalizeError(f"{where}: expected a Kubernetes object")
    kind = _str(item.get("kind")) or default_kind
    meta = _dict(item.get("metadata"))
    uid, name = _str(meta.get("uid")), _str(meta.get("name"))
    if kind is None or uid is None or name is None:
        raise NormalizeError(f"{where}: a Kubernetes object needs kind, metadata.name and metadata.uid")
    fields, extra, summary = _READERS.get(kind, _other)(item, kind, meta)
    extra = {"object_kind": kind, **extra, "labels": _dict(meta.get("labels"))}
    return Event(
        id=make_id("inventory", ctx.cluster or "default", kind, uid, meta.get("resourceVersion")),
        time=_snapshot_time(item, where),
        source="inventory",
        kind="inventory",
        format=FORMAT,
        summary=summary,
        cluster=ctx.cluster,
        object_name=name,
        extra=_json(extra),
        raw=orjson.dumps(item).decode() if own_raw else None,
        **fields,
    )


def _snapshot_time(item: dict[str, Any], where: str) -> int:
    times = list(_timestamps(item))
    if not times:
        raise NormalizeError(f"{where}: no timestamp to date the snapshot (metadata.creationTimestamp is missing)")
    try:
        return max(parse_rfc3339(t) for t in times)
    except TimeError as exc:
        raise NormalizeError(f"{where}: {exc}") from exc


def _timestamps(item: dict[str, Any]) -> Iterator[str]:
    status = _dict(item.get("status"))
    yield from _strs([_dict(item.get("metadata")).get("creationTimestamp"), status.get("startTime")])
    for condition in _dicts(status.get("conditions")):
        yield from _strs([condition.get(k) for k in _CONDITION_TIMES])
    for _, _, statuses in _CONTAINER_TYPES:
        for cs in _dicts(status.get(statuses)):
            for state in _dict(cs.get("state")).values():
                yield from _strs([_dict(state).get("startedAt"), _dict(state).get("finishedAt")])


def _owner(meta: dict[str, Any]) -> tuple[str, str] | None:
    """The controller ownerReference as (kind, name)."""
    for ref in _dicts(meta.get("ownerReferences")):
        kind, name = _str(ref.get("kind")), _str(ref.get("name"))
        if ref.get("controller") is True and kind and name:
            return kind, name
    return None


# --- Pods -------------------------------------------------------------------------------------


def _pod(item: dict[str, Any], kind: str, meta: dict[str, Any]) -> tuple[Fields, Fields, str]:
    spec, status = _dict(item.get("spec")), _dict(item.get("status"))
    namespace, name, node = _str(meta.get("namespace")), meta["name"], _str(spec.get("nodeName"))
    owner = _owner(meta)
    workload = _workload(owner, _dict(meta.get("labels")))
    containers = _containers(spec, status)
    first = containers[0] if containers and containers[0]["type"] == "container" else {}
    sa = _str(spec.get("serviceAccountName")) or _str(spec.get("serviceAccount"))
    ips = _ips(status.get("podIPs"), status.get("podIP"))
    fields = {
        "namespace": namespace,
        "pod_name": name,
        "pod_uid": meta["uid"],
        "node": node,
        "service_account": f"{namespace}/{sa}" if namespace and sa else None,
        "workload_kind": workload[0] if workload else None,
        "workload_name": workload[1] if workload else None,
        "image": first.get("image"),
        "container_name": first.get("name"),
        "container_id": first.get("id"),
    }
    extra = {
        "ips": ips,
        "host_ips": _ips(status.get("hostIPs"), status.get("hostIP")),
        "host_network": spec.get("hostNetwork") is True or None,
        "phase": _str(status.get("phase")),
        "owner": f"{owner[0]}/{owner[1]}" if owner else None,
        "containers": containers,
    }
    where = f" on {node}" if node else f" ({status.get('phase') or 'unscheduled'})"
    return fields, extra, f"{kind} {namespace}/{name}{where}" + (f" ({', '.join(ips)})" if ips else "")


def _workload(owner: tuple[str, str] | None, labels: dict[str, Any]) -> tuple[str, str] | None:
    """The owning workload; a ReplicaSet named `<deployment>-<pod-template-hash>` means its Deployment."""
    if owner is None:
        return None
    kind, name = owner
    suffix = f"-{labels.get('pod-template-hash')}"
    if kind == "ReplicaSet" and len(suffix) > 1 and name.endswith(suffix):
        return "Deployment", name.removesuffix(suffix)
    return owner


def _containers(spec: dict[str, Any], status: dict[str, Any]) -> list[Fields]:
    """Containers of every type: name, image, and from the status the normalized id and image digest."""
    out: list[Fields] = []
    for type_, specs, statuses in _CONTAINER_TYPES:
        by_name = {s.get("name"): s for s in _dicts(status.get(statuses))}
        for c in _dicts(spec.get(specs)):
            cs = by_name.get(c.get("name"), {})
            out.append(
                {
                    "name": _str(c.get("name")),
                    "type": type_,
                    "image": _str(c.get("image")),
                    "image_id": _str(cs.get("imageID")),
                    "id": container_id(_str(cs.get("containerID"))),
                }
            )
    return out


def _ips(plural: Any, single: Any) -> list[str]:
    """`podIPs: [{"ip": ...}]` (dual stack), else the older single `podIP`."""
    ips = _strs([d.get("ip") for d in _dicts(plural)])
    return ips or _strs([single])


# --- Services, Nodes and other objects --------------------------------------------------------


def _service(item: dict[str, Any], kind: str, meta: dict[str, Any]) -> tuple[Fields, Fields, str]:
    spec, namespace = _dict(item.get("spec")), _str(meta.get("namespace"))
    ips = [ip for ip in _strs(spec.get("clusterIPs")) or _strs([spec.get("clusterIP")]) if ip != "None"]
    ingress = list(_dicts(_dict(_dict(item.get("status")).get("loadBalancer")).get("ingress")))
    extra = {
        "type": _str(spec.get("type")),
        "ips": ips,
        "external_ips": _strs(spec.get("externalIPs")) + _strs([i.get("ip") for i in ingress]),
        "external_names": _strs([i.get("hostname") for i in ingress] + [spec.get("externalName")]),
        "ports": [_port(p) for p in _dicts(spec.get("ports"))],
        "selector": _dict(spec.get("selector")),
    }
    shown = ", ".join(ips) or "headless"
    return {"namespace": namespace}, extra, f"{kind} {namespace}/{meta['name']} {extra['type'] or 'ClusterIP'} ({shown})"


def _port(p: dict[str, Any]) -> Fields:
    keys = (
        ("name", "name"),
        ("port", "port"),
        ("protocol", "protocol"),
        ("targetPort", "target_port"),
        ("nodePort", "node_port"),
    )
    return {out: p[key] for key, out in keys if p.get(key) is not None}


def _node(item: dict[str, Any], kind: str, meta: dict[str, Any]) -> tuple[Fields, Fields, str]:
    spec, status = _dict(item.get("spec")), _dict(item.get("status"))
    addresses = [{"type": a.get("type"), "address": a.get("address")} for a in _dicts(status.get("addresses"))]
    ips = _strs([a["address"] for a in addresses if a["type"] in _NODE_IP_TYPES])
    info = _dict(status.get("nodeInfo"))
    extra = {
        "ips": ips,
        "addresses": addresses,
        "pod_cidrs": _strs(spec.get("podCIDRs")) or _strs([spec.get("podCIDR")]),
        "provider_id": _str(spec.get("providerID")),
        "kubelet_version": _str(info.get("kubeletVersion")),
        "container_runtime": _str(info.get("containerRuntimeVersion")),
        "os_image": _str(info.get("osImage")),
    }
    return {"node": meta["name"]}, extra, f"{kind} {meta['name']}" + (f" ({', '.join(ips)})" if ips else "")


def _other(item: dict[str, Any], kind: str, meta: dict[str, Any]) -> tuple[Fields, Fields, str]:
    namespace, owner = _str(meta.get("namespace")), _owner(meta)
    extra = {"api_version": _str(item.get("apiVersion")), "owner": f"{owner[0]}/{owner[1]}" if owner else None}
    return {"namespace": namespace}, extra, f"{kind} {namespace}/{meta['name']}" if namespace else f"{kind} {meta['name']}"


_READERS: Final[dict[str, Callable[[dict[str, Any], str, dict[str, Any]], tuple[Fields, Fields, str]]]] = {
    "Pod": _pod,
    "Service": _service,
    "Node": _node,
}

SOURCE = Source(name="inventory", detect=detect, normalize=normalize, order=60)
