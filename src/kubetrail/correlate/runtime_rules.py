"""Runtime rules kubetrail applies itself, so that the worst behaviour counts even where no
baseline has been learned yet and no sensor rule fired: a program run from a world-writable
directory (downloaded and executed), a download piped straight into a shell, a process entering
the node's namespaces or root (a container escape), and a connection to a well-known mining-pool
port.

`store/sql/queries/runtime_rule_events.sql` selects the candidates (a superset); `judge` decides."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

# Stratum ports of common mining pools and proxies.
MINING_PORTS: Final = (3333, 4444, 5555, 7777, 14433, 14444, 45560, 45700)


@dataclass(frozen=True, slots=True)
class Finding:
    reason: str  # what the process or connection did, as a reason (`ask processes`)
    severity: str
    techniques: tuple[str, ...]
    why: str  # what makes it suspicious, said after the event: "a mining-pool port"


_WRITABLE: Final = ("/tmp/", "/dev/shm/", "/var/tmp/")
SHELLS: Final = frozenset({"sh", "bash", "dash", "ash", "zsh", "ksh", "busybox"})
# `curl … | sh`, `wget -qO- … | bash`: a fetch whose output a shell runs.
_PIPED_DOWNLOAD: Final = re.compile(r"\b(curl|wget)\b[^|;&]*\|\s*(\S*/)?(sh|bash|dash|ash|zsh|ksh)\b")
# nsenter into pid 1's namespaces (the node's), or chroot into the node's root mounted in the pod.
_NSENTER_HOST: Final = re.compile(r"(^|\s)(-t\s*1|--target[=\s]1)(\s|$)")
_CHROOT_HOST: Final = re.compile(r"^/(host|node|rootfs)\b")


def judge(event: Mapping[str, Any]) -> Finding | None:
    if event["kind"] == "process_exec":
        return _process(event["binary"] or "", event.get("args") or "")
    if event["kind"] == "network_flow" and event["dst_port"] in MINING_PORTS:
        reason = f"connected to {event['dst_ip']}:{event['dst_port']}, a mining-pool port"
        return Finding(reason, "high", ("T1496",), "a mining-pool port")
    return None


def _process(binary: str, args: str) -> Finding | None:
    name = posixpath.basename(binary)
    if binary.startswith(_WRITABLE):
        where = posixpath.dirname(binary)
        why = f"a program in world-writable {where}"
        return Finding(f"ran {binary} from world-writable {where}", "high", ("T1204", "T1059"), why)
    if name in SHELLS and _PIPED_DOWNLOAD.search(args):
        return Finding("piped a download into a shell", "high", ("T1105", "T1059.004"), "a download piped into a shell")
    if (name == "nsenter" and _NSENTER_HOST.search(args)) or (name == "chroot" and _CHROOT_HOST.match(args)):
        reason = f"{name} into the node's namespaces or root: a container escape"
        return Finding(reason, "high", ("T1611",), "a container escape into the node")
    return None
