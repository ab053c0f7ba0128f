"""Shared test fixtures: the real corpora beside the project, and record loading."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kubetrail.ingest.reader import Record, open_input, records
from kubetrail.sources import registry

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT.parent / "shared" / "corpora"
FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture
def corpora() -> Path:
    """../shared/corpora; tests that need it skip where a clone has no shared/ beside it."""
    if not CORPORA.is_dir():
        pytest.skip(f"real corpora not found at {CORPORA} (clone kubetrail beside shared/ to run this)")
    return CORPORA


def load_values(path: Path) -> list[Any]:
    """The parsed records of a file, as the ingest reader frames them."""
    decoders = tuple(d for s in registry().values() if (d := s.decode_bytes) is not None)
    stream, _ = open_input(str(path))
    with stream:
        out = []
        for rec in records(stream, decoders):
            if isinstance(rec, Record):
                assert rec.error is None, f"{path}:{rec.line}: {rec.error}"
                out.append(rec.value)
        return out


def run_cli(*args: str, db: Path | None = None, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """The real `kubetrail` command, in a subprocess, against the store `db`."""
    cmd = [sys.executable, "-m", "kubetrail", *args, *(["--db", str(db)] if db is not None else [])]
    return subprocess.run(cmd, input=stdin, capture_output=True, check=False)
