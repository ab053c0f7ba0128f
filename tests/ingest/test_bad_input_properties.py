"""Property: truncated, corrupted and mistyped records mixed with valid ones never crash the
ingest, and every valid record is stored."""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubetrail.ingest.pipeline import Options, ingest
from kubetrail.store.duckdb import DuckDBStore
from tests.conftest import FIXTURES

VALID_FILES = [
    FIXTURES / "pipeline" / "audit-secrets.log",
    FIXTURES / "pipeline" / "hubble-auth.json",
    *sorted((FIXTURES / "falco").glob("*.json*")),
    *sorted((FIXTURES / "tetragon").glob("*.jsonl")),
]
VALID_LINES = [line for f in VALID_FILES for line in f.read_bytes().splitlines() if line.strip().startswith(b"{")]


def _ingest(lines: list[bytes]) -> tuple[set[str], int, int]:
    """(content hashes stored, records quarantined, events stored) for a file of `lines`."""
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "mixed.jsonl"
        data.write_bytes(b"\n".join(lines) + b"\n")
        store = DuckDBStore(Path(tmp) / "k.duckdb")
        summary = ingest(store, [str(data)], Options())
        store.close()
        with duckdb.connect(str(Path(tmp) / "k.duckdb"), read_only=True) as con:
            hashes = {r[0] for r in con.execute("SELECT content_hash FROM events").fetchall()}
        return hashes, summary.quarantined, sum(summary.ingested.values())


REFERENCE, _, _ = _ingest(VALID_LINES)


def _mistype(line: bytes, data: st.DataObject) -> bytes:
    value = orjson.loads(line)
    key = data.draw(st.sampled_from(sorted(value)))
    value[key] = data.draw(
        st.one_of(
            st.none(),
            st.integers(-5, 5),
            st.text(max_size=5),
            st.lists(st.integers(-(2**63), 2**63 - 1), max_size=2),
            st.just({}),
        )
    )
    return orjson.dumps(value)


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    line = draw(st.sampled_from(VALID_LINES))
    how = draw(st.sampled_from(["truncate", "flip", "mistype", "drop_key"]))
    if how == "truncate":
        return line[: draw(st.integers(1, max(1, len(line) - 1)))]
    if how == "flip":
        i = draw(st.integers(0, len(line) - 1))
        return line[:i] + bytes([draw(st.integers(0, 255))]) + line[i + 1 :]
    if how == "mistype":
        return _mistype(line, draw(st.data()))
    value = orjson.loads(line)
    value.pop(draw(st.sampled_from(sorted(value))))
    return orjson.dumps(value)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(damaged(), min_size=1, max_size=8), st.randoms(use_true_random=False))
def test_damaged_records_never_stop_valid_ones(bad: list[bytes], rnd: object) -> None:
    lines = [b.replace(b"\n", b" ") for b in bad] + VALID_LINES
    rnd.shuffle(lines)  # type: ignore[attr-defined]
    hashes, quarantined, stored = _ingest(lines)
    assert REFERENCE.issubset(hashes)  # every valid record is stored, whatever surrounds it
    assert quarantined <= len(bad)
    assert stored >= len(REFERENCE)
