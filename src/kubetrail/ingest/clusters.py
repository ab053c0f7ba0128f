"""Which cluster the events of one ingest belong to (CONTRACT.md, "cluster").

`--cluster` is authoritative for every event of the ingest. Without it, an event that names its
cluster (`sensor_cluster`) keeps that name while the inputs are read, and one that names none is
stored under a pending name unique to the ingest. Once every input is read, the pending name
becomes the one name the inputs carry (together with the store's, when the store holds exactly
one cluster), or `default` when there is none or several; several names are warned about.
Renaming the pending name is exact for the tables kept beside the events too: their rows of one
batch merge with those of others when read, and only this ingest wrote under that name.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Final

from kubetrail.store import PENDING_CLUSTER

DEFAULT: Final = "default"


def pending_name() -> str:
    return f"{PENDING_CLUSTER}{uuid.uuid4().hex}"


@dataclass(frozen=True)
class Naming:
    name: str  # the cluster of the events that name none
    origin: str  # where that name came from: "--cluster", "inputs", "store", "default" or "several"
    warnings: tuple[str, ...] = ()


Named = Mapping[tuple[str, str], int]  # (cluster the records name, source) -> events


def name_clusters(given: str | None, named: Named, in_store: Collection[str]) -> Naming:
    """The name for the events of an ingest that name no cluster, and what to warn about.
    `in_store`: the clusters the store held before the ingest."""
    by_name = _by_name(named)
    if given is not None:
        other = [f"{_told(n, named)} name cluster {n!r}" for n in sorted(by_name) if n != given]
        return Naming(given, "--cluster", tuple(f"{o}; stored under --cluster {given!r}" for o in other))
    store_name = next(iter(in_store)) if len(in_store) == 1 else None
    names = set(by_name) | ({store_name} if store_name is not None else set())
    if len(names) == 1:
        (name,) = names
        return Naming(name, "inputs" if name in by_name else "store")
    if not names:
        if len(in_store) > 1:
            held = ", ".join(map(repr, sorted(in_store)))
            warning = f"the store holds several clusters ({held}) and the inputs name none: stored under {DEFAULT!r}"
            warning += "; give --cluster"
            return Naming(DEFAULT, "default", (warning,))
        return Naming(DEFAULT, "default")
    return Naming(DEFAULT, "several", (_several(by_name, named, store_name),))


def _by_name(named: Named) -> Counter[str]:
    out: Counter[str] = Counter()
    for (name, _), n in named.items():
        out[name] += n
    return out


def _told(name: str, named: Named) -> str:
    """'1,204 events (hubble 1,200, tetragon 4)'."""
    per = sorted(((source, n) for (c, source), n in named.items() if c == name), key=lambda p: (-p[1], p[0]))
    total = sum(n for _, n in per)
    return f"{total:,} events ({', '.join(f'{s} {n:,}' for s, n in per)})"


def _several(by_name: Counter[str], named: Named, store_name: str | None) -> str:
    told = "; ".join(f"{_told(n, named)} name {n!r}" for n in sorted(by_name))
    held = f"; the store holds {store_name!r}" if store_name is not None and store_name not in by_name else ""
    first, *rest = sorted(set(by_name) | ({store_name} if store_name else set()))
    into = rest[0] if first == DEFAULT else first
    merge = next(n for n in (first, *rest) if n != into)
    return (
        f"several clusters: {told}{held}. Each event keeps the name it carries; those that carry none are stored under "
        f"{DEFAULT!r}. If two are one cluster, join them: kubetrail clusters merge {merge} {into} (or ingest with --cluster)"
    )
