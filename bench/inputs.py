"""The benchmarks' inputs: a simulated cluster's telemetry from every source (with the attack
stories played into it), and a later batch of telemetry of the same cluster name for the
incremental measurement. Generated once per (events, seed) and cached under bench/data/ (git-ignored); made
again when the simulator's code changes."""

from __future__ import annotations

import hashlib
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import kubetrail
from kubetrail.ingest.reader import expand_paths
from kubetrail.simulate.run import DEFAULT_START_NS, simulate
from kubetrail.timeutil import NS

HERE: Final = Path(__file__).resolve().parent
DATA: Final = HERE / "data"
CLUSTER: Final = "sim"
EVENTS_PER_HOUR: Final = 200_000  # the simulated cluster's rate: 1M events span 5 h, 10M span 50 h
MIN_HOURS: Final = 2.0
BATCH_EVENTS: Final = 10_000  # the incremental batch
_DONE: Final = ".bench-complete"  # written last, holding the simulator's fingerprint
PACKAGE: Final = Path(kubetrail.__file__).resolve().parent


def fingerprint(root: Path = PACKAGE) -> str:
    """A digest of the code under `root` (its .py and .sql files): caches made by other code are stale."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.suffix in (".py", ".sql")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Inputs:
    folder: Path
    start_ns: int
    hours: float

    @property
    def end_ns(self) -> int:
        return self.start_ns + int(self.hours * 3600 * NS)

    def files(self) -> list[Path]:
        """The telemetry files, as `kubetrail ingest FOLDER` reads them (hidden ground truth skipped)."""
        return [Path(p) for p in expand_paths([str(self.folder)])]

    def size(self) -> int:
        return sum(p.stat().st_size for p in self.files())

    def fingerprint(self) -> str:
        """The simulator's fingerprint the folder was written by."""
        return (self.folder / _DONE).read_text()


def hours_for(events: int) -> float:
    return max(MIN_HOURS, events / EVENTS_PER_HOUR)


def cluster(events: int, seed: int, data: Path = DATA) -> Inputs:
    """`events` simulated events of every source over `hours_for(events)`, with the stories."""
    inputs = Inputs(data / f"cluster-{events}-s{seed}", DEFAULT_START_NS, hours_for(events))
    _cached(inputs, lambda out: simulate(out, seed=seed, hours=inputs.hours, events=events, stories=True, cluster_name=CLUSTER))
    return inputs


def next_batch(main: Inputs, events: int, seed: int, batch: int = BATCH_EVENTS) -> Inputs:
    """`batch` more events of the cluster right after `main` ends, at its rate. Drawn from the
    next seed: the simulator draws ids (Hubble's flow uuids) from the seed alone, and the same
    seed would repeat the first ones with other contents (conflicts no real sensor makes)."""
    hours = hours_for(events) * batch / events
    inputs = Inputs(main.folder.with_name(main.folder.name + f"-next{batch}"), main.end_ns, hours)
    _cached(
        inputs, lambda out: simulate(out, seed=seed + 1, hours=hours, events=batch, start_ns=main.end_ns, cluster_name=CLUSTER)
    )
    return inputs


def _cached(inputs: Inputs, write: Callable[[Path], object]) -> None:
    """Write the folder unless it exists, complete, from the same simulator."""
    simulator = fingerprint(PACKAGE / "simulate")
    done = inputs.folder / _DONE
    if done.exists() and done.read_text() == simulator:
        return
    print(f"bench: simulating into {inputs.folder} (cached for later runs)", file=sys.stderr, flush=True)
    shutil.rmtree(inputs.folder, ignore_errors=True)
    tmp = inputs.folder.with_name(inputs.folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    write(tmp)
    (tmp / _DONE).write_text(simulator)
    tmp.rename(inputs.folder)
