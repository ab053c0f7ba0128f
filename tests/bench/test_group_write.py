"""bench.group_write at a tiny size: every case writes the same groups into a copy of one store and
is reported. Nothing is recorded; no wall time is asserted."""

from __future__ import annotations

import sys
from pathlib import Path

from bench import group_write


def test_every_case_stores_the_same_events_and_is_reported(tmp_path: Path) -> None:
    before = sys.getswitchinterval()
    argv = ["--store-events", "0", "--groups", "3", "--events", "400", "--cluster-events", "6000", "--data", str(tmp_path)]

    lines = group_write.main(argv)

    rows = [line.split(" | ") for line in lines if line.startswith("| ") and not line.startswith("| case")]
    assert [r[0].removeprefix("| ") for r in rows] == [name for name, _, _ in group_write.CASES]
    stored = {r[3] for r in rows}
    assert len(stored) == 1 and int(stored.pop().replace(",", "")) > 0
    assert sys.getswitchinterval() == before  # each case's interval is put back
    assert not list(tmp_path.glob("group-write-*"))  # the stores written are removed
