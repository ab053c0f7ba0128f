"""k8s_audit: golden tests on the real corpora and on fixtures wrapping real events in the
envelopes of each producer (webhook, GKE, AKS, EKS/CloudWatch). Expected values are read off
the records by hand."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import msgspec
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubetrail.ids import make_id
from kubetrail.model import Event
from kubetrail.sources import NormalizeError
from kubetrail.sources.k8s_audit import SOURCE
from kubetrail.timeutil import parse_rfc3339 as ns
from tests.conftest import FIXTURES, load_values
from tests.strategies import JSON_VALUES

FIX = FIXTURES / "k8s_audit"


def one(value: Any) -> Event:
    events = list(SOURCE.normalize(value))
    assert len(events) == 1
    return events[0]


def events_of(path: Path) -> list[Event]:
    return [e for value in load_values(path) for e in SOURCE.normalize(value)]


def extra(event: Event) -> dict[str, Any]:
    parsed: dict[str, Any] = orjson.loads(event.extra) if event.extra else {}
    return parsed


@pytest.fixture
def exec_pod(corpora: Path) -> dict[str, Any]:
    event: dict[str, Any] = load_values(corpora / "falco/k8s_audit/exec_pod.json")[0]
    return event


@pytest.fixture
def elastic(corpora: Path) -> list[Any]:
    return load_values(corpora / "k8s-audit/elastic/kubernetes_audit_logs_test-audit.log")


# ---- log-backend events ------------------------------------------------------------------


def test_exec_event_without_api_version_yields_command_container_and_actor(exec_pod: dict[str, Any]) -> None:
    e = one(exec_pod)
    assert (e.source, e.kind, e.format) == ("k8s_audit", "api_call", "audit (no apiVersion)")
    assert (e.exec_command, e.exec_container, e.code) == ("bash", "nginx1", 101)
    assert (e.actor, e.actor_groups) == ("minikube-user", ["system:masters", "system:authenticated"])
    assert (e.verb, e.resource, e.subresource, e.api_group) == ("create", "pods", "exec", "")
    assert (e.namespace, e.pod_name, e.object_name) == (
        "default",
        "nginx-deployment-7998647bdf-phvq7",
        "nginx-deployment-7998647bdf-phvq7",
    )
    assert e.time == ns("2018-10-26T13:38:34.867116Z")
    assert (e.stage, e.stage_time, e.end_time) == ("ResponseStarted", ns("2018-10-26T13:38:34.902914Z"), None)
    assert (e.audit_id, e.audit_level) == ("ca1ed9f4-7bf4-4c85-81a8-1b11253d1ba6", "Request")
    assert (e.decision, e.reason, e.source_ips, e.service_account) == ("allow", None, ["192.168.99.1"], None)
    assert e.summary == "minikube-user create pods/exec default/nginx-deployment-7998647bdf-phvq7: bash (101)"
    assert (e.sensor_cluster, e.raw, e.extra) == (None, None, None)


def test_attach_names_the_container_but_no_command(corpora: Path) -> None:
    e = one(load_values(corpora / "falco/k8s_audit/attach_pod.json")[0])
    assert (e.subresource, e.exec_container, e.exec_command) == ("attach", "nginx1", None)


def test_v1beta1_pod_create_takes_request_time_and_pod_identity_from_the_body(corpora: Path) -> None:
    e = one(load_values(corpora / "falco/k8s_audit/create_nginx_pod_privileged.json")[0])
    assert e.format == "audit.k8s.io/v1beta1"
    assert e.time == ns("2018-10-25T14:09:12.572676Z")  # requestReceivedTimestamp, not the v1beta1 `timestamp`
    assert e.end_time == e.stage_time == ns("2018-10-25T14:09:12.581541Z")
    assert (e.actor, e.service_account) == (
        "system:serviceaccount:kube-system:replicaset-controller",
        "kube-system/replicaset-controller",
    )
    assert (e.namespace, e.pod_name, e.object_name) == ("default", "nginx-deployment-5cdcc99dbf-rgw6z", None)
    assert (e.pod_uid, e.node, e.code, e.audit_level) == ("8c845395-d85f-11e8-88b6-080027728ac4", None, 201, "RequestResponse")
    assert e.reason is not None and e.reason.startswith(
        'RBAC: allowed by ClusterRoleBinding "system:controller:replicaset-controller"'
    )
    assert extra(e) == {
        "pod": {
            "uid": "8c845395-d85f-11e8-88b6-080027728ac4",
            "serviceAccount": "default/default",
            "images": {"nginx": "nginx"},
            "owner": "ReplicaSet/nginx-deployment-5cdcc99dbf",
            "privileged": ["nginx"],
        }
    }


def test_pod_details_record_host_mounts_host_network_and_node(corpora: Path) -> None:
    mount = one(load_values(corpora / "falco/k8s_audit/create_nginx_pod_unsensitive_mount.json")[0])
    assert (mount.verb, mount.node, mount.actor) == ("get", "minikube", "system:node:minikube")
    assert extra(mount)["pod"]["hostPath"] == ["/usr/local"]
    assert extra(mount)["pod"]["node"] == "minikube"
    hostnet = one(load_values(corpora / "falco/k8s_audit/create_nginx_pod_hostnetwork.json")[0])
    assert extra(hostnet)["pod"]["hostNetwork"] is True
    second = one(load_values(corpora / "falco/k8s_audit/create_nginx_pod_privileged_2nd_container.json")[0])
    assert extra(second)["pod"]["images"] == {"nginx1": "nginx", "mysql": "mysql:latest"}
    assert extra(second)["pod"]["privileged"] == ["mysql"]


def test_v1beta1_cluster_scoped_create_has_no_namespace(corpora: Path) -> None:
    e = one(load_values(corpora / "falco/k8s_audit/anonymous_creates_namespace_foo.json")[0])
    assert (e.format, e.actor, e.verb, e.resource, e.object_name) == (
        "audit.k8s.io/v1beta1",
        "system:anonymous",
        "create",
        "namespaces",
        "foo",
    )
    assert (e.namespace, e.api_group, e.code) == (None, "", 201)
    assert e.summary == "system:anonymous create namespaces foo (201)"


def test_v1_event_keeps_user_agent_and_api_group(elastic: list[Any]) -> None:
    e = one(elastic[1])
    assert (e.format, e.verb, e.resource, e.api_group) == ("audit.k8s.io/v1", "get", "leases", "coordination.k8s.io")
    assert (e.namespace, e.object_name, e.pod_name) == ("kube-system", "elastic-agent-cluster-test", None)
    assert e.user_agent == "elastic-agent/v0.0.0 (linux/amd64) kubernetes/$Format"
    assert e.service_account == "kube-system/elastic-agent"
    assert e.extra is None  # an empty user.extra and only the two authorization annotations


def test_a_group_name_is_not_mistaken_for_a_service_account(elastic: list[Any]) -> None:
    assert one(elastic[0]).service_account is None  # "system:serviceaccounts:default:default"


# ---- ids, times, cluster -----------------------------------------------------------------


def test_ids_are_stable_and_differ_between_stages_of_one_request(exec_pod: dict[str, Any]) -> None:
    started = one(exec_pod)
    assert one(copy.deepcopy(exec_pod)).id == started.id
    complete = one({**exec_pod, "stage": "ResponseComplete", "stageTimestamp": "2018-10-26T13:41:02.118455Z"})
    assert complete.id != started.id and complete.audit_id == started.audit_id
    assert started.id == make_id(
        "k8s_audit", "ca1ed9f4-7bf4-4c85-81a8-1b11253d1ba6", "ResponseStarted", ns("2018-10-26T13:38:34.902914Z")
    )


def test_session_ends_at_the_response_complete_stage(exec_pod: dict[str, Any]) -> None:
    e = one({**exec_pod, "stage": "ResponseComplete", "stageTimestamp": "2018-10-26T13:41:02.118455Z"})
    assert e.end_time == ns("2018-10-26T13:41:02.118455Z")


def test_a_log_line_names_no_cluster_and_its_id_holds_none(exec_pod: dict[str, Any]) -> None:
    # The pipeline names the event's cluster; the audit ID and stage identify it in any cluster,
    # so a merge of two cluster names changes no id.
    e = one(exec_pod)
    assert (e.cluster, e.sensor_cluster) == (None, None)
    assert e.id == make_id("k8s_audit", e.audit_id, e.stage, e.stage_time)


def test_time_falls_back_to_timestamp_then_stage_timestamp(exec_pod: dict[str, Any]) -> None:
    assert one(exec_pod).time_source is None
    no_received = {k: v for k, v in exec_pod.items() if k != "requestReceivedTimestamp"}
    assert (one(no_received).time, one(no_received).time_source) == (ns("2018-10-26T13:38:34Z"), "timestamp")
    only_stage = {k: v for k, v in no_received.items() if k != "timestamp"}
    assert (one(only_stage).time, one(only_stage).time_source) == (ns("2018-10-26T13:38:34.902914Z"), "stageTimestamp")
    # Go writes a zero metav1.MicroTime/Time as null: the same as missing.
    nulls = {**exec_pod, "requestReceivedTimestamp": None, "timestamp": None}
    assert (one(nulls).time, one(nulls).time_source) == (ns("2018-10-26T13:38:34.902914Z"), "stageTimestamp")


def test_time_falls_back_to_the_old_object_meta(exec_pod: dict[str, Any]) -> None:
    # v1alpha1/v1beta1 Events carried an ObjectMeta whose creationTimestamp dated the event.
    old = {k: v for k, v in exec_pod.items() if k not in ("requestReceivedTimestamp", "timestamp", "stageTimestamp")}
    e = one({**old, "metadata": {"creationTimestamp": "2018-10-26T13:38:34Z"}})
    assert (e.time, e.time_source, e.stage_time) == (ns("2018-10-26T13:38:34Z"), "metadata.creationTimestamp", None)


def test_event_without_audit_id_is_read_with_a_key_of_what_it_says(exec_pod: dict[str, Any]) -> None:
    event = {k: v for k, v in exec_pod.items() if k != "auditID"} | {"apiVersion": "audit.k8s.io/v1"}
    assert SOURCE.detect(event)
    e = one(event)
    assert (e.audit_id, e.verb, e.exec_command) == (None, "create", "bash")
    other = one(event | {"requestURI": exec_pod["requestURI"].replace("command=bash", "command=sh")})
    assert other.id != e.id  # two requests at the same stage time are not one identity
    assert one(event).id == e.id


def test_event_without_api_version_or_stage_is_still_detected(exec_pod: dict[str, Any]) -> None:
    event = {k: v for k, v in exec_pod.items() if k not in ("stage", "kind")}
    assert SOURCE.detect(event)
    assert (one(event).stage, one(event).verb) == (None, "create")


@pytest.mark.parametrize(
    "text",
    ["2026-11-28T10:15:02.123456789Z", "2026-11-28T10:15:02.1Z", "2026-11-28T10:15:02Z", "2026-11-28T11:15:02.5+01:00"],
)
def test_times_read_like_the_shared_parser(text: str, exec_pod: dict[str, Any]) -> None:
    assert one({**exec_pod, "requestReceivedTimestamp": text}).time == ns(text)


# ---- who: tokens, impersonation -----------------------------------------------------------


def test_bound_token_extra_names_the_pod_node_and_credential(elastic: list[Any]) -> None:
    token = {
        "authentication.kubernetes.io/credential-id": ["JTI=3c5b7a2e-4a3b-4a8e-9a77-2f5e1c0b9d10"],
        "authentication.kubernetes.io/node-name": ["worker-1"],
        "authentication.kubernetes.io/pod-name": ["elastic-agent-7d9f8"],
        "authentication.kubernetes.io/pod-uid": ["9a1e2b3c-4d5e-6f70-8192-a3b4c5d6e7f8"],
    }
    event = copy.deepcopy(elastic[1])
    event["user"]["extra"] = token
    e = one(event)
    assert (e.token_pod_name, e.token_pod_uid) == ("elastic-agent-7d9f8", "9a1e2b3c-4d5e-6f70-8192-a3b4c5d6e7f8")
    assert (e.token_node_name, e.credential_id) == ("worker-1", "JTI=3c5b7a2e-4a3b-4a8e-9a77-2f5e1c0b9d10")
    assert extra(e) == {"user_extra": token}


def test_impersonated_user_is_the_actor_and_the_caller_is_kept(corpora: Path) -> None:
    event = load_values(corpora / "falco/k8s_audit/create_secret.json")[0]
    e = one({**event, "impersonatedUser": {"username": "system:serviceaccount:ci:deployer", "groups": ["ci"]}})
    assert (e.actor, e.actor_groups, e.impersonated_by) == ("system:serviceaccount:ci:deployer", ["ci"], "minikube-user")
    assert e.service_account == "ci/deployer"


# ---- exec, port-forward, ephemeral containers -----------------------------------------------


def test_exec_command_joins_every_command_value_url_decoded(exec_pod: dict[str, Any]) -> None:
    uri = (
        "/api/v1/namespaces/default/pods/x/exec?command=sh&command=-c&command=cat+%2Fetc%2Fshadow%7Chead&container=app&stdin=true"
    )
    e = one({**exec_pod, "requestURI": uri})
    assert (e.exec_command, e.exec_container) == ("sh -c cat /etc/shadow|head", "app")


def test_port_forward_ports_are_kept(exec_pod: dict[str, Any]) -> None:
    ref = {**exec_pod["objectRef"], "subresource": "portforward"}
    e = one({**exec_pod, "objectRef": ref, "requestURI": "/api/v1/namespaces/default/pods/x/portforward?ports=5432&ports=8080"})
    assert (e.subresource, e.exec_command) == ("portforward", None)
    assert extra(e) == {"ports": ["5432", "8080"]}


def test_ephemeral_container_name_image_and_command_come_from_the_request(exec_pod: dict[str, Any]) -> None:
    patch = {
        "spec": {"ephemeralContainers": [{"name": "old"}, {"name": "debugger-x7k", "image": "busybox:1.36", "command": ["sh"]}]}
    }
    ref = {**exec_pod["objectRef"], "subresource": "ephemeralcontainers"}
    e = one(
        {
            **exec_pod,
            "verb": "patch",
            "objectRef": ref,
            "requestURI": "/api/v1/namespaces/default/pods/x/ephemeralcontainers",
            "requestObject": patch,
        }
    )
    assert (e.exec_container, e.image, e.exec_command) == ("debugger-x7k", "busybox:1.36", "sh")


# ---- response and annotations --------------------------------------------------------------


def test_failure_reason_and_other_annotations_go_to_extra(corpora: Path) -> None:
    event = load_values(corpora / "falco/k8s_audit/create_secret.json")[0]
    denied = {
        "metadata": {},
        "status": "Failure",
        "reason": "Forbidden",
        "message": 'secrets is forbidden: User "x"',
        "code": 403,
    }
    annotations = {
        **event["annotations"],
        "authorization.k8s.io/decision": "forbid",
        "pod-security.kubernetes.io/enforce-policy": "restricted:latest",
    }
    e = one({**event, "responseStatus": denied, "annotations": annotations})
    assert (e.code, e.decision) == (403, "forbid")
    assert extra(e) == {
        "status": {"reason": "Forbidden", "message": 'secrets is forbidden: User "x"'},
        "annotations": {"pod-security.kubernetes.io/enforce-policy": "restricted:latest"},
    }


# ---- webhook EventList --------------------------------------------------------------------


def test_webhook_event_list_yields_one_event_per_item_with_its_own_raw() -> None:
    [batch] = load_values(FIX / "webhook-eventlist.json")
    events = list(SOURCE.normalize(batch))
    assert [e.stage for e in events] == ["ResponseStarted", "ResponseComplete", "ResponseComplete"]
    assert [orjson.loads(e.raw or "null") for e in events] == batch["items"]
    assert {e.format for e in events} == {"audit.k8s.io/v1"}
    started, complete, secret = events
    assert started.audit_id == complete.audit_id and started.id != complete.id
    assert (complete.exec_command, complete.end_time) == ("bash", ns("2018-10-26T13:41:02.118455Z"))
    assert (secret.verb, secret.resource, secret.object_name, secret.code) == ("create", "secrets", "example-secret", 201)


def test_an_event_has_the_same_id_in_a_webhook_batch_and_in_a_log_file(corpora: Path) -> None:
    from_log = one(load_values(corpora / "falco/k8s_audit/create_secret.json")[0])
    from_batch = events_of(FIX / "webhook-eventlist.json")[2]
    assert from_batch.id == from_log.id


# ---- GKE ----------------------------------------------------------------------------------


def test_gke_permission_denied_maps_to_403_with_cluster_from_the_resource(corpora: Path) -> None:
    e = one(load_values(corpora / "k8s-audit/elastic/gcp_audit_test-k8s-nonmatching-resourcename.log")[0])
    assert (e.format, e.sensor_cluster, e.code) == ("gke-cloudaudit", "example-cluster", 403)
    assert e.id == make_id("k8s_audit", "gke", "k8s-nonmatch-0001")
    assert e.time == ns("2021-04-23T14:47:07.535383Z")
    assert (e.actor, e.verb, e.request_uri, e.resource) == ("system:anonymous", "get", "/HNAP1", None)
    assert (e.source_ips, e.user_agent, e.audit_id) == (["192.168.1.1"], "Mozilla/5.0", "k8s-nonmatch-0001")
    assert (e.decision, e.stage, e.end_time) == ("forbid", None, None)  # from authorizationInfo: no decision label


def test_gke_decision_and_reason_come_from_labels(elastic: list[Any]) -> None:
    e = one(elastic[3])
    assert (e.sensor_cluster, e.code, e.actor, e.request_uri) == ("test-cluster", 200, "system:gke-master-healthcheck", "/readyz")
    assert e.decision == "allow"
    assert e.reason == (
        'RBAC: allowed by ClusterRoleBinding "system:public-info-viewer" of ClusterRole "system:public-info-viewer"'
        ' to Group "system:authenticated"'
    )


def test_gke_exec_reads_resource_name_and_exec_options() -> None:
    e = one(load_values(FIX / "gke-exec.json")[0])
    assert (e.verb, e.resource, e.subresource, e.api_group) == ("create", "pods", "exec", "")
    assert (e.namespace, e.pod_name, e.object_name) == ("shop", "api-1", "api-1")
    assert (e.exec_command, e.exec_container, e.actor) == ("sh -c id", "api", "alice@example.com")
    assert e.summary == "alice@example.com create pods/exec shop/api-1: sh -c id (200)"


@pytest.mark.parametrize(("grpc", "http"), [(0, 200), (3, 400), (5, 404), (6, 409), (7, 403), (9, 400), (14, 503), (16, 401)])
def test_gke_grpc_codes_map_to_http(grpc: int, http: int) -> None:
    [entry] = load_values(FIX / "gke-exec.json")
    entry["protoPayload"]["status"] = {"code": grpc}
    assert one(entry).code == http


def test_gke_cluster_scoped_resource_name_has_group_and_no_namespace() -> None:
    [entry] = load_values(FIX / "gke-exec.json")
    entry["protoPayload"]["methodName"] = "io.k8s.authorization.rbac.v1.clusterrolebindings.create"
    entry["protoPayload"]["resourceName"] = "rbac.authorization.k8s.io/v1/clusterrolebindings/dev-admin"
    e = one(entry)
    assert (e.verb, e.resource, e.api_group, e.namespace, e.object_name) == (
        "create",
        "clusterrolebindings",
        "rbac.authorization.k8s.io",
        None,
        "dev-admin",
    )


# ---- AKS ----------------------------------------------------------------------------------


def test_aks_record_with_the_event_as_a_json_string(corpora: Path) -> None:
    e = one(load_values(corpora / "k8s-audit/elastic/kubernetes_audit_logs_test-kube-audit.log")[0])
    assert (e.format, e.sensor_cluster) == ("aks-diagnostic", "test-cluster")  # ".../MANAGEDCLUSTERS/TEST-CLUSTER", lower-cased
    assert (e.audit_id, e.verb, e.resource, e.api_group) == (
        "ad26f7bc-f1c6-4097-90f1-e0924e12f257",
        "update",
        "leases",
        "coordination.k8s.io",
    )
    assert (e.namespace, e.object_name, e.actor, e.code) == ("kube-system", "kubelet-serving-csr-approver", "aksService", 200)
    assert e.time == ns("2025-10-07T16:19:19.643609Z")


def test_aks_record_with_the_event_as_an_object(elastic: list[Any]) -> None:
    e = one(elastic[4])
    assert (e.format, e.sensor_cluster) == ("aks-diagnostic", "test-aks")
    assert (e.verb, e.object_name) == ("update", "elastic-agent-cluster-test")


def test_aks_event_hub_batch_keeps_only_the_audit_categories() -> None:
    [e] = events_of(FIX / "aks-eventhub-records.json")
    assert (e.sensor_cluster, e.audit_id) == ("test-cluster", "ad26f7bc-f1c6-4097-90f1-e0924e12f257")
    assert orjson.loads(e.raw or "null")["category"] == "kube-audit"


# ---- EKS via CloudWatch Logs ----------------------------------------------------------------


def test_eks_subscription_payload_names_the_cluster_from_the_log_group() -> None:
    [payload] = load_values(FIX / "eks-subscription.json")
    events = list(SOURCE.normalize(payload))
    assert [(e.format, e.sensor_cluster) for e in events] == [("eks-cloudwatch", "prod-eks")] * 2
    assert [e.raw for e in events] == [item["message"] for item in payload["logEvents"]]
    assert (events[0].exec_command, events[1].object_name) == ("bash", "example-secret")


def test_cloudwatch_control_message_and_authenticator_stream_yield_nothing() -> None:
    for name in ("eks-control-message.json", "eks-subscription-authenticator.json"):
        [payload] = load_values(FIX / name)
        assert SOURCE.detect(payload)
        assert list(SOURCE.normalize(payload)) == []


def test_filter_log_events_output_skips_other_component_streams() -> None:
    events = events_of(FIX / "eks-filter-log-events.json")
    assert [e.audit_id for e in events] == ["ca1ed9f4-7bf4-4c85-81a8-1b11253d1ba6", "55a81824-ab56-46c5-8b02-96336f5e78d7"]
    assert {e.sensor_cluster for e in events} == {None}


def test_get_log_events_output_is_read() -> None:
    [e] = events_of(FIX / "eks-get-log-events.json")
    assert (e.format, e.actor, e.user_agent) == (
        "eks-cloudwatch",
        "minikube-user",
        "kubectl/v1.17.3 (darwin/amd64) kubernetes/06ad960",
    )


def test_exported_log_lines_are_plain_audit_events_with_the_same_ids() -> None:
    exported = events_of(FIX / "eks-export.log")
    assert [e.format for e in exported] == ["audit.k8s.io/v1"] * 2
    assert [e.id for e in exported] == [e.id for e in events_of(FIX / "eks-filter-log-events.json")]


def test_a_message_that_is_not_audit_json_in_an_audit_stream_is_an_error() -> None:
    [payload] = load_values(FIX / "eks-subscription.json")
    payload["logEvents"][1]["message"] = "E0510 14:09:17.699479 1 status.go:71] apiserver received an error"
    with pytest.raises(NormalizeError, match="not JSON"):
        SOURCE.normalize(payload)


# ---- every real record -------------------------------------------------------------------


def test_every_corpus_audit_record_yields_api_calls_with_times(corpora: Path) -> None:
    paths = sorted([*(corpora / "k8s-audit").rglob("*"), *(corpora / "falco/k8s_audit").rglob("*")])
    files = [p for p in paths if p.is_file()]
    assert files
    for path in files:
        for value in load_values(path):
            assert SOURCE.detect(value), path
            events = list(SOURCE.normalize(value))
            assert events, path
            assert all(e.time > 0 and e.kind == "api_call" and e.source == "k8s_audit" and e.verb for e in events), path


# ---- what is not ours, and what is broken ---------------------------------------------------


def test_other_producers_records_are_not_detected(corpora: Path) -> None:
    others = [
        *load_values(corpora / "falco/falco-website/falco-plugin-k8saudit-eks.jsonl"),  # Falco alerts about audit events
        *load_values(corpora / "hubble/hubble-otel/basic-sample-10-flows.json"),
        *load_values(corpora / "tetragon/secobs-book/00_process_lifecycle/nc_process_exec.json"),
    ]
    assert others
    assert not any(SOURCE.detect(v) for v in others)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "kind: Event",
        42,
        [],
        [{"kind": "Event", "apiVersion": "audit.k8s.io/v1", "auditID": "x", "stage": "ResponseComplete"}],
        {},
        {"hello": "world"},
        {"kind": "Event", "apiVersion": "v1", "reason": "Pulled", "involvedObject": {"kind": "Pod"}},  # a core Event
        {"kind": "EventList", "apiVersion": "v1", "items": []},
        {"category": ["kube-audit"], "properties": {}},
        {"protoPayload": {"serviceName": "compute.googleapis.com", "methodName": "v1.compute.instances.insert"}},
        {
            "messageType": "DATA_MESSAGE",
            "logGroup": "/aws/lambda/f",
            "logStream": "s",
            "logEvents": [{"timestamp": 1, "message": "START"}],
        },
        {"events": [{"timestamp": 1, "message": "hello", "ingestionTime": 2}]},
    ],
)
def test_values_of_other_shapes_are_not_detected(value: Any) -> None:
    assert SOURCE.detect(value) is False


def test_event_without_any_time_is_an_error() -> None:
    with pytest.raises(NormalizeError, match="without requestReceivedTimestamp"):
        SOURCE.normalize({"kind": "Event", "apiVersion": "audit.k8s.io/v1", "auditID": "no-times", "stage": "ResponseComplete"})


@pytest.mark.parametrize("bad", ["yesterday", "2018-13-26T13:38:34.867116Z", "", 1540561114, "9999-01-01T00:00:00.000001Z"])
def test_unreadable_time_is_an_error(bad: Any, exec_pod: dict[str, Any]) -> None:
    with pytest.raises(NormalizeError, match="requestReceivedTimestamp"):
        SOURCE.normalize({**exec_pod, "requestReceivedTimestamp": bad})


def test_gke_entry_without_timestamp_takes_receive_timestamp() -> None:
    [entry] = load_values(FIX / "gke-exec.json")
    assert one(entry).time_source is None
    del entry["timestamp"]
    e = one(entry)
    assert (e.time, e.time_source) == (ns("2025-07-13T08:38:41.005864307Z"), "receiveTimestamp")
    del entry["receiveTimestamp"]
    with pytest.raises(NormalizeError, match="GKE LogEntry without timestamp or receiveTimestamp"):
        SOURCE.normalize(entry)


def test_gke_entry_without_insert_id_is_keyed_on_its_operation() -> None:
    [entry] = load_values(FIX / "gke-exec.json")
    del entry["insertId"]
    e = one(entry)
    assert (e.audit_id, e.verb, e.exec_command) == ("5d8e1b0a-7c6f-4e3d-9b2a-1f0e9d8c7b6a", "create", "sh -c id")
    del entry["operation"]
    e = one(entry)
    assert (e.audit_id, e.time) == (None, ns("2025-07-13T08:38:39.127266Z"))


def test_aks_log_that_is_not_json_is_an_error(corpora: Path) -> None:
    [record] = load_values(corpora / "k8s-audit/elastic/kubernetes_audit_logs_test-kube-audit.log")
    record["properties"]["log"] = record["properties"]["log"][:40]
    with pytest.raises(NormalizeError, match=r"AKS properties\.log is not JSON"):
        SOURCE.normalize(record)


def test_event_list_without_items_is_an_error() -> None:
    with pytest.raises(NormalizeError, match="items"):
        SOURCE.normalize({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": {}})


# ---- robustness: any JSON in any field ----------------------------------------------------

FIELDS = [
    "stage", "stageTimestamp", "requestReceivedTimestamp", "auditID", "level", "verb", "requestURI", "userAgent",
    "sourceIPs", "user", "impersonatedUser", "objectRef", "responseStatus", "annotations", "requestObject", "responseObject",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(FIELDS), JSON_VALUES)
def test_any_value_in_any_field_gives_typed_events_or_a_normalize_error(field: str, value: Any) -> None:
    event = {
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "auditID": "a", "stage": "ResponseComplete",
        "requestReceivedTimestamp": "2026-11-28T10:00:05.000001Z", "stageTimestamp": "2026-11-28T10:00:05.000002Z",
        "objectRef": {"resource": "pods", "namespace": "ns", "name": "p", "subresource": "exec"},
        "requestURI": "/api/v1/namespaces/ns/pods/p/exec?command=sh", field: value,
    }  # fmt: skip
    try:
        events = list(SOURCE.normalize(event))
    except NormalizeError:
        return
    for e in events:
        assert msgspec.json.decode(msgspec.json.encode(e), type=Event) == e  # every column holds its declared type
        assert e.extra is None or isinstance(orjson.loads(e.extra), dict)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_detect_never_raises(value: Any) -> None:
    assert SOURCE.detect(value) in (True, False)


def test_only_events_without_bodies_skip_the_secret_scan() -> None:
    from kubetrail.sources.k8s_audit import may_hold_secrets

    metadata = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "auditID": "a",
        "level": "Metadata",
        "objectRef": {"resource": "secrets"},
    }
    assert may_hold_secrets(metadata) is False
    assert may_hold_secrets(metadata | {"responseObject": {"kind": "Secret", "data": {"k": "djE="}}}) is True
    assert may_hold_secrets(metadata | {"requestObject": {"data": {"k": "djE="}}}) is True
    # A webhook batch is scanned when any of its events has a body.
    body = metadata | {"requestObject": {"data": {"k": "djE="}}}
    assert may_hold_secrets({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": [metadata, metadata]}) is False
    assert may_hold_secrets({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": [metadata, body]}) is True
    assert may_hold_secrets({"kind": "EventList", "items": [metadata], "extra": {"token": "t"}}) is True
    assert may_hold_secrets({"kind": "EventList", "items": "not a list"}) is True
    assert may_hold_secrets({"category": "kube-audit", "properties": {"log": "{...}"}}) is True
