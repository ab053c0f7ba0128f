"""`kubetrail simulate`: write a simulated cluster's telemetry into a folder, one file per producer
(two for the API server: its log and its webhook backend), in the producers' real formats, all
drawn from one seeded model of the cluster.

With the mess of real collection: each node's sensors stamp with that node's clock, off by less
than 1 s (cluster.py); the exports merged from several nodes deliver a few lines up to 300 ms
late (clock.Delivery); Hubble delivers about 1 % of its flows twice, and the audit webhook file
holds the log's events again, a few of its batches twice (audit.py). So `--events` is about the
number of distinct events: the webhook file's copies come on top of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

from kubetrail.simulate.audit import write_audit
from kubetrail.simulate.cluster import NS, Cluster, build_cluster
from kubetrail.simulate.network import write_hubble, write_otlp
from kubetrail.simulate.runtime import write_falco, write_tetragon
from kubetrail.simulate.stories import write_stories

# 2026-11-28T00:00:00Z: a fixed start, so the same seed gives the same files on any day.
DEFAULT_START_NS: Final = 1_795_824_000 * NS

SPANS_PER_REQUEST: Final = 3  # a frontend server and client span, and the API's server span
AUDIT_LOG: Final = "audit.log"
AUDIT_WEBHOOK: Final = "audit-webhook.json"
Writer = Callable[[Path, Cluster, int, int], dict[str, int]]  # (folder, cluster, events, seed) -> events per file


@dataclass(frozen=True)
class Output:
    files: tuple[str, ...]  # the names it writes inside the output folder
    share: float  # of the requested events
    write: Writer


def _audit(out: Path, cluster: Cluster, events: int, seed: int) -> dict[str, int]:
    log, webhook = write_audit(out / AUDIT_LOG, out / AUDIT_WEBHOOK, cluster=cluster, events=events, seed=seed)
    return {AUDIT_LOG: log, AUDIT_WEBHOOK: webhook}


def _hubble(out: Path, cluster: Cluster, events: int, seed: int) -> dict[str, int]:
    return {"hubble-flows.json": write_hubble(out / "hubble-flows.json", cluster=cluster, events=events, seed=seed)}


def _tetragon(out: Path, cluster: Cluster, events: int, seed: int) -> dict[str, int]:
    return {"tetragon.jsonl": write_tetragon(out / "tetragon.jsonl", cluster=cluster, events=events, seed=seed)}


def _falco(out: Path, cluster: Cluster, events: int, seed: int) -> dict[str, int]:
    return {"falco.json": write_falco(out / "falco.json", cluster=cluster, events=events, seed=seed)}


def _otlp(out: Path, cluster: Cluster, events: int, seed: int) -> dict[str, int]:
    requests = events // SPANS_PER_REQUEST
    return {"otlp-traces.jsonl": write_otlp(out / "otlp-traces.jsonl", cluster=cluster, requests=requests, seed=seed)}


# Shares of the requested events, roughly as a small cluster's sources produce them.
OUTPUTS: Final[tuple[Output, ...]] = (
    Output((AUDIT_LOG, AUDIT_WEBHOOK), 0.35, _audit),
    Output(("hubble-flows.json",), 0.30, _hubble),
    Output(("tetragon.jsonl",), 0.20, _tetragon),
    Output(("falco.json",), 0.05, _falco),
    Output(("otlp-traces.jsonl",), 0.10, _otlp),
)
FILES: Final = tuple(name for o in OUTPUTS for name in o.files)


def simulate(
    out: Path, *, seed: int, hours: float, events: int, start_ns: int = DEFAULT_START_NS, stories: bool = False,
    cluster_name: str | None = None, hubble_names_cluster: bool = True,
) -> dict[str, int]:  # fmt: skip
    """Write every output into `out`; returns events written per file name. With `stories`, also
    the planted attack stories' files and their hidden `.ground-truth.json` (simulate/stories.py).
    `cluster_name` names the cluster; with `hubble_names_cluster`, Hubble prints it in node names
    and endpoint labels (the other sources name no cluster, as a plain audit log does)."""
    if events < 0 or hours <= 0:
        raise ValueError("--events must be zero or more and --hours more than zero")
    out.mkdir(parents=True, exist_ok=True)
    cluster = build_cluster(seed, start_ns, hours)
    cluster = replace(cluster, name=cluster_name or cluster.name, hubble_names_cluster=hubble_names_cluster)
    total = sum(o.share for o in OUTPUTS)
    written: dict[str, int] = {}
    for o in OUTPUTS:
        written |= o.write(out, cluster, round(events * o.share / total), seed)
    return written | write_stories(out, cluster, seed) if stories else written
