"""Stores built from the multi-source fixture stories, shared by the answer tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kubetrail.ingest.pipeline import Options, ingest
from kubetrail.ingest.reader import expand_paths
from tests.conftest import FIXTURES, open_test_store, store_at

STORIES = FIXTURES / "stories"


def story_store(path: Path, *stories: str, cluster: str | None = None) -> Any:
    """A store at `path` (on the backend under test: tests.conftest.store_at) holding the named
    stories (folders under tests/fixtures/stories); its location (a Path on DuckDB)."""
    store = open_test_store(path)
    ingest(store, list(expand_paths([str(STORIES / s) for s in stories])), Options(cluster=cluster))
    store.close()
    return path if store_at(path) == str(path) else store_at(path)
