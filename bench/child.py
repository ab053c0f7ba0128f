"""The measured work, each run in its own process so that its time and memory are its own (the
parent samples the RSS of this process and its workers between the JSON lines printed here):

    python -m bench.child ingest DB CLUSTER FILE...       one ingest per file, into the store DB
    python -m bench.child incidents DB SINCE_NS UNTIL_NS  the incidents question over a window
    python -m bench.child incremental DB CLUSTER FILE...  one ingest of the files, then incidents
                                                          over the latest hour

Each prints one JSON object per line: {"start": ...} before a measured step, then its result.

kubetrail is imported inside the commands, before their clocks start: a worker process that
ingest spawns imports this module again (multiprocessing does so with the parent's main module),
and `python -m kubetrail`, which this stands in for, costs its workers no such import.
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from kubetrail.ingest.pipeline import Summary

HOUR = 3600 * 10**9


def say(doc: dict[str, Any]) -> None:
    sys.stdout.buffer.write(orjson.dumps(doc) + b"\n")
    sys.stdout.flush()


def ingest_files(db: str, cluster: str, *files: str) -> None:
    """Each file by its own ingest call (as `kubetrail ingest FILE` would), one after the other."""
    from kubetrail.ingest.pipeline import Options, ingest
    from kubetrail.store import open_store

    store = open_store(db)  # a DuckDB file or a ClickHouse URL (bench/clickhouse.py)
    try:
        for path in files:
            say({"start": path})
            start = time.perf_counter()
            summary = ingest(store, [path], Options(cluster=cluster))
            say(_file_result(path, summary, time.perf_counter() - start))
    finally:
        store.close()


def _file_result(path: str, summary: Summary, seconds: float) -> dict[str, Any]:
    (file,) = summary.files
    return {
        "path": path, "source": file.source, "stored": file.ingested, "quarantined": file.quarantined,
        "duplicates": summary.duplicates, "conflicts": summary.conflicts, "seconds": seconds,
    }  # fmt: skip


def incidents_over(db: str, since: str, until: str) -> None:
    from kubetrail.answers.incidents import Query, incidents
    from kubetrail.answers.window import Window
    from kubetrail.store.duckdb import DuckDBStore

    store = DuckDBStore(db, read_only=True)
    try:
        say({"start": "incidents"})
        start = time.perf_counter()
        doc = incidents(store, Query(Window(int(since), int(until)), limit=100_000))
        seconds = time.perf_counter() - start
    finally:
        store.close()
    say({"seconds": seconds, "incidents": len(doc["rows"]), "gaps": len(doc["gaps"]), "max_rss": _max_rss()})


def incremental(db: str, cluster: str, *files: str) -> None:
    """A new batch into an existing store, then the incidents of the latest hour."""
    from kubetrail.answers.incidents import Query, incidents
    from kubetrail.answers.window import Window
    from kubetrail.ingest.pipeline import Options, ingest
    from kubetrail.store.duckdb import DuckDBStore

    say({"start": "ingest"})
    start = time.perf_counter()
    store = DuckDBStore(db)
    try:
        summary = ingest(store, list(files), Options(cluster=cluster))
        ingested = time.perf_counter()
        (newest,) = store.query("newest_event")
        doc = incidents(store, Query(Window(newest["newest"] - HOUR, newest["newest"] + 1)))
        done = time.perf_counter()
    finally:
        store.close()
    say({
        "ingest_seconds": ingested - start, "incidents_seconds": done - ingested, "events": sum(summary.ingested.values()),
        "duplicates": summary.duplicates, "conflicts": summary.conflicts, "quarantined": summary.quarantined,
        "incidents": len(doc["rows"]), "max_rss": _max_rss(),
    })  # fmt: skip


def _max_rss() -> int:
    """Peak RSS of this process in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


COMMANDS: dict[str, Callable[..., None]] = {"ingest": ingest_files, "incidents": incidents_over, "incremental": incremental}

if __name__ == "__main__":
    COMMANDS[sys.argv[1]](*sys.argv[2:])
