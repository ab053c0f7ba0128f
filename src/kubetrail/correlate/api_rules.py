"""Why an API call is suspicious: small pure rules over one call's normalized facts.

Each rule returns a reason (a short phrase shown to the responder) or None. Rules about the
account's normal behaviour only speak when its baseline was learned.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

# The control plane reads Secrets, requests tokens and certificates and creates privileged pods
# as its job: kubelets, the controller manager and scheduler, and kube-system's controllers.
CONTROL_PLANE: Final = re.compile(
    r"^system:(node:.+|kube-controller-manager|kube-scheduler|apiserver|serviceaccount:kube-system:[a-z-]+-controller)$"
)
RBAC: Final = frozenset({"roles", "rolebindings", "clusterroles", "clusterrolebindings"})
WRITES: Final = frozenset({"create", "update", "patch", "delete", "deletecollection", "bind", "escalate"})
ENUMERATION: Final = frozenset({"selfsubjectrulesreviews", "selfsubjectaccessreviews"})
STREAMING: Final = frozenset({"exec", "attach", "portforward"})


@dataclass(frozen=True, slots=True)
class Baseline:
    learned: bool
    user_agents: frozenset[str] = frozenset()
    actions: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class CallFacts:
    actor: str
    service_account: str | None
    verb: str | None
    resource: str | None
    subresource: str | None
    namespace: str | None
    code: int | None
    user_agent: str | None
    pod_spec: dict[str, Any]  # extra.pod of a pod body: privileged, hostPath, hostNetwork, ...
    foreign_token_ip: str | None  # "a bound token of pod P used from IP X held by pod Q", when so
    baseline: Baseline

    @property
    def action(self) -> str:
        return f"{self.verb} {self.resource}" + (f"/{self.subresource}" if self.subresource else "")


def denied(c: CallFacts) -> str | None:
    return f"denied ({c.code})" if c.code in (401, 403) else None


def enumeration(c: CallFacts) -> str | None:
    return "permission enumeration" if c.resource in ENUMERATION else None


def lists_secrets(c: CallFacts) -> str | None:
    if c.resource != "secrets" or c.verb not in ("list", "watch") or CONTROL_PLANE.match(c.actor):
        return None
    return "listed or watched secrets"


def foreign_secret(c: CallFacts) -> str | None:
    if c.resource != "secrets" or c.service_account is None or CONTROL_PLANE.match(c.actor):
        return None
    own = c.service_account.split("/", 1)[0]
    return "secrets outside its own namespace" if c.namespace != own else None


def streaming(c: CallFacts) -> str | None:
    return f"{c.subresource} into a pod" if c.resource == "pods" and c.subresource in STREAMING else None


def token_or_csr(c: CallFacts) -> str | None:
    if c.verb != "create" or CONTROL_PLANE.match(c.actor):
        return None
    if c.resource == "serviceaccounts" and c.subresource == "token":
        return "service-account token creation"
    return "certificate signing request" if c.resource == "certificatesigningrequests" else None


def rbac_write(c: CallFacts) -> str | None:
    return f"RBAC write ({c.verb} {c.resource})" if c.resource in RBAC and c.verb in WRITES else None


def risky_pod(c: CallFacts) -> str | None:
    if c.resource != "pods" or c.verb not in ("create", "update", "patch") or not c.pod_spec or CONTROL_PLANE.match(c.actor):
        return None
    found = [label for key, label in (("privileged", "privileged"), ("hostPath", "hostPath mount"),
             ("hostNetwork", "hostNetwork"), ("hostPID", "hostPID"), ("hostIPC", "hostIPC")) if c.pod_spec.get(key)]  # fmt: skip
    return f"pod spec with {', '.join(found)}" if found else None


def anonymous(c: CallFacts) -> str | None:
    return "anonymous access" if c.actor == "system:anonymous" else None


def token_from_foreign_ip(c: CallFacts) -> str | None:
    return c.foreign_token_ip


def new_user_agent(c: CallFacts) -> str | None:
    if not c.baseline.learned or c.user_agent is None or c.user_agent in c.baseline.user_agents:
        return None
    return f"user agent {c.user_agent!r} not seen for this account in its baseline"


def new_action(c: CallFacts) -> str | None:
    if not c.baseline.learned or c.action in c.baseline.actions:
        return None
    return f"{c.action} never done by this account in its baseline"


@dataclass(frozen=True, slots=True)
class Rule:
    check: Callable[[CallFacts], str | None]
    severity: str  # of the call alone: low, medium, high, critical
    techniques: tuple[str, ...] = ()  # MITRE ATT&CK ids


# Severities are for the call alone: what is routine for some accounts (a denied call, listing
# secrets, an exec, a deploy writing RBAC) stays low or medium until it links with more.
RULES: Final[tuple[Rule, ...]] = (
    Rule(denied, "low"),
    Rule(anonymous, "medium", ("T1078",)),
    Rule(token_from_foreign_ip, "high", ("T1528",)),
    Rule(enumeration, "medium", ("T1613",)),
    Rule(lists_secrets, "low", ("T1552.007",)),
    Rule(foreign_secret, "low", ("T1552.007",)),
    Rule(streaming, "low", ("T1609",)),
    Rule(token_or_csr, "medium", ("T1528",)),
    Rule(rbac_write, "medium", ("T1098.006",)),
    Rule(risky_pod, "high", ("T1611",)),
    Rule(new_user_agent, "low"),
    Rule(new_action, "low"),
)


def findings(c: CallFacts) -> list[tuple[Rule, str]]:
    """The rules a call trips, with their reasons."""
    return [(rule, r) for rule in RULES if (r := rule.check(c))]


def reasons(c: CallFacts) -> list[str]:
    return [r for _, r in findings(c)]


def pod_spec(resource: str | None, extra: str | None) -> dict[str, Any]:
    """The pod details the audit source keeps in `extra` for pod bodies."""
    if resource != "pods" or not extra:
        return {}
    spec = json.loads(extra).get("pod")
    return spec if isinstance(spec, dict) else {}
