"""Stores built from the multi-source fixture stories, shared by the answer tests."""

from __future__ import annotations

from pathlib import Path

from kubetrail.ingest.pipeline import Options, ingest
from kubetrail.ingest.reader import expand_paths
from kubetrail.store.duckdb import DuckDBStore
from tests.conftest import FIXTURES

STORIES = FIXTURES / "stories"


def story_store(path: Path, *stories: str, cluster: str | None = None) -> Path:
    """A store at `path` holding the named stories (folders under tests/fixtures/stories)."""
    store = DuckDBStore(path)
    ingest(store, list(expand_paths([str(STORIES / s) for s in stories])), Options(cluster=cluster))
    store.close()
    return path
