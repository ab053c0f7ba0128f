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

Identity: kind, `metadata.uid` and `resourceVersion`. Go's encoder leaves out empty metadata
fields (`omitempty`), so an object without a uid is read too, keyed on kind, namespace, name and
`resourceVersion`; only an item without kind or name cannot be read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Final

import orjson

from kubetrail.ids import container_id, make_id
from kubetrail.model import Event
from kubetrail.sources import NormalizeError, Source
from kubetrail.sources._json import obj, objs, text, texts
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


def normalize(value: Any) -> list[Event]:
    if not isinstance(value, dict):
        raise NormalizeError("not a Kubernetes object or list: expected a JSON object")
    kind = value.get("kind")
    if kind in _LISTS and isinstance(value.get("items"), list):
        return [_event(item, _LISTS[kind], f"items[{i}]", True) for i, item in enumerate(value["items"])]
    return [_event(value, None, str(kind), False)]


# --- small readers of JSON values -------------------------------------------------------------


def _json(d: dict[str, Any]) -> str:
    return orjson.dumps({k: v for k, v in d.items() if v not in (None, [], {})}).decode()


# --- one item ---------------------------------------------------------------------------------


def _event(item: Any, default_kind: str | None, where: str, own_raw: bool) -> Event:
    if not isinstance(item, dict):
        raise NormalizeError(f"{where}: expected a Kubernetes object")
    kind = text(item.get("kind")) or default_kind
    meta = obj(item.get("metadata"))
    uid, name = text(meta.get("uid")), text(meta.get("name"))
    if kind is None or name is None:
        missing = " and ".join(m for m, v in (("kind", kind), ("metadata.name", name)) if v is None)
        raise NormalizeError(f"{where}: a Kubernetes object needs a kind and a metadata.name (no {missing})")
    version = meta.get("resourceVersion")
    key = (kind, uid, version) if uid else (kind, None, text(meta.get("namespace")), name, version)
    fields, extra, summary = _READERS.get(kind, _other)(item, kind, meta)
    extra = {"object_kind": kind, **extra, "labels": obj(meta.get("labels"))}
    return Event(
        id=make_id("inventory", *key),
        time=_snapshot_time(item, where),
        source="inventory",
        kind="inventory",
        format=FORMAT,
        summary=summary,
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
    status = obj(item.get("status"))
    yield from texts([obj(item.get("metadata")).get("creationTimestamp"), status.get("startTime")])
    for condition in objs(status.get("conditions")):
        yield from texts([condition.get(k) for k in _CONDITION_TIMES])
    for _, _, statuses in _CONTAINER_TYPES:
        for cs in objs(status.get(statuses)):
            for state in obj(cs.get("state")).values():
                yield from texts([obj(state).get("startedAt"), obj(state).get("finishedAt")])


def _owner(meta: dict[str, Any]) -> tuple[str, str] | None:
    """The controller ownerReference as (kind, name)."""
    for ref in objs(meta.get("ownerReferences")):
        kind, name = text(ref.get("kind")), text(ref.get("name"))
        if ref.get("controller") is True and kind and name:
            return kind, name
    return None


# --- Pods -------------------------------------------------------------------------------------


def _pod(item: dict[str, Any], kind: str, meta: dict[str, Any]) -> tuple[Fields, Fields, str]:
    spec, status = obj(item.get("spec")), obj(item.get("status"))
    namespace, name, node = text(meta.get("namespace")), meta["name"], text(spec.get("nodeName"))
    owner = _owner(meta)
    workload = _workload(owner, obj(meta.get("labels")))
    containers = _containers(spec, status)
    first = containers[0] if containers and containers[0]["type"] == "container" else {}
    sa = text(spec.get("serviceAccountName")) or text(spec.get("serviceAccount"))
    ips = _ips(status.get("podIPs"), status.get("podIP"))
    fields = {
        "namespace": namespace,
        "pod_name": name,
        "pod_uid": text(meta.get("uid")),
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
        "phase": text(status.get("phase")),
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
        by_name = {s.get("name"): s for s in objs(status.get(statuses))}
        for c in objs(spec.get(specs)):
            cs = by_name.get(c.get("name"), {})
            out.append(
                {
                    "name": text(c.get("name")),
                    "type": type_,
                    "image": text(c.get("image")),
                    "image_id": text(cs.get("imageID")),
                    "id": container_id(text(cs.get("containerID"))),
                }
            )
    return out


def _ips(plural: Any, single: Any) -> list[str]:
    """`podIPs: [{"ip": ...}]` (dual stack), else the older single `podIP`."""
    ips = texts([d.get("ip") for d in objs(plural)])
    return ips or texts([single])


# --- Services, Nodes and other objects --------------------------------------------------------


def _service(item: dict[str, Any], kind: str, meta: dict[str, Any]) -> tuple[Fields, Fields, str]:
    spec, namespace = obj(item.get("spec")), text(meta.get("namespace"))
    ips = [ip for ip in texts(spec.get("clusterIPs")) or texts([spec.get("clusterIP")]) if ip != "None"]
    ingress = list(objs(obj(obj(item.get("status")).get("loadBalancer")).get("ingress")))
    extra = {
        "type": text(spec.get("type")),
        "ips": ips,
        "external_ips": texts(spec.get("externalIPs")) + texts([i.get("ip") for i in ingress]),
        "external_names": texts([i.get("hostname") for i in ingress] + [spec.get("externalName")]),
        "ports": [_port(p) for p in objs(spec.get("ports"))],
        "selector": obj(spec.get("selector")),
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
    spec, status = obj(item.get("spec")), obj(item.get("status"))
    addresses = [{"type": a.get("type"), "address": a.get("address")} for a in objs(status.get("addresses"))]
    ips = texts([a["address"] for a in addresses if a["type"] in _NODE_IP_TYPES])
    info = obj(status.get("nodeInfo"))
    extra = {
        "ips": ips,
        "addresses": addresses,
        "pod_cidrs": texts(spec.get("podCIDRs")) or texts([spec.get("podCIDR")]),
        "provider_id": text(spec.get("providerID")),
        "kubelet_version": text(info.get("kubeletVersion")),
        "container_runtime": text(info.get("containerRuntimeVersion")),
        "os_image": text(info.get("osImage")),
    }
    return {"node": meta["name"]}, extra, f"{kind} {meta['name']}" + (f" ({', '.join(ips)})" if ips else "")


def _other(item: dict[str, Any], kind: str, meta: dict[str, Any]) -> tuple[Fields, Fields, str]:
    namespace, owner = text(meta.get("namespace")), _owner(meta)
    extra = {"api_version": text(item.get("apiVersion")), "owner": f"{owner[0]}/{owner[1]}" if owner else None}
    return {"namespace": namespace}, extra, f"{kind} {namespace}/{meta['name']}" if namespace else f"{kind} {meta['name']}"


_READERS: Final[dict[str, Callable[[dict[str, Any], str, dict[str, Any]], tuple[Fields, Fields, str]]]] = {
    "Pod": _pod,
    "Service": _service,
    "Node": _node,
}

SOURCE = Source(name="inventory", detect=detect, normalize=normalize, order=60)
