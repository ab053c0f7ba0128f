"""Tetragon: golden tests on real events (expectations read off the samples by hand), event kinds,
detection, quarantine, and the container id shared with Falco."""

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
from kubetrail.sources import falco as falco_source
from kubetrail.sources.tetragon import SOURCE
from tests.conftest import FIXTURES, load_values
from tests.strategies import JSON_VALUES

BOOK = Path("tetragon/secobs-book")
DOCS = Path("tetragon/docs-extracted")
NC_ARGS = "raiz3gjkgtfhkkc.not-reverse-shell.com 443"


def _event(record: Any) -> Event:
    events = list(SOURCE.normalize(record))
    assert len(events) == 1
    return events[0]


def _sample(corpora: Path, path: Path | str, index: int = 0) -> Any:
    return load_values(corpora / path)[index]


def _extra(event: Event) -> dict[str, Any]:
    assert event.extra is not None
    extra: dict[str, Any] = json.loads(event.extra)
    return extra


# -- golden tests on the real samples -------------------------------------------------------------


def test_exec_in_a_pod(corpora: Path) -> None:
    e = _event(_sample(corpora, BOOK / "00_process_lifecycle/nc_process_exec.json"))
    exec_id = "bWluaWt1YmU6MzM0OTc2NzgxOTUzNTozODMxNA=="
    assert e.time == 1_643_738_516_411_000_000  # process.start_time 2022-02-01T18:01:56.411Z
    assert (e.id, e.time_source) == (make_id("tetragon", "process_exec", exec_id), None)  # keyed on exec_id alone
    assert (e.source, e.kind, e.sensor_source, e.format) == ("tetragon", "process_exec", "process_exec", "tetragon-json")
    assert e.summary == f"process_exec /usr/bin/nc {NC_ARGS} in tenant-jobs/elasticsearch-56f8fc6988-65smb"
    assert (e.binary, e.args, e.pid, e.process_uid) == ("/usr/bin/nc", NC_ARGS, 38314, 0)
    assert (e.cwd, e.exec_id) == ("/usr/share/elasticsearch/", exec_id)
    assert e.parent_exec_id == "bWluaWt1YmU6MzM0OTc2MDUxNjExMTozODMxMg=="
    assert (e.parent_binary, e.parent_args, e.parent_pid) == ("/usr/bin/sh", "lifecycle.sh", 38312)
    assert (e.namespace, e.pod_name, e.container_name) == ("tenant-jobs", "elasticsearch-56f8fc6988-65smb", "elasticsearch")
    assert e.container_id == "e6af4dff4ea3"  # from docker://e6af4dff4ea3b8d5...
    assert e.image == "quay.io/isovalent/jobs-app-elasticsearch:latest"
    assert (e.node, e.sensor_cluster, e.tty, e.raw) == ("minikube", None, None, None)
    assert _extra(e)["start_time"] == "2022-02-01T18:01:56.411Z"


def test_exec_with_workload_and_labels(corpora: Path) -> None:
    e = _event(_sample(corpora, DOCS / "concepts_events.jsonl"))
    # The exec as the kernel stamped it (process.start_time), not `time` (…700326678) when the agent saw it.
    assert (e.time, e.time_source) == (1_696_629_837_700_327_580, None)
    assert (e.sensor_cluster, e.node) == (None, "gke-john-632-default-pool-7041cac0-9s95")
    assert (e.binary, e.args) == ("/usr/bin/curl", "https://ebpf.io/applications/#tetragon")
    assert (e.parent_binary, e.parent_args) == ("/bin/bash", '-c "curl https://ebpf.io/applications/#tetragon"')
    assert (e.container_id, e.container_name, e.image) == ("551e161c47d8", "spaceship", "docker.io/tgraf/netperf:latest")
    assert (e.workload_name, e.workload_kind) == ("xwing", None)
    extra = _extra(e)
    assert extra["pod_labels"] == {"app.kubernetes.io/name": "xwing", "class": "xwing", "org": "alliance"}
    assert extra["image_id"].startswith("docker.io/tgraf/netperf@sha256:8e86f744")


def test_old_schema_connect_is_an_egress_flow(corpora: Path) -> None:
    e = _event(_sample(corpora, BOOK / "00_four_golden_signals/process_connect.json"))
    assert (e.kind, e.sensor_source, e.direction) == ("network_flow", "process_connect", "EGRESS")
    assert (e.src_ip, e.src_port, e.dst_ip, e.dst_port, e.protocol) == ("10.88.0.7", 49168, "142.250.180.196", 80, "TCP")
    assert (e.binary, e.args, e.pid) == ("/usr/bin/curl", "www.google.com", 115153)
    assert (e.namespace, e.pod_name, e.container_id) == ("tenant-jobs", "elasticsearch-56f8fc6988-pb8c7", "86eb9e29a77d")
    assert e.time == 1_642_609_742_021_000_000
    assert e.summary == (
        "process_connect /usr/bin/curl 10.88.0.7:49168 -> 142.250.180.196:80 TCP in tenant-jobs/elasticsearch-56f8fc6988-pb8c7"
    )


def test_old_schema_close_and_listen_are_marked_by_sensor_source(corpora: Path) -> None:
    close = _event(_sample(corpora, BOOK / "00_four_golden_signals/process_close.json"))
    assert (close.kind, close.sensor_source, close.direction) == ("network_flow", "process_close", None)
    assert (close.src_ip, close.dst_ip, close.dst_port) == ("10.88.0.7", "142.250.180.196", 80)
    assert _extra(close)["stats"]["bytes_received"] == "15221"

    listen = _event(_sample(corpora, BOOK / "00_four_golden_signals/process_listen.json"))
    assert (listen.kind, listen.sensor_source) == ("network_flow", "process_listen")
    assert (listen.src_ip, listen.src_port, listen.protocol, listen.dst_ip) == ("0.0.0.0", 9080, "TCP", None)
    assert (listen.binary, listen.args, listen.pod_name) == ("/usr/local/bin/python", "app.py", "coreapi-79568ff848-ljh8n")


def test_kprobe_file_access(corpora: Path) -> None:
    e = _event(_sample(corpora, DOCS / "use-cases_filename-access.jsonl"))
    assert (e.kind, e.sensor_source, e.rule, e.file_path) == ("file_access", "process_kprobe", "file-monitoring", "/etc/passwd")
    assert e.summary == "process_kprobe security_file_permission(/etc/passwd, 2) by /bin/vi in default/file-access"
    assert (e.binary, e.args, e.pid, e.parent_binary, e.parent_args) == ("/bin/vi", "/etc/passwd", 64746, "/bin/sh", None)
    assert (e.container_id, e.workload_name, e.workload_kind) == ("6b742e38ee3a", "file-access", "Pod")
    assert e.node == "tetragon-dev-control-plane"
    extra = _extra(e)
    assert (extra["action"], extra["function_name"]) == ("KPROBE_ACTION_POST", "security_file_permission")
    assert extra["args"][0]["file_arg"]["permission"] == "-rw-r--r--"


def test_old_kprobe_relative_file_path_is_made_absolute(corpora: Path) -> None:
    e = _event(_sample(corpora, BOOK / "00_four_golden_signals/process_kprobe.json"))
    assert (e.kind, e.file_path, e.binary) == ("file_access", "/etc/passwd", "/usr/bin/vi")
    assert e.summary == (
        "process_kprobe __x64_sys_write(/etc/passwd, <bytes>, 627) by /usr/bin/vi in tenant-jobs/elasticsearch-56f8fc6988-sh8rm"
    )


def test_kprobe_without_file_or_socket_is_a_runtime_alert(corpora: Path) -> None:
    e = _event(_sample(corpora, DOCS / "use-cases_process-lifecycle_namespace-access.jsonl"))
    assert (e.kind, e.rule, e.binary, e.args) == ("runtime_alert", "namespace-access", "/usr/bin/nsenter", "-t 1 -m -u -n -i -p")
    assert e.summary == "process_kprobe __x64_sys_setns(3, 134217728) by /usr/bin/nsenter in default/xwing"

    module = _event(_sample(corpora, DOCS / "use-cases_host-system-changes_linux-kernel-modules.jsonl", 1))
    assert (module.kind, module.node, module.namespace, module.container_id) == ("runtime_alert", None, None, None)
    assert module.summary == "process_kprobe do_init_module(kernel_module_hello) by /usr/sbin/insmod"


def test_throttle_is_sensor_stats(corpora: Path) -> None:
    start, stop = (_event(r) for r in load_values(corpora / DOCS / "concepts_cgroup-rate.jsonl"))
    assert (start.kind, start.drop_count, start.sensor_source) == ("sensor_stats", 1, "process_throttle")
    assert (stop.kind, stop.drop_count) == ("sensor_stats", 0)
    assert start.time == 1_721_999_263_178_407_128
    assert start.id == make_id("tetragon", "ubuntu-22", 1_721_999_263_178_407_128, "process_throttle", None)
    assert (start.node, start.exec_id, start.binary) == ("ubuntu-22", None, None)
    assert _extra(start) == {"cgroup": "session-429.scope", "type": "THROTTLE_START"}
    assert start.summary == "process_throttle THROTTLE_START session-429.scope on ubuntu-22"


def test_container_without_pod_comes_from_docker_field(corpora: Path) -> None:
    e = _event(_sample(corpora, BOOK / "03_post_exploitation_techniques/merlin-agent-7z-exit.json"))
    assert (e.kind, e.container_id, e.pod_name) == ("process_exit", "a51959123c3b", None)
    # protojson leaves out a zero exit status: no signal and no status is status 0.
    assert e.summary == "process_exit /usr/lib/p7zip/7z a s3nsitiv3.7z ../ops_bank_accounts/ status 0 on minikube"


def test_every_tetragon_corpus_file_normalizes(corpora: Path) -> None:
    files = sorted(p for p in (corpora / "tetragon").rglob("*") if p.is_file())
    assert len(files) == 50
    kinds = set()
    for path in files:
        for record in load_values(path):
            assert SOURCE.detect(record), path
            for e in SOURCE.normalize(record):
                assert e.time > 0 and e.kind in KINDS and e.source == "tetragon", path
                kinds.add(e.kind)
    assert kinds == {"process_exec", "process_exit", "file_access", "network_flow", "runtime_alert", "sensor_stats"}


# -- the same container seen by Falco and Tetragon ---------------------------------------------------


def test_falco_and_tetragon_agree_on_the_container_id(corpora: Path) -> None:
    tetragon = _event(_sample(corpora, DOCS / "use-cases_filename-access.jsonl"))  # containerd://6b742e38ee3a2122...
    (record,) = load_values(FIXTURES / "falco/file_access_container.jsonl")  # container.id 6b742e38ee3a
    (falco,) = falco_source.SOURCE.normalize(record)
    assert falco.container_id == tetragon.container_id == "6b742e38ee3a"
    assert (falco.namespace, falco.pod_name) == (tetragon.namespace, tetragon.pod_name) == ("default", "file-access")
    assert falco.file_path == tetragon.file_path == "/etc/passwd"


# -- small fixtures and other event types --------------------------------------------------------------


def test_kprobe_tcp_connect_fills_flow_from_sock_arg() -> None:
    (record,) = load_values(FIXTURES / "tetragon/kprobe_tcp_connect.jsonl")
    e = _event(record)
    assert (e.kind, e.direction, e.sensor_cluster, e.node) == ("network_flow", "EGRESS", "prod-eu", "worker-2")
    assert (e.src_ip, e.src_port, e.dst_ip, e.dst_port, e.protocol) == ("10.244.1.17", 51234, "203.0.113.50", 4444, "TCP")
    assert (e.rule, e.tags) == ("monitor-network-activity-outside-cluster", ["egress"])
    assert (e.workload_name, e.workload_kind, e.container_id) == ("web", "Deployment", "0f1e2d3c4b5a")
    assert e.summary == (
        "process_kprobe tcp_connect(10.244.1.17:51234->203.0.113.50:4444) by /usr/bin/curl in shop/web-7c9d8b6f5-x2k4q"
    )


def test_exit_with_signal(corpora: Path) -> None:
    record = copy.deepcopy(_sample(corpora, BOOK / "00_process_lifecycle/nc_process_exit.json"))
    record["process_exit"]["signal"] = "SIGKILL"
    e = _event(record)
    assert e.kind == "process_exit"
    assert e.summary == f"process_exit /usr/bin/nc {NC_ARGS} signal SIGKILL in tenant-jobs/elasticsearch-56f8fc6988-65smb"
    assert _extra(e)["signal"] == "SIGKILL"


SHADOW = {"file_arg": {"path": "/etc/shadow"}}
OPENAT_TRACEPOINT = {
    "subsys": "syscalls",
    "event": "sys_enter_openat",
    "args": [{"int_arg": -100}, {"string_arg": "/etc/shadow"}],
}


def _probe(event_type: str, body: dict[str, Any]) -> dict[str, Any]:
    process = {"exec_id": "eDoxOjI=", "pid": 2, "binary": "/usr/bin/cat", "arguments": "/etc/shadow", "tty": "pts/0"}
    return {event_type: {"process": process, **body}, "node_name": "n1", "time": "2025-01-01T00:00:00Z"}


@pytest.mark.parametrize(
    ("record", "kind", "file_path"),
    [
        (_probe("process_lsm", {"function_name": "file_open", "args": [SHADOW]}), "file_access", "/etc/shadow"),
        (_probe("process_tracepoint", OPENAT_TRACEPOINT), "file_access", "/etc/shadow"),
        (_probe("process_kprobe", {"function_name": "__x64_sys_connect", "args": [{"int_arg": 3}]}), "network_flow", None),
        (_probe("process_uprobe", {"path": "/bin/bash", "symbol": "readline"}), "runtime_alert", None),
        (_probe("process_loader", {"path": "/usr/lib/libc.so.6", "buildid": "AAEC"}), "runtime_alert", "/usr/lib/libc.so.6"),
        (_probe("process_future", {"something": 1}), "runtime_alert", None),
    ],
)
def test_other_event_types(record: dict[str, Any], kind: str, file_path: str | None) -> None:
    e = _event(record)
    assert (e.kind, e.file_path, e.tty, e.binary) == (kind, file_path, True, "/usr/bin/cat")
    assert e.sensor_source == next(iter(record))


def test_sockaddr_arg_is_the_destination() -> None:
    sockaddr = {"sockaddr_arg": {"family": "AF_INET", "addr": "1.1.1.1", "port": 53}}
    record = _probe("process_kprobe", {"function_name": "security_socket_connect", "args": [sockaddr]})
    e = _event(record)
    assert (e.kind, e.src_ip, e.dst_ip, e.dst_port, e.direction) == ("network_flow", None, "1.1.1.1", 53, "EGRESS")


# -- quarantine and detection ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "record",
    [
        {"process_exec": {"process": {"binary": "/bin/sh"}}, "node_name": "n1"},
        {"process_exec": {"process": {"binary": "/bin/sh"}}, "node_name": "n1", "time": "not a time"},
        {"process_exec": {"process": {"binary": "/bin/sh"}}, "node_name": "n1", "time": 1700000000},
        {"node_name": "n1", "time": "2025-01-01T00:00:00Z"},
        "process_exec",
    ],
)
def test_unusable_records_raise_normalize_error(record: Any) -> None:
    with pytest.raises(NormalizeError):
        list(SOURCE.normalize(record))


def test_detect_rejects_other_sources(corpora: Path) -> None:
    others = [corpora / "falco", corpora / "k8s-audit", corpora / "hubble", corpora / "otel"]
    for path in sorted(p for d in others for p in d.rglob("*") if p.is_file()):
        for record in load_values(path):
            assert not SOURCE.detect(record), path


@pytest.mark.parametrize(
    "value",
    [
        {"flow": {"verdict": "FORWARDED"}, "node_name": "kind/worker", "time": "2025-01-01T00:00:00Z"},
        {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "verb": "get", "stage": "ResponseComplete"},
        {"resourceLogs": []},
        {"apiVersion": "v1", "kind": "List", "items": []},
        {"process_future": {}},  # not one of Tetragon's event types, no process, no envelope
        {"rate_limit_info": {"number_of_dropped_process_events": "3"}},  # no envelope
        {"process_exec": "x", "time": "2025-01-01T00:00:00Z"},
        [{"process_exec": {}, "time": "t"}],
        "process_exec",
        None,
    ],
)
def test_detect_false_on_non_tetragon_values(value: Any) -> None:
    assert SOURCE.detect(value) is False


@given(JSON_VALUES)
def test_detect_never_raises(value: Any) -> None:
    assert isinstance(SOURCE.detect(value), bool)


@given(st.dictionaries(st.sampled_from(["process", "parent", "function_name", "args", "path", "signal"]), JSON_VALUES))
def test_normalize_returns_an_event_or_raises_normalize_error(body: dict[str, Any]) -> None:
    for event_type in ("process_exec", "process_kprobe", "process_loader", "process_exit"):
        (e,) = SOURCE.normalize({event_type: body, "time": "2025-01-01T00:00:00Z"})
        assert e.kind in KINDS


# -- optional fields: protojson leaves out whatever is empty ----------------------------------------


def _without(record: Any, *paths: str) -> Any:
    """A deep copy of `record` without the fields at these dotted paths."""
    out = copy.deepcopy(record)
    for path in paths:
        *parents, last = path.split(".")
        node = out
        for key in parents:
            node = node[key]
        del node[last]
    return out


def test_exec_without_time_is_detected_and_dated_by_its_start(corpora: Path) -> None:
    record = _sample(corpora, DOCS / "concepts_events.jsonl")
    line = _without(record, "time")
    assert SOURCE.detect(line)
    e = _event(line)
    assert (e.time, e.time_source, e.kind) == (1_696_629_837_700_327_580, None, "process_exec")
    # The same exec by another path: same id and the same normalized content.
    assert e == _event(record)


def test_exec_without_time_or_node_name_is_still_detected(corpora: Path) -> None:
    line = _without(_sample(corpora, BOOK / "00_process_lifecycle/nc_process_exec.json"), "time", "node_name")
    assert SOURCE.detect(line)
    e = _event(line)
    assert (e.node, e.time, e.binary) == (None, 1_643_738_516_411_000_000, "/usr/bin/nc")
    assert e.summary == f"process_exec /usr/bin/nc {NC_ARGS} in tenant-jobs/elasticsearch-56f8fc6988-65smb"


def test_a_process_found_running_at_agent_start_is_dated_when_the_agent_saw_it(corpora: Path) -> None:
    # procFS: Tetragon read it from /proc when it started; its start may be days earlier, when no
    # sensor was watching. Dated by its start, the store would claim Tetragon coverage back then.
    record = _sample(corpora, DOCS / "concepts_events.jsonl")
    record["process_exec"]["process"] = dict(record["process_exec"]["process"], flags="procFS auid rootcwd",
                                             start_time="2023-10-01T08:00:00.000000001Z")  # fmt: skip
    e = _event(record)
    assert (e.time, e.time_source) == (1_696_629_837_700_326_678, None)
    unseen = _event(_without(record, "time"))  # nothing else dates it
    assert (unseen.time, unseen.time_source) == (1_696_147_200_000_000_001, "process_exec.process.start_time")


def test_exec_without_start_time_falls_back_to_time(corpora: Path) -> None:
    e = _event(_without(_sample(corpora, DOCS / "concepts_events.jsonl"), "process_exec.process.start_time"))
    assert (e.time, e.time_source) == (1_696_629_837_700_326_678, "time")


def test_exec_without_any_time_is_quarantined_with_both_fields_named(corpora: Path) -> None:
    line = _without(_sample(corpora, DOCS / "concepts_events.jsonl"), "time", "process_exec.process.start_time")
    assert SOURCE.detect(line)
    with pytest.raises(NormalizeError, match=r"neither process_exec\.process\.start_time nor time"):
        SOURCE.normalize(line)


def test_exit_without_time_takes_its_own_time_and_keeps_its_id(corpora: Path) -> None:
    record = _sample(corpora, BOOK / "00_process_lifecycle/nc_process_exit.json")
    exit_id = record["process_exit"]["process"]["exec_id"]
    moved = _without(record, "time")
    moved["process_exit"]["time"] = record["time"]  # newer Tetragon writes the same kernel stamp here too
    e = _event(moved)
    assert (e.time, e.time_source, e.kind) == (1_643_738_517_725_000_000, None, "process_exit")
    assert e.id == _event(record).id == make_id("tetragon", "process_exit", exit_id)


def test_exit_is_not_dated_by_its_process_start(corpora: Path) -> None:
    line = _without(_sample(corpora, BOOK / "00_process_lifecycle/nc_process_exit.json"), "time")
    assert line["process_exit"]["process"]["start_time"]  # there, but it dates the exec, not the exit
    with pytest.raises(NormalizeError, match=r"process_exit has no time: no time nor process_exit\.time"):
        SOURCE.normalize(line)


@pytest.mark.parametrize(
    ("path", "etype"),
    [
        (DOCS / "use-cases_filename-access.jsonl", "process_kprobe"),
        (BOOK / "00_four_golden_signals/process_connect.json", "process_connect"),
        (DOCS / "concepts_cgroup-rate.jsonl", "process_throttle"),
    ],
)
def test_other_events_without_time_are_quarantined_not_dated_by_process_start(corpora: Path, path: Path, etype: str) -> None:
    line = _without(_sample(corpora, path), "time")
    assert SOURCE.detect(line)
    with pytest.raises(NormalizeError, match=f"{etype} has no time"):
        SOURCE.normalize(line)


def test_exec_and_exit_ids_do_not_depend_on_node_or_time(corpora: Path) -> None:
    for path in ("00_process_lifecycle/nc_process_exec.json", "00_process_lifecycle/nc_process_exit.json"):
        record = _sample(corpora, BOOK / path)
        other = copy.deepcopy(record) | {"node_name": "elsewhere", "time": "2030-01-01T00:00:00Z"}
        assert _event(other).id == _event(record).id


def test_kprobe_id_keeps_node_and_time(corpora: Path) -> None:
    record = _sample(corpora, DOCS / "use-cases_filename-access.jsonl")
    e = _event(record)
    exec_id = record["process_kprobe"]["process"]["exec_id"]
    assert e.id == make_id("tetragon", e.node, e.time, "process_kprobe", exec_id)
    later = _event(copy.deepcopy(record) | {"time": "2030-01-01T00:00:00Z"})
    assert later.id != e.id


def test_exec_without_exec_id_falls_back_to_node_and_time(corpora: Path) -> None:
    e = _event(_without(_sample(corpora, BOOK / "00_process_lifecycle/nc_process_exec.json"), "process_exec.process.exec_id"))
    assert (e.exec_id, e.id) == (None, make_id("tetragon", "minikube", 1_643_738_516_411_000_000, "process_exec", None))


def test_process_without_binary_or_type_reads_without_none_in_summaries() -> None:
    exec_line = {"process_exec": {"process": {"pid": 7, "start_time": "2025-01-01T00:00:00Z"}}, "node_name": "n1"}
    assert _event(exec_line).summary == "process_exec ? on n1"
    throttle = {"process_throttle": {"cgroup": "session-1.scope"}, "time": "2025-01-01T00:00:00Z"}  # type 0 left out
    e = _event(throttle)
    assert (e.summary, e.drop_count) == ("process_throttle THROTTLE_UNKNOWN session-1.scope", 0)
    listen = _probe("process_listen", {"ip": "0.0.0.0", "protocol": "TCP"})  # port 0 left out
    assert _event(listen).summary == "process_listen /usr/bin/cat 0.0.0.0 TCP on n1"


def test_rate_limit_info_is_sensor_stats() -> None:
    record = {"rate_limit_info": {"number_of_dropped_process_events": "12"}, "node_name": "n1", "time": "2025-01-01T00:00:00Z"}
    assert SOURCE.detect(record)
    e = _event(record)
    assert (e.kind, e.drop_count, e.sensor_source, e.node) == ("sensor_stats", 12, "rate_limit_info", "n1")
    assert e.summary == "Tetragon rate limit dropped 12 process events on n1"
    with pytest.raises(NormalizeError, match="rate_limit_info has no time"):
        SOURCE.normalize({"rate_limit_info": {}, "node_name": "n1"})


def test_usdt_probe_is_read() -> None:
    record = _probe("process_usdt", {"path": "/usr/bin/python3", "provider": "python", "name": "function__entry"})
    assert SOURCE.detect(record)
    e = _event(record)
    assert (e.kind, e.sensor_source) == ("runtime_alert", "process_usdt")
    assert e.summary == "process_usdt /usr/bin/python3:python:function__entry() by /usr/bin/cat on n1"


def test_the_same_exec_by_two_paths_ingests_as_a_duplicate(corpora: Path, tmp_path: Path) -> None:
    from kubetrail.ingest.pipeline import Options, ingest
    from kubetrail.store.duckdb import DuckDBStore

    record = _sample(corpora, DOCS / "concepts_events.jsonl")
    (tmp_path / "export.jsonl").write_text(json.dumps(record) + "\n")
    (tmp_path / "relay.jsonl").write_text(json.dumps(_without(record, "time")) + "\n")
    store = DuckDBStore(tmp_path / "k.duckdb")
    try:
        first = ingest(store, [str(tmp_path / "export.jsonl")], Options())
        second = ingest(store, [str(tmp_path / "relay.jsonl")], Options())
    finally:
        store.close()
    assert (first.ingested, first.quarantined) == ({"tetragon": 1}, 0)
    assert (second.ingested, second.duplicates, second.conflicts, second.quarantined) == ({}, 1, 0, 0)
