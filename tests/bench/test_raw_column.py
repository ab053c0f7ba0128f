"""bench.raw_column: each layout of a class table written whole, and measured."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from bench import raw_column
from kubetrail.ingest.pipeline import Options, ingest
from kubetrail.ingest.reader import expand_paths
from kubetrail.store.duckdb import DuckDBStore
from tests.conftest import FIXTURES


def test_every_layout_of_every_table_is_written_and_measured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "s.duckdb"
    store = DuckDBStore(db)
    ingest(store, expand_paths([str(FIXTURES / "stories" / "ip-reuse")]), Options(cluster="c"))
    store.close()
    monkeypatch.setattr(sys, "argv", ["bench.raw_column", str(db), "--runs", "1"])

    raw_column.main()  # each layout checks that it stored every row and raw byte (SystemExit if not)

    rows = [line.split(" | ") for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    measured = {(row[0].split(",")[0].strip("| "), row[1]) for row in rows[1:]}  # below the header
    assert measured == {(t, layout) for t in ("api_calls", "flows") for layout in raw_column.LAYOUTS}


def test_a_layout_that_lost_raw_bytes_is_refused() -> None:
    rows = pa.table({"raw": ["{}", '{"a": 1}']})
    with duckdb.connect() as con:
        con.execute("CREATE TABLE api_calls (raw VARCHAR); INSERT INTO api_calls VALUES ('{}'), ('{}')")
        con.execute("CREATE TABLE raw_segments (data BLOB, size BIGINT); INSERT INTO raw_segments VALUES ('', 2)")
        with pytest.raises(SystemExit, match="2 raw bytes stored of 10"):
            raw_column._check(con, "api_calls", "zstd segments", rows)
