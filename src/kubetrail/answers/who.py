"""`kubetrail who IP`: which pod, service or node held an IP at a time, with the interval."""

from __future__ import annotations

import ipaddress
from typing import Any

from kubetrail.identity.ips import DEFAULT_SKEW_NS, Holder, holder_at, ip_history
from kubetrail.store import Store
from kubetrail.timeutil import format_ns


def who(store: Store, ip: str, at: int, cluster: str | None = None, skew_ns: int = DEFAULT_SKEW_NS) -> dict[str, Any]:
    """The contract's document: {"ip", "at", "holder": holder|null, "history": [holder]}.
    Raises ValueError for something that is not an IP address."""
    address = str(ipaddress.ip_address(ip))
    history = ip_history(store, address, cluster)
    holder = holder_at(history, at, skew_ns)
    return {
        "ip": address,
        "at": format_ns(at),
        "holder": _document(holder) if holder else None,
        "history": [_document(h) for h in history],
    }


def _document(h: Holder) -> dict[str, Any]:
    return {
        "scope": h.scope,
        "cluster": h.cluster,
        "pod": h.pod,
        "pod_uid": h.pod_uid,
        "node": h.node,
        "service": h.service,
        "from": format_ns(h.start),
        "to": format_ns(h.end) if h.end is not None else None,
        "first_seen": format_ns(h.first_seen),
        "last_seen": format_ns(h.last_seen),
        "observations": h.observations,
    }
