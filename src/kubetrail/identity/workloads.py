"""Which workload a pod belongs to, as one key across sources: 'namespace/name'."""

from __future__ import annotations

import re
from typing import Final

# Deployment pods are <name>-<replicaset hash>-<5>, DaemonSet pods <name>-<5>, StatefulSet pods
# <name>-<ordinal>; the suffixes use the Kubernetes name alphabet.
_REPLICA: Final = re.compile(
    r"^(?P<base>.+?)(?:-[bcdfghjklmnpqrstvwxz2456789]{6,10})?-[bcdfghjklmnpqrstvwxz2456789]{5}$|^(?P<sts>.+)-\d+$"
)


def workload_key(namespace: str, pod: str, reported: str | None = None) -> str:
    """The workload as the sensor reported it ('name' or 'Kind/name'), else from the pod's name."""
    if reported:
        return f"{namespace}/{reported.rsplit('/', 1)[-1]}"
    m = _REPLICA.match(pod)
    base = (m.group("base") or m.group("sts")) if m else pod
    return f"{namespace}/{base}"
