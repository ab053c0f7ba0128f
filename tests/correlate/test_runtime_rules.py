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
