"""What the rules cannot say of an API call, because it needs more than the call: its account's
baseline (a user agent or an action the account never used before) and a bound token used from
an address another pod held. The rules themselves are data (kubetrail/rules)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Baseline:
    learned: bool
    user_agents: frozenset[str] = frozenset()
    actions: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class CallFacts:
    verb: str | None
    resource: str | None
    subresource: str | None
    user_agent: str | None
    foreign_token_ip: str | None  # "a bound token of pod P used from IP X held by pod Q", when so
    baseline: Baseline

    @property
    def action(self) -> str:
        return f"{self.verb} {self.resource}" + (f"/{self.subresource}" if self.subresource else "")


def new_user_agent(c: CallFacts) -> str | None:
    if not c.baseline.learned or c.user_agent is None or c.user_agent in c.baseline.user_agents:
        return None
    return f"user agent {c.user_agent!r} not seen for this account in its baseline"


def new_action(c: CallFacts) -> str | None:
    if not c.baseline.learned or c.action in c.baseline.actions:
        return None
    return f"{c.action} never done by this account in its baseline"


def reasons(c: CallFacts) -> list[str]:
    """The detectors' reasons for one call, after the rules' (the stolen token first)."""
    return [r for r in (c.foreign_token_ip, new_user_agent(c), new_action(c)) if r]
