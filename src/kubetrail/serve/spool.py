"""The spool: received request bodies, appended and fsynced before the sender is answered.

A directory of segment files, each named by the position (a byte count over the whole spool's
life, never reused) of its first entry. An entry is a 16-byte frame (magic, header length, body
length, CRC-32 of header and body), a JSON header (receiver, source, cluster, origin) and the
body. One writer appends; after a crash the last segment is scanned and a torn entry at its end,
written but never fsynced and so never acknowledged, is cut off. The drain reads from the
position the store last committed (its cursor) and releases whole segments below it.

A damaged stretch (bytes that are no intact entry, followed by intact ones: a disk's fault, a
hand's edit) does not stop the drain: its bytes are kept in `damaged/POSITION-END.bin` beside the
segments, `read` hands it over as an entry marked `damaged` (the drain counts and reports it),
and reading goes on at the next intact entry.

The directory is locked (flock) for the life of the process: the kernel drops the lock when a
process dies, so a spool left by a killed server reopens at once.
"""

from __future__ import annotations

import fcntl
import itertools
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

import orjson

MAGIC: Final = b"KTS1"
_FRAME: Final = struct.Struct("<4sIII")  # magic, header length, body length, crc32(header + body)
SEGMENT_BYTES: Final = 64 << 20
DAMAGED: Final = "damaged"  # the folder damaged stretches are kept in
_SUFFIX: Final = ".spool"


class SpoolError(RuntimeError):
    """The spool cannot be opened or used; the message says what to do."""


@dataclass(frozen=True, slots=True)
class Entry:
    position: int  # where the entry starts
    end: int  # where the next one starts
    header: dict[str, Any]
    body: bytes
    damaged: Path | None = None  # a damaged stretch, not an entry: where its bytes were kept

    @property
    def body_position(self) -> int:
        return self.end - len(self.body)


@dataclass(frozen=True, slots=True)
class Recovery:
    """What opening the spool found: a torn entry cut off, and where the spool stands."""

    start: int  # position of the oldest entry kept
    end: int
    torn_bytes: int  # bytes cut off the end of the last segment (never acknowledged)


class Spool:
    def __init__(self, directory: Path, start: int = 0, segment_bytes: int = SEGMENT_BYTES) -> None:
        """Open (or create) the spool in `directory`. `start`: the position the store committed,
        where a new spool starts so that positions are never reused."""
        self.dir = directory
        self.segment_bytes = segment_bytes
        directory.mkdir(parents=True, exist_ok=True)
        self._lock = _lock(directory)
        segments = self.segments()
        torn = 0
        if not segments:
            self._open_segment(start)
        else:
            last = segments[-1]
            valid = last + _valid_length(self._segment_path(last))
            torn = self._segment_path(last).stat().st_size - (valid - last)
            if torn:
                with open(self._segment_path(last), "r+b") as f:
                    f.truncate(valid - last)
                    os.fsync(f.fileno())
            self._active_start = last
            self._active: IO[bytes] = open(self._segment_path(last), "ab")  # noqa: SIM115
            self.end = valid
        self.recovery = Recovery(self.segments()[0], self.end, torn)

    # -- writing (one thread) -----------------------------------------------------------------
    def append(self, entries: list[tuple[dict[str, Any], bytes]]) -> int:
        """Append entries and fsync them; returns the new end. Durable once this returns."""
        for header, body in entries:
            if self.end - self._active_start >= self.segment_bytes:
                self._roll()
            head = orjson.dumps(header)
            crc = zlib.crc32(body, zlib.crc32(head))
            self._active.write(_FRAME.pack(MAGIC, len(head), len(body), crc))
            self._active.write(head)
            self._active.write(body)
            self.end += _FRAME.size + len(head) + len(body)
        self._active.flush()
        os.fsync(self._active.fileno())
        return self.end

    def _roll(self) -> None:
        self._active.flush()
        os.fsync(self._active.fileno())
        self._active.close()
        self._open_segment(self.end)

    def _open_segment(self, start: int) -> None:
        self._active_start = start
        self._active = open(self._segment_path(start), "ab")  # noqa: SIM115
        self.end = start
        _fsync_dir(self.dir)  # the new file's name is durable too

    # -- reading (the drain) -----------------------------------------------------------------
    def read(self, position: int, until: int, max_bytes: int) -> list[Entry]:
        """Whole entries from `position` up to `until` (a durable end), about `max_bytes` of them."""
        out: list[Entry] = []
        size = 0
        for entry in self._entries(position, until):
            out.append(entry)
            size += entry.end - entry.position
            if size >= max_bytes:
                break
        return out

    def _entries(self, position: int, until: int) -> Iterator[Entry]:
        for start in self.segments():
            if position >= until:
                return
            end_of_segment = start + self._segment_path(start).stat().st_size
            if end_of_segment <= position:
                continue
            with open(self._segment_path(start), "rb") as f:
                f.seek(max(position, start) - start)
                pos = max(position, start)
                limit = min(until, end_of_segment)
                while pos < limit:
                    entry = _read_entry(f, pos)
                    if entry is None:
                        entry = self._keep_damaged(f, start, pos, _next_intact(f, start, pos, limit))
                        f.seek(entry.end - start)
                    yield entry
                    pos = entry.end
                position = pos

    def _keep_damaged(self, f: IO[bytes], start: int, position: int, end: int) -> Entry:
        f.seek(position - start)
        kept = self.dir / DAMAGED / f"{position:020d}-{end:020d}.bin"
        kept.parent.mkdir(exist_ok=True)
        kept.write_bytes(f.read(end - position))
        return Entry(position, end, {}, b"", kept)

    def release(self, position: int) -> int:
        """Delete the segments wholly below `position` (committed to the store); returns how many."""
        segments = self.segments()
        gone = 0
        for start, following in itertools.pairwise(segments):
            if following <= position and start != self._active_start:
                self._segment_path(start).unlink()
                gone += 1
        return gone

    def segments(self) -> list[int]:
        return sorted(int(p.name[: -len(_SUFFIX)]) for p in self.dir.glob(f"*{_SUFFIX}"))

    def _segment_path(self, start: int) -> Path:
        return self.dir / f"{start:020d}{_SUFFIX}"

    def close(self) -> None:
        self._active.close()
        os.close(self._lock)


def _read_entry(f: IO[bytes], position: int) -> Entry | None:
    frame = f.read(_FRAME.size)
    if len(frame) < _FRAME.size:
        return None
    magic, head_len, body_len, crc = _FRAME.unpack(frame)
    if magic != MAGIC:
        return None
    head = f.read(head_len)
    body = f.read(body_len)
    if len(head) < head_len or len(body) < body_len or zlib.crc32(body, zlib.crc32(head)) != crc:
        return None
    return Entry(position, position + _FRAME.size + head_len + body_len, orjson.loads(head), body)


def _next_intact(f: IO[bytes], start: int, position: int, limit: int) -> int:
    """Where the first intact entry after the damaged one at `position` starts, below `limit`;
    else `limit`. (`start`: the segment's position.)"""
    f.seek(position + 1 - start)
    data = f.read(limit - position - 1)
    at = data.find(MAGIC)
    while at >= 0:
        f.seek(position + 1 + at - start)
        if _read_entry(f, position + 1 + at) is not None:
            return position + 1 + at
        at = data.find(MAGIC, at + 1)
    return limit


def _valid_length(path: Path) -> int:
    """How many bytes at the start of a segment end in an intact entry: a damaged stretch with
    intact entries after it is kept (the drain skips it), a torn end is not."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        pos = valid = 0
        while pos < size:
            entry = _read_entry(f, pos)
            if entry is None:
                pos = _next_intact(f, 0, pos, size)
                f.seek(pos)
                continue
            pos = valid = entry.end
        return valid


def _lock(directory: Path) -> int:
    fd = os.open(directory / "LOCK", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise SpoolError(f"spool {directory} is in use by another process (PID {holder}): stop it first") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    return fd


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
