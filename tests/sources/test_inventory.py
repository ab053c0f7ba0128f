"""Inventory: golden tests on kubectl snapshots (tests/fixtures/inventory, expectations read off
the fixtures by hand), the snapshot-time rule, detection, and the records that must go to
quarantine."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given

from kubetrail.ids import make_id
from kubetrail.model import Event
from kubetrail.sources import NormalizeError
from kubetrail.sources.inventory import SOURCE
from tests.conftest import FIXTURES, load_values
from tests.strategies import JSON_VALUES

INVENTORY = FIXTURES / "inventory"
NGINX_UID = "5b7c8a2e-91d4-4c1e-8f3a-2d6e0b9c7a41"


def _snapshot() -> dict[str, Any]:
    (value,) = load_values(INVENTORY / "pods-services-nodes.json")
    assert isinstance(value, dict)
    return value


def _events(value: Any) -> list[Event]:
    return list(SOURCE.normalize(value))


def _by_name() -> dict[str, Event]:
    events = _events(_snapshot())
    assert len(events) == 8
    return {e.object_name or "": e for e in events}


def _extra(event: Event) -> dict[str, Any]:
    assert event.extra is not None
    extra: dict[str, Any] = json.loads(event.extra)
    return extra


# -- golden tests on the snapshot -----------------------------------------------------------------


def test_deployment_pod() -> None:
    e = _by_name()["nginx-7c5ddbdf54-x2xkq"]
    assert e.id == make_id("inventory", "Pod", NGINX_UID, "48213")
    # Newest timestamp in the item: the Ready/ContainersReady transitions (the container started at 09:14:05).
    assert e.time == 1_795_770_846_000_000_000  # 2026-11-27T09:14:06Z
    assert (e.source, e.kind, e.format, e.sensor_cluster) == ("inventory", "inventory", "kubectl-json", None)
    assert (e.namespace, e.pod_name, e.pod_uid, e.node) == ("default", "nginx-7c5ddbdf54-x2xkq", NGINX_UID, "kind-worker")
    assert (e.service_account, e.workload_kind, e.workload_name) == ("default/web", "Deployment", "nginx")
    assert (e.image, e.container_name, e.container_id) == ("nginx:1.27.2", "nginx", "3f1a9c0d7e2b")
    assert e.summary == "Pod default/nginx-7c5ddbdf54-x2xkq on kind-worker (10.244.1.5)"
    assert _extra(e) == {
        "object_kind": "Pod",
        "ips": ["10.244.1.5"],
        "host_ips": ["172.18.0.3"],
        "phase": "Running",
        "owner": "ReplicaSet/nginx-7c5ddbdf54",
        "containers": [
            {
                "name": "nginx",
                "type": "container",
                "image": "nginx:1.27.2",
                "image_id": "docker.io/library/nginx@sha256:28402db69fec7c17e179ea87882667f1e054391138f77ffaf0c3eb388efc3ffb",
                "id": "3f1a9c0d7e2b",
            }
        ],
        "labels": {"app": "nginx", "pod-template-hash": "7c5ddbdf54"},
    }
    assert e.raw is not None and json.loads(e.raw)["metadata"]["uid"] == NGINX_UID


def test_host_network_daemonset_pod_with_init_container() -> None:
    e = _by_name()["cilium-7xk2p"]
    assert e.time == 1_795_773_761_000_000_000  # 2026-11-27T10:02:41Z, Ready again after the restart at 10:02:31
    assert (e.namespace, e.node, e.service_account) == ("kube-system", "kind-control-plane", "kube-system/cilium")
    assert (e.workload_kind, e.workload_name, e.container_id) == ("DaemonSet", "cilium", "9b8e7d6c5a4f")
    extra = _extra(e)
    assert (extra["ips"], extra["host_network"], extra["owner"]) == (["172.18.0.2"], True, "DaemonSet/cilium")
    assert [(c["name"], c["type"], c["id"]) for c in extra["containers"]] == [
        ("cilium-agent", "container", "9b8e7d6c5a4f"),
        ("mount-cgroup", "init", "4d5e6f7a8b9c"),
    ]


def test_unscheduled_pod() -> None:
    e = _by_name()["debug"]
    assert e.time == 1_795_773_900_000_000_000  # 2026-11-27T10:05:00Z
    assert (e.node, e.workload_kind, e.container_id, e.service_account) == (None, None, None, "default/default")
    assert e.summary == "Pod default/debug (Pending)"
    assert _extra(e)["containers"] == [
        {"name": "debug", "type": "container", "image": "busybox:1.36", "image_id": None, "id": None}
    ]


def test_services() -> None:
    by_name = _by_name()
    api = by_name["kubernetes"]
    assert api.time == 1_795_711_135_000_000_000  # 2026-11-26T16:38:55Z, its creationTimestamp
    assert (api.namespace, api.pod_name, api.summary) == ("default", None, "Service default/kubernetes ClusterIP (10.96.0.1)")
    assert _extra(api) == {
        "object_kind": "Service",
        "type": "ClusterIP",
        "ips": ["10.96.0.1"],
        "ports": [{"name": "https", "port": 443, "protocol": "TCP", "target_port": 6443}],
        "labels": {"component": "apiserver", "provider": "kubernetes"},
    }
    lb = _extra(by_name["nginx"])
    assert (lb["type"], lb["ips"], lb["external_ips"], lb["selector"]) == (
        "LoadBalancer",
        ["10.96.142.7"],
        ["172.18.255.200"],
        {"app": "nginx"},
    )
    assert lb["ports"] == [{"port": 80, "protocol": "TCP", "target_port": 80, "node_port": 31380}]
    headless = by_name["db"]
    assert (headless.summary, "ips" in _extra(headless)) == ("Service default/db ClusterIP (headless)", False)


def test_nodes() -> None:
    e = _by_name()["kind-control-plane"]
    assert e.time == 1_795_773_972_000_000_000  # 2026-11-27T10:06:12Z, the kubelet's last heartbeat
    assert (e.node, e.namespace, e.summary) == ("kind-control-plane", None, "Node kind-control-plane (172.18.0.2)")
    extra = _extra(e)
    assert (extra["object_kind"], extra["ips"], extra["pod_cidrs"]) == ("Node", ["172.18.0.2"], ["10.244.0.0/24"])
    assert extra["addresses"] == [
        {"type": "InternalIP", "address": "172.18.0.2"},
        {"type": "Hostname", "address": "kind-control-plane"},
    ]
    assert (extra["kubelet_version"], extra["container_runtime"]) == ("v1.31.0", "containerd://1.7.18")
    assert _by_name()["kind-worker"].time == 1_795_773_948_000_000_000  # 2026-11-27T10:05:48Z


def test_single_object_and_api_pod_list_are_the_same_pod() -> None:
    (pod,) = load_values(INVENTORY / "pod-nginx.json")
    (single,) = _events(pod)
    (podlist,) = load_values(INVENTORY / "podlist-api.json")
    (from_api,) = _events(podlist)  # items of the API's PodList carry no kind
    from_list = _by_name()["nginx-7c5ddbdf54-x2xkq"]
    assert single.raw is None and from_api.raw is not None
    assert single.id == from_api.id == from_list.id
    assert {**_extra(from_api), "object_kind": "Pod"} == _extra(single) == _extra(from_list)


def test_the_id_is_the_object_version_whatever_the_cluster() -> None:
    # `kubectl get -o json` names no cluster; the pipeline names the event's, outside its identity.
    e = _by_name()["nginx-7c5ddbdf54-x2xkq"]
    assert (e.cluster, e.sensor_cluster) == (None, None)
    assert e.id == make_id("inventory", "Pod", NGINX_UID, "48213")


def test_other_kinds_in_a_list_are_kept() -> None:
    snapshot = _snapshot()
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "creationTimestamp": "2026-11-27T09:14:02Z",
            "name": "nginx",
            "namespace": "default",
            "resourceVersion": "48215",
            "uid": "d1e2f3a4-b5c6-4d7e-8f9a-0b1c2d3e4f5a",
        },
        "status": {"conditions": [{"lastTransitionTime": "2026-11-27T09:14:07Z", "type": "Available", "status": "True"}]},
    }
    snapshot["items"].append(deployment)
    e = _events(snapshot)[-1]
    assert (e.object_name, e.namespace, e.summary, e.time) == (
        "nginx",
        "default",
        "Deployment default/nginx",
        1_795_770_847_000_000_000,
    )
    assert _extra(e) == {"object_kind": "Deployment", "api_version": "apps/v1"}


# -- detection ------------------------------------------------------------------------------------


def test_detects_lists_and_single_objects() -> None:
    assert SOURCE.detect(_snapshot())
    for name in ("pod-nginx.json", "podlist-api.json"):
        (value,) = load_values(INVENTORY / name)
        assert SOURCE.detect(value)
    assert SOURCE.detect({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}})
    assert SOURCE.detect({"apiVersion": "v1", "kind": "NodeList", "items": []})


def test_detect_rejects_every_corpus(corpora: Path) -> None:
    # k8s audit events (whose request/response objects are Pods), Falco, Hubble, Tetragon, OTLP.
    files = [p for p in corpora.rglob("*") if p.is_file() and p.name != "MANIFEST.md"]
    records = [record for path in files for record in load_values(path)]
    assert len(records) > 1000
    assert not any(SOURCE.detect(record) for record in records)


def test_detect_rejects_near_misses() -> None:
    assert not SOURCE.detect({"apiVersion": "audit.k8s.io/v1", "kind": "EventList", "items": []})
    assert not SOURCE.detect({"apiVersion": "audit.k8s.io/v1", "kind": "Event", "objectRef": {"resource": "pods"}})
    assert not SOURCE.detect({"kind": "Pod", "metadata": {}})  # no apiVersion
    assert not SOURCE.detect({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}})
    assert not SOURCE.detect({"apiVersion": "v1", "kind": "List", "items": "none"})


@given(JSON_VALUES)
def test_detect_never_raises_and_rejects_random_values(value: Any) -> None:
    result = SOURCE.detect(value)
    assert isinstance(result, bool)
    if not (isinstance(value, dict) and value.get("apiVersion") == "v1"):
        assert result is False


# -- quarantine -----------------------------------------------------------------------------------


def test_item_without_uid_is_read_and_keyed_on_its_name() -> None:
    snapshot = _snapshot()
    item = snapshot["items"][3]
    meta = item["metadata"]
    del meta["uid"]  # Go leaves out an empty uid (omitempty)
    e = SOURCE.normalize(snapshot)[3]
    assert (e.object_name, e.pod_uid) == (meta["name"], None)
    assert e.id == make_id("inventory", item["kind"], None, meta.get("namespace"), meta["name"], meta.get("resourceVersion"))


def test_item_without_name_or_kind_is_a_normalize_error() -> None:
    snapshot = _snapshot()
    del snapshot["items"][3]["metadata"]["name"]
    with pytest.raises(
        NormalizeError, match=r"items\[3\]: a Kubernetes object needs a kind and a metadata.name \(no metadata.name\)"
    ):
        SOURCE.normalize(snapshot)
    with pytest.raises(NormalizeError, match=r"\(no kind and metadata.name\)"):
        SOURCE.normalize({"apiVersion": "v1", "kind": "List", "items": [{"metadata": {}}]})


def test_item_without_any_timestamp_is_a_normalize_error() -> None:
    (pod,) = load_values(INVENTORY / "pod-nginx.json")
    pod = copy.deepcopy(pod)
    del pod["metadata"]["creationTimestamp"], pod["status"]
    with pytest.raises(NormalizeError, match="Pod: no timestamp to date the snapshot"):
        SOURCE.normalize(pod)


def test_bad_items_are_normalize_errors() -> None:
    with pytest.raises(NormalizeError, match=r"items\[0\]: expected a Kubernetes object"):
        SOURCE.normalize({"apiVersion": "v1", "kind": "List", "items": ["pod"]})
    bad_time = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n", "uid": "u", "creationTimestamp": "today"}}
    with pytest.raises(NormalizeError, match="not an RFC 3339 time"):
        SOURCE.normalize(bad_time)
    with pytest.raises(NormalizeError, match="JSON object"):
        SOURCE.normalize([])
