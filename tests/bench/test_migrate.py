"""bench.migrate: a store of an older release migrated, measured and checked unchanged."""

from __future__ import annotations

import gzip
import shutil
import sys
from pathlib import Path

import pytest

from bench import migrate

FIXTURE = Path(__file__).parents[1] / "fixtures" / "store-v14" / "store.duckdb.gz"


def test_an_older_store_is_migrated_on_a_copy_and_found_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "old.duckdb"
    with gzip.open(FIXTURE, "rb") as src, open(old, "wb") as out:
        shutil.copyfileobj(src, out)
    original = old.read_bytes()
    monkeypatch.setattr(sys, "argv", ["bench.migrate", str(old), "--work", str(tmp_path / "work.duckdb")])

    migrate.main()

    printed = capsys.readouterr().out
    assert "| events per kind, ids and content hashes the same after | yes |" in printed
    assert "schema 14 to" in printed
    assert old.read_bytes() == original  # the store given is left as it is
    assert migrate.state(tmp_path / "work.duckdb")[0] > 14
