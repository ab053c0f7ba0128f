"""Where an address lies: the scope of a destination and whether it is outside the cluster."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from kubetrail.identity.ips import Holder

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Addresses that are the organisation's own unless configured otherwise: RFC 1918, shared
# address space (RFC 6598, also used by some CNIs) and IPv6 unique local addresses.
DEFAULT_INTERNAL: Final[tuple[Network, ...]] = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)
APISERVER_LABEL: Final = "reserved:kube-apiserver"


@dataclass(frozen=True, slots=True)
class Place:
    scope: str  # pod, service, node, apiserver, link-local, private, public, unknown
    external: bool


def networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    """Parse CIDRs; raises ValueError naming the bad one."""
    out = []
    for cidr in cidrs:
        try:
            out.append(ipaddress.ip_network(cidr, strict=False))
        except ValueError:
            raise ValueError(f"{cidr!r} is not a CIDR (e.g. 10.0.0.0/8)") from None
    return tuple(out)


def place(ip: str, holder: Holder | None, labels: Iterable[str] = (), internal: tuple[Network, ...] = DEFAULT_INTERNAL) -> Place:
    """Scope of `ip` at a time, given who held it then. External means: no pod, service or node
    held it and it lies outside the internal networks (labels such as reserved:world are hints
    only; reserved:kube-apiserver names the API server)."""
    if holder is not None:
        return Place(holder.scope, False)
    if APISERVER_LABEL in labels:
        return Place("apiserver", False)
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return Place("unknown", False)
    if address.is_link_local:
        return Place("link-local", False)
    if address.is_loopback or address.is_multicast or address.is_unspecified:
        return Place("unknown", False)
    if any(address in net for net in internal):
        return Place("private", False)
    return Place("public", True)
