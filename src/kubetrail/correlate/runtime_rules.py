"""Runtime rules kubetrail applies itself, so that the worst behaviour counts even where no
baseline has been learned yet and no sensor rule fired: a program run from a world-writable
directory (downloaded and executed), and a connection to a well-known mining-pool port."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

# Stratum ports of common mining pools and proxies.
MINING_PORTS: Final = (3333, 4444, 5555, 7777, 14433, 14444, 45560, 45700)


@dataclass(frozen=True, slots=True)
class Finding:
    reason: str
    severity: str
    techniques: tuple[str, ...]


_WRITABLE: Final = ("/tmp/", "/dev/shm/", "/var/tmp/")


def judge(event: Mapping[str, Any]) -> Finding | None:
    if event["kind"] == "process_exec" and event["binary"] and event["binary"].startswith(_WRITABLE):
        where = event["binary"].rsplit("/", 1)[0]
        return Finding(f"ran {event['binary']} from world-writable {where}", "high", ("T1204", "T1059"))
    if event["kind"] == "network_flow" and event["dst_port"] in MINING_PORTS:
        return Finding(f"connected to {event['dst_ip']}:{event['dst_port']}, a mining-pool port", "high", ("T1496",))
    return None
