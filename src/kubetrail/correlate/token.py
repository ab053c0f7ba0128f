"""Token use: an API call made with a service-account token -> the pod that made it.

A bound token names its pod in `user.extra` (pod name and uid): that decides. A legacy token
names no pod, so the call's source IP is resolved to the pod that held it at the call's time.
People's calls and calls that cannot be tied to a pod are attributed to none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from kubetrail.identity.ips import Holder

BOUND_TOKEN: Final = "bound-token"
SOURCE_IP: Final = "source-ip"
NONE: Final = "none"

Resolve = Callable[[str, str, int], Holder | None]  # (cluster, ip, time) -> holder


@dataclass(frozen=True, slots=True)
class TokenUse:
    pod: str | None  # "namespace/name"
    pod_uid: str | None
    attribution: str  # bound-token, source-ip or none


@dataclass(frozen=True, slots=True)
class Call:
    cluster: str
    time: int
    service_account: str | None  # "namespace/name" when the actor is a service account
    token_pod_name: str | None
    token_pod_uid: str | None
    source_ip: str | None


def attribute(call: Call, resolve: Resolve) -> TokenUse:
    if call.service_account is None:
        return TokenUse(None, None, NONE)
    if call.token_pod_name:
        namespace = call.service_account.split("/", 1)[0]  # a bound token's pod is in its account's namespace
        return TokenUse(f"{namespace}/{call.token_pod_name}", call.token_pod_uid, BOUND_TOKEN)
    holder = resolve(call.cluster, call.source_ip, call.time) if call.source_ip else None
    if holder is not None and holder.scope == "pod":
        return TokenUse(holder.pod, holder.pod_uid, SOURCE_IP)
    return TokenUse(None, None, NONE)


def foreign_ip(resolve: Resolve, cluster: str, time: int, use: TokenUse, source_ip: str | None) -> str | None:
    """When a bound token was used from an address another pod held at the time, say so."""
    if use.attribution != BOUND_TOKEN or source_ip is None:
        return None
    holder = resolve(cluster, source_ip, time)
    if holder is None or holder.scope != "pod" or holder.pod == use.pod:
        return None
    return f"bound token of {use.pod} used from {source_ip}, held by {holder.pod} at the time"
