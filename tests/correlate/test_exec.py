"""Exec-session attribution rules (pure)."""

from __future__ import annotations

from kubetrail.correlate.exec import Proc, Session, by_ancestry, by_time, is_root

S = 10**9
MS = 10**6
SKEW = 2 * S
SESSION = Session("c", "ns", "pod", "exec", "alice", "sh -c id", "app", start=1000 * S, end=1060 * S, evidence="audit")


def proc(id_: str, t: int, binary: str, exec_id: str, parent: str | None, container: str | None = "app") -> Proc:
    return Proc(id_, t, binary, container, exec_id, parent)


def test_the_root_is_the_command_started_right_after_the_request() -> None:
    assert is_root(proc("r", 1000 * S + 300 * MS, "/bin/sh", "x", "runc"), SESSION, SKEW)
    assert not is_root(proc("r", 1000 * S + 300 * MS, "/bin/bash", "x", "runc"), SESSION, SKEW)  # another command
    assert not is_root(proc("r", 1000 * S + 300 * MS, "/bin/sh", "x", "runc", container="sidecar"), SESSION, SKEW)
    assert not is_root(proc("r", 1030 * S, "/bin/sh", "x", "runc"), SESSION, SKEW)  # too late to be the exec'd command


def test_descendants_belong_to_the_session_even_after_it_ended() -> None:
    root = proc("sh", 1000 * S + 300 * MS, "/bin/sh", "a", "runc")
    child = proc("bg", 1500 * S, "/tmp/miner", "b", "a")  # long after the session ended
    assert by_ancestry([child, root], [SESSION], SKEW) == (SESSION, root)


def test_the_workloads_own_process_at_the_same_moment_does_not() -> None:
    app = proc("app", 10 * S, "/usr/local/bin/api", "p1", None)
    probe = proc("probe", 1000 * S + 500 * MS, "/bin/sh", "p2", "p1")  # looks like the command, but the app started it
    assert is_root(probe, SESSION, SKEW)  # by time, binary and container alone it would be taken
    assert by_ancestry([probe, app], [SESSION], SKEW) is None


def test_time_window_tolerates_skew_in_both_directions() -> None:
    assert by_time(1000 * S - 800 * MS, "app", [SESSION], SKEW) == SESSION  # stamped 0.8 s before the request
    assert by_time(1060 * S + 1500 * MS, "app", [SESSION], SKEW) == SESSION  # 1.5 s after the session ended
    assert by_time(1000 * S - 3 * S, "app", [SESSION], SKEW) is None
    assert by_time(1060 * S + 3 * S, "app", [SESSION], SKEW) is None


def test_time_window_respects_the_container_and_prefers_the_latest_session() -> None:
    later = Session("c", "ns", "pod", "exec", "bob", None, None, start=1030 * S, end=None, evidence="audit2")
    assert by_time(1040 * S, "app", [SESSION, later], SKEW) == later
    assert by_time(1010 * S, "sidecar", [SESSION], SKEW) is None
    assert by_time(1030 * S + 3600 * S + 3 * S, "app", [later], SKEW) is None  # an open session is bounded
