"""Incidents: suspicious signals linked through the entities they share (pod, actor, the user who
initiated them) within a window become one incident with an ordered story, MITRE ATT&CK
technique ids and a severity.

A signal is one piece of evidence with what it is about; grouping is pure: union-find over the
signals, linking two when they share an entity and lie within `link_ns` of each other, and
linking all the signals of one channel (the replicas of a workload keeping one steady channel
out, each a signal of its own pod) however far apart they lie. An incident's id derives from its
earliest signal, so it stays the same as the incident grows; one that begins with a steady
channel takes its id from the channel and its pods, which stay as the window moves along it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from kubetrail.ids import make_id
from kubetrail.timeutil import NS

SEVERITIES: Final = ("low", "medium", "high", "critical")
LINK_NS: Final = 3600 * NS


@dataclass(frozen=True, slots=True)
class Signal:
    id: str  # the evidence event
    time: int
    cluster: str
    source: str
    kind: str
    summary: str
    severity: str
    techniques: tuple[str, ...] = ()
    pod: str | None = None  # "namespace/name"
    actor: str | None = None
    initiator: str | None = None  # the user who started it, when attribution found one
    destinations: tuple[str, ...] = ()  # addresses it reached
    target: str | None = None  # a pod the evidence acted on ("namespace/name"): the one an API call created
    channel: str | None = None  # the steady channel out it is of (correlate/steady.py): its replicas' signals link

    def entities(self) -> set[str]:
        """What links it to signals close in time: its pods, actor and initiator."""
        named = (("pod", self.pod), ("pod", self.target), ("actor", self.actor), ("actor", self.initiator))
        return {f"{self.cluster}|{kind}:{value}" for kind, value in named if value}


@dataclass
class Incident:
    signals: list[Signal] = field(default_factory=list)

    @property
    def id(self) -> str:
        """From its earliest signal; when that is a steady channel's, from the channel and the
        first of its pods by name: the channel's earliest connection in a window changes as the
        window moves on while the channel goes on (the live alert engine told one beacon twice:
        from its first connection, and again once that had left the window). Pod names, not the
        cluster's: an id stays the same however the cluster is named, as an event's does."""
        first = min(self.signals, key=lambda s: (s.time, s.id))
        if first.channel is not None:
            pod = min(s.pod or "" for s in self.signals if s.channel == first.channel)
            return make_id("incident", "channel", first.channel, pod)
        return make_id("incident", first.id)

    @property
    def severity(self) -> str:
        top = max(SEVERITIES.index(s.severity) for s in self.signals)
        # Attributed to a person across two or more sources: one level up.
        attributed = any(s.initiator for s in self.signals) and len({s.source for s in self.signals}) >= 2
        return SEVERITIES[min(top + attributed, len(SEVERITIES) - 1)]


def group(signals: Iterable[Signal], link_ns: int = LINK_NS) -> list[Incident]:
    ordered = sorted(signals, key=lambda s: (s.time, s.id))
    parent = list(range(len(ordered)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    last_seen: dict[str, int] = {}  # entity -> index of its latest signal
    channels: dict[tuple[str, str], int] = {}  # channel -> index of its first signal
    for i, signal in enumerate(ordered):
        for entity in signal.entities():
            j = last_seen.get(entity)
            if j is not None and signal.time - ordered[j].time <= link_ns:
                parent[find(i)] = find(j)
            last_seen[entity] = i
        if signal.channel is not None:
            j = channels.setdefault((signal.cluster, signal.channel), i)
            parent[find(i)] = find(j)
    groups: dict[int, Incident] = {}
    for i, signal in enumerate(ordered):
        groups.setdefault(find(i), Incident()).signals.append(signal)
    return list(groups.values())


def significant(incidents: Sequence[Incident]) -> list[Incident]:
    """Incidents worth a responder's time: medium severity or more, counting the raise for a
    person tied to them across two sources. Low signals alone stay out, however often they repeat
    (an operator re-watching Secrets while Falco notes it contacts the API server)."""
    return [i for i in incidents if SEVERITIES.index(i.severity) >= 1]
