"""`kubetrail simulate`: write a simulated cluster's telemetry into a folder, one file per producer,
in the producers' real formats, all drawn from one seeded model of the cluster."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

from kubetrail.simulate.audit import write_audit_log
from kubetrail.simulate.cluster import NS, Cluster, build_cluster
from kubetrail.simulate.network import write_hubble, write_otlp
from kubetrail.simulate.runtime import write_falco, write_tetragon
from kubetrail.simulate.stories import write_stories

# 2026-11-28T00:00:00Z: a fixed start, so the same seed gives the same files on any day.
DEFAULT_START_NS: Final = 1_795_824_000 * NS

SPANS_PER_REQUEST: Final = 3  # a frontend server and client span, and the API's server span
Writer = Callable[[Path, Cluster, int, int], int]  # (path, cluster, events, seed) -> events written


@dataclass(frozen=True)
class Output:
    file: str  # name inside the output folder
    share: float  # of the requested events
    write: Writer


def _audit(path: Path, cluster: Cluster, events: int, seed: int) -> int:
    return write_audit_log(path, cluster=cluster, events=events, seed=seed)


def _hubble(path: Path, cluster: Cluster, events: int, seed: int) -> int:
    return write_hubble(path, cluster=cluster, events=events, seed=seed)


def _tetragon(path: Path, cluster: Cluster, events: int, seed: int) -> int:
    return write_tetragon(path, cluster=cluster, events=events, seed=seed)


def _falco(path: Path, cluster: Cluster, events: int, seed: int) -> int:
    return write_falco(path, cluster=cluster, events=events, seed=seed)


def _otlp(path: Path, cluster: Cluster, events: int, seed: int) -> int:
    return write_otlp(path, cluster=cluster, requests=events // SPANS_PER_REQUEST, seed=seed)


# Shares of the requested events, roughly as a small cluster's sources produce them.
OUTPUTS: Final[tuple[Output, ...]] = (
    Output("audit.log", 0.35, _audit),
    Output("hubble-flows.json", 0.30, _hubble),
    Output("tetragon.jsonl", 0.20, _tetragon),
    Output("falco.json", 0.05, _falco),
    Output("otlp-traces.jsonl", 0.10, _otlp),
)


def simulate(
    out: Path, *, seed: int, hours: float, events: int, start_ns: int = DEFAULT_START_NS, stories: bool = False,
    cluster_name: str | None = None,
) -> dict[str, int]:  # fmt: skip
    """Write every output into `out`; returns events written per file name. With `stories`, also
    the planted attack stories' files and their hidden `.ground-truth.json` (simulate/stories.py).
    `cluster_name` names the cluster (Hubble prints it in node_name; ingest the rest with
    `--cluster` of the same name)."""
    if events < 0 or hours <= 0:
        raise ValueError("--events must be zero or more and --hours more than zero")
    out.mkdir(parents=True, exist_ok=True)
    cluster = build_cluster(seed, start_ns, hours)
    if cluster_name:
        cluster = replace(cluster, name=cluster_name)
    total = sum(o.share for o in OUTPUTS)
    written = {o.file: o.write(out / o.file, cluster, round(events * o.share / total), seed) for o in OUTPUTS}
    return written | write_stories(out, cluster, seed) if stories else written
