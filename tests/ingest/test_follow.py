"""Following export files (ingest/follow.py): lines appended to a file reach the store whole, placed
at their line and offset, across rename and copytruncate rotations and restarts, nothing twice."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubetrail.ingest.follow import Follower, FollowError, FollowOptions, Group, GroupWriter, follow
from kubetrail.store.duckdb import DuckDBStore

ONE_ROUND = threading.Event()
ONE_ROUND.set()  # a follow stopped before it starts reads and writes what is there once, then returns


@pytest.fixture
def lines(corpora: Path) -> list[bytes]:
    """Real export lines, each a distinct event: Tetragon's JSON export, then Hubble flows."""
    hubble = corpora / "hubble" / "hubble-otel"
    files = [
        *sorted((corpora / "tetragon" / "docs-extracted").glob("*.jsonl")),
        *(hubble / f"basic-sample-{n}-flows.json" for n in ("10", "400-icmpv4")),
    ]
    out = [line.rstrip(b"\n") + b"\n" for f in files for line in f.read_bytes().splitlines() if line.strip()]
    assert len(out) == 47
    return out


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckDBStore]:
    s = DuckDBStore(tmp_path / "s.duckdb")
    yield s
    s.close()


def append(path: Path, *data: bytes) -> None:
    with path.open("ab") as f:
        f.write(b"".join(data))


def polled(follower: Follower) -> list[Group]:
    """Every group the follower has now, poll after poll."""
    out = []
    while (group := follower.poll()) is not None:
        out.append(group)
    return out


def rounds(run: GroupWriter, follower: Follower, n: int = 4) -> None:
    """A few rounds of the follow loop, each written at once."""
    for _ in range(n):
        run.round([follower], 0.0, flush=True)


def events(store: DuckDBStore) -> list[tuple[int, int, int]]:
    """(file_id, line, byte_offset) of every stored event, in order."""
    rows = store.con.execute("SELECT file_id, line, byte_offset FROM events ORDER BY file_id, line").fetchall()
    return [(int(f), int(line), int(offset)) for f, line, offset in rows]


def offsets(data: list[bytes], start: int = 0) -> list[int]:
    return [start + sum(len(x) for x in data[:i]) for i in range(len(data))]


def test_appended_lines_are_picked_up_by_the_next_poll(tmp_path: Path, lines: list[bytes]) -> None:
    log = tmp_path / "tetragon.log"
    log.write_bytes(b"".join(lines[:3]))
    follower = Follower(str(log))
    first = follower.poll()
    assert first is not None and first.body.data == b"".join(lines[:3]) and first.fresh
    assert follower.poll() is None
    append(log, *lines[3:5])
    second = follower.poll()
    assert second is not None and not second.fresh
    assert (second.body.data, second.body.line, second.body.offset) == (b"".join(lines[3:5]), 4, len(b"".join(lines[:3])))
    assert second.cursor is not None and second.cursor.position == len(b"".join(lines[:5]))
    follower.close()


def test_a_partial_last_line_waits_for_its_newline(tmp_path: Path, lines: list[bytes]) -> None:
    log = tmp_path / "tetragon.log"
    line = lines[2]
    log.write_bytes(lines[0] + lines[1] + line[:40])
    follower = Follower(str(log))
    group = follower.poll()
    assert group is not None and group.body.data == lines[0] + lines[1]
    assert group.cursor is not None and group.cursor.position == len(lines[0] + lines[1])
    append(log, line[40:-1])  # all but the newline
    assert follower.poll() is None
    append(log, b"\n")
    group = follower.poll()
    assert group is not None and (group.body.data, group.body.line) == (line, 3)
    follower.close()


def test_records_are_placed_at_their_line_and_byte_offset_in_the_followed_file(
    tmp_path: Path, lines: list[bytes], store: DuckDBStore
) -> None:
    log = tmp_path / "mixed.log"
    log.write_bytes(b"")
    run = GroupWriter(store, FollowOptions(), notify=lambda _: None)
    follower = Follower(str(log))
    data = b"".join(lines)
    for start in range(0, len(data), 5000):  # written in pieces that cut lines anywhere, each piece read and written
        append(log, data[start : start + 5000])
        rounds(run, follower, 1)
    placed = events(store)
    assert [(line, offset) for _, line, offset in placed] == list(zip(range(1, len(lines) + 1), offsets(lines), strict=True))
    assert len({file_id for file_id, _, _ in placed}) == 1
    follower.close()


def test_rename_rotation_reads_the_old_files_tail_then_the_new_file_from_its_start(
    tmp_path: Path, lines: list[bytes], store: DuckDBStore
) -> None:
    log = tmp_path / "tetragon.log"
    old, tail, new = lines[:10], lines[10:20], lines[20:30]
    log.write_bytes(b"".join(old))
    run = GroupWriter(store, FollowOptions(), notify=lambda _: None)
    follower = Follower(str(log))
    rounds(run, follower)
    with log.open("ab") as writer:  # the producer keeps writing to the file it has open...
        writer.write(b"".join(tail[:-1]) + tail[-1][:30])
        writer.flush()
        log.rename(tmp_path / "tetragon.log.1")  # ... while it is renamed and a new one created
        (tmp_path / "tetragon.log").write_bytes(b"".join(new))
        writer.write(tail[-1][30:])  # and finishes its last line there before reopening
    rounds(run, follower)
    result = run.result([follower])
    first, second = sorted({file_id for file_id, _, _ in events(store)})
    assert [(line, offset) for f, line, offset in events(store) if f == first] == list(
        zip(range(1, 21), offsets(old + tail), strict=True)
    )
    assert [(line, offset) for f, line, offset in events(store) if f == second] == list(
        zip(range(1, 11), offsets(new), strict=True)
    )
    assert sum(result.summary.ingested.values()) == 30 and not result.gaps
    cursor = store.cursor(follower.name)
    assert cursor is not None and cursor.position == len(b"".join(new))
    assert f'"ino":{log.stat().st_ino},' in (cursor.state or "")
    follower.close()


def test_copytruncate_is_detected_and_what_it_may_have_lost_counted_as_a_gap(
    tmp_path: Path, lines: list[bytes], store: DuckDBStore
) -> None:
    log = tmp_path / "hubble.log"
    partial = lines[10][:100]  # seen at the last read, never completed before the truncation
    log.write_bytes(b"".join(lines[:10]) + partial)
    told: list[str] = []
    run = GroupWriter(store, FollowOptions(), notify=told.append)
    follower = Follower(str(log))
    rounds(run, follower)
    with log.open("r+b") as f:  # truncated in place, no copy beside it; written again from 0
        f.truncate(0)
    append(log, *lines[20:25])
    rounds(run, follower)
    result = run.result([follower])
    assert (result.truncations, result.bytes_possibly_lost) == (1, len(partial))
    assert result.as_json()["gaps"] == [
        {"path": str(log), "kind": "truncated", "offset": len(b"".join(lines[:10])), "bytes_possibly_lost": 100, "copy": None}
    ]
    assert len(told) == 1 and "truncated in place" in told[0]
    assert [line for _, line, _ in events(store)] == [*range(1, 11), *range(1, 6)]
    follower.close()


def test_copytruncate_reads_what_was_unread_from_the_copy_beside_the_file(
    tmp_path: Path, lines: list[bytes], store: DuckDBStore
) -> None:
    log = tmp_path / "hubble.log"
    log.write_bytes(b"".join(lines[:10]))
    run = GroupWriter(store, FollowOptions(), notify=lambda _: None)
    follower = Follower(str(log))
    rounds(run, follower)
    append(log, *lines[10:15])  # written after the last read, before logrotate's copy
    shutil.copyfile(log, tmp_path / "hubble.log.1")
    with log.open("r+b") as f:
        f.truncate(0)
    append(log, *lines[20:25])
    rounds(run, follower)
    result = run.result([follower])
    assert (result.truncations, result.bytes_possibly_lost) == (1, 0)
    assert result.gaps[0].copy == str(tmp_path / "hubble.log.1")
    placed = events(store)
    assert [(line, offset) for _, line, offset in placed[:15]] == list(zip(range(1, 16), offsets(lines[:15]), strict=True))
    assert [line for _, line, _ in placed[15:]] == list(range(1, 6))
    assert sum(result.summary.ingested.values()) == 20
    follower.close()


def test_a_restart_resumes_from_the_stored_offset_and_stores_nothing_twice(tmp_path: Path, lines: list[bytes]) -> None:
    log, db = tmp_path / "tetragon.log", tmp_path / "s.duckdb"
    log.write_bytes(b"".join(lines[:20]) + lines[20][:50])
    store = DuckDBStore(db)
    first = follow(store, [str(log)], stop=ONE_ROUND, notify=lambda _: None)
    store.close()
    append(log, lines[20][50:], *lines[21:])
    store = DuckDBStore(db)
    told: list[str] = []
    second = follow(store, [str(log)], stop=ONE_ROUND, notify=told.append)
    third = follow(store, [str(log)], stop=ONE_ROUND, notify=lambda _: None)
    assert told[0] == f"following {log} at byte {len(b''.join(lines[:20]))} (line 21)"
    assert (sum(first.summary.ingested.values()), sum(second.summary.ingested.values())) == (20, 27)
    assert (second.summary.duplicates, third.summary.duplicates, sum(third.summary.ingested.values())) == (0, 0, 0)
    assert [line for _, line, _ in events(store)] == list(range(1, 48))
    assert store.con.execute("SELECT sum(duplicates), sum(conflicts), count(*) FROM files").fetchone() == (0, 0, 2)
    store.close()


def test_a_file_rewritten_over_the_same_inode_is_recognised_by_its_head(tmp_path: Path, lines: list[bytes]) -> None:
    log = tmp_path / "export.log"
    log.write_bytes(b"".join(lines[:3]))
    follower = Follower(str(log))
    assert polled(follower)
    inode = log.stat().st_ino
    with log.open("r+b") as f:  # another file's content over it, longer than what was read: only the head tells
        f.write(b"".join(lines[30:40]))
    assert log.stat().st_ino == inode
    (group,) = polled(follower)
    assert (group.body.data, group.body.line, group.body.offset, group.fresh) == (b"".join(lines[30:40]), 1, 0, True)
    assert [g.kind for g in follower.take_gaps()] == ["truncated"]
    follower.close()


def test_a_restart_recognises_a_file_rewritten_over_the_same_inode_by_its_head(
    tmp_path: Path, lines: list[bytes], store: DuckDBStore
) -> None:
    log = tmp_path / "export.log"
    log.write_bytes(b"".join(lines[:3]))
    follow(store, [str(log)], stop=ONE_ROUND, notify=lambda _: None)
    inode = log.stat().st_ino
    with log.open("r+b") as f:
        f.write(b"".join(lines[30:40]))
    assert log.stat().st_ino == inode
    result = follow(store, [str(log)], stop=ONE_ROUND, notify=lambda _: None)
    assert sum(result.summary.ingested.values()) == 10  # read from 0, not from the stored offset
    assert result.truncations == 1


def test_a_restart_after_a_rename_rotation_finishes_the_renamed_file_then_reads_the_new_one(
    tmp_path: Path, lines: list[bytes], store: DuckDBStore
) -> None:
    log = tmp_path / "tetragon.log"
    log.write_bytes(b"".join(lines[:10]))
    follow(store, [str(log)], stop=ONE_ROUND, notify=lambda _: None)
    append(log, *lines[10:15])  # written while not followed, then rotated
    log.rename(tmp_path / "tetragon.log.1")
    log.write_bytes(b"".join(lines[15:20]))
    (tmp_path / "tetragon-other.log").write_bytes(b"".join(lines[10:15]))  # same stem, another file: not taken
    run = GroupWriter(store, FollowOptions(), notify=lambda _: None)
    follower = Follower(str(log), store.cursor(f"follow:{log}"))
    rounds(run, follower)
    result = run.result([follower])
    assert sum(result.summary.ingested.values()) == 10 and not result.gaps
    assert [f["path"] for f in result.as_json()["files"]] == [str(tmp_path / "tetragon.log.1"), str(log)]
    assert [line for _, line, _ in events(store)] == [*range(1, 16), *range(1, 6)]
    follower.close()


def test_a_file_followed_before_and_gone_after_a_rotation_is_a_gap(
    tmp_path: Path, lines: list[bytes], store: DuckDBStore
) -> None:
    log = tmp_path / "tetragon.log"
    log.write_bytes(b"".join(lines[:10]) + lines[10][:10])
    follow(store, [str(log)], stop=ONE_ROUND, notify=lambda _: None)
    log.rename(tmp_path / "archived.gz")  # gone from beside it (held, so its inode is not reused at once)
    log.write_bytes(b"".join(lines[15:20]))
    result = follow(store, [str(log)], stop=ONE_ROUND, notify=lambda _: None)
    assert [(g.kind, g.lost) for g in result.gaps] == [("replaced", 10)]
    assert sum(result.summary.ingested.values()) == 5


def test_lines_are_written_in_groups_once_old_or_large_enough(tmp_path: Path, lines: list[bytes], store: DuckDBStore) -> None:
    log = tmp_path / "tetragon.log"
    log.write_bytes(b"".join(lines[:2]))
    group_bytes = len(b"".join(lines[:6]))
    run = GroupWriter(store, FollowOptions(linger_seconds=0.5, group_bytes=group_bytes), notify=lambda _: None)
    follower = Follower(str(log))
    run.round([follower], 0.0, flush=False)
    append(log, *lines[2:4])
    run.round([follower], 0.3, flush=False)
    assert events(store) == []  # waiting: neither 0.5 s old nor large
    run.round([follower], 0.6, flush=False)
    assert len(events(store)) == 4  # one write: the oldest line waited 0.5 s
    append(log, *lines[4:12])
    run.round([follower], 0.7, flush=False)
    assert len(events(store)) == 12  # large enough: written at once
    follower.close()


def test_stdin_is_followed_until_its_end(lines: list[bytes], store: DuckDBStore) -> None:
    read, write = os.pipe()
    os.write(write, b"".join(lines[:5]) + lines[5][:-1])  # the last line unterminated: taken at the end
    os.close(write)
    try:
        result = follow(store, ["-"], FollowOptions(poll_seconds=0.01), notify=lambda _: None, stdin=read)
    finally:
        os.close(read)
    assert sum(result.summary.ingested.values()) == 6
    assert [line for _, line, _ in events(store)] == list(range(1, 7))
    assert store.con.execute("SELECT count(*) FROM cursors").fetchone() == (0,)


def test_what_cannot_be_followed_is_refused_with_what_to_do(tmp_path: Path, store: DuckDBStore) -> None:
    (tmp_path / "x.gz").write_bytes(b"\x1f\x8b\x08\x00")
    refused = {tmp_path: "not a regular file", tmp_path / "x.gz": "compressed", tmp_path / "none": "no such file"}
    for path, reason in refused.items():
        with pytest.raises(FollowError, match=reason):
            follow(store, [str(path)], stop=ONE_ROUND, notify=lambda _: None)


def test_the_command_follows_until_sigterm_then_writes_its_group_and_exits_0(tmp_path: Path, lines: list[bytes]) -> None:
    log, db = tmp_path / "tetragon.log", tmp_path / "s.duckdb"
    log.write_bytes(b"".join(lines[:5]))
    cmd = [sys.executable, "-m", "kubetrail", "ingest", "--follow", str(log), "--db", str(db), "-o", "json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stderr is not None
        assert proc.stderr.readline().decode().startswith(f"following {log}")  # signals are handled from here on
        append(log, *lines[5:12], lines[12][:20])
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err.decode()
    doc = json.loads(out)
    assert (doc["ingested"], doc["truncations"], doc["gaps"]) == ({"tetragon": 12}, 0, [])
    store = DuckDBStore(db)
    assert [line for _, line, _ in events(store)] == list(range(1, 13))
    cursor = store.cursor(f"follow:{log}")
    assert cursor is not None and cursor.position == len(b"".join(lines[:12]))
    store.close()
