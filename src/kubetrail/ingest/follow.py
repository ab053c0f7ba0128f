"""`ingest --follow`: export files tailed into the store as they grow (Tetragon's JSON export,
Hubble's exporter file, `hubble observe --follow -o jsonpb` on stdin).

A `Follower` reads what its file gained since the last `poll()`, whole lines only (a partial last
line waits for its newline), and returns it placed at its line and byte offset with the `Cursor`
to store with it: `follow:<absolute path>`, the byte offset consumed, and the file's identity
(st_dev, st_ino, sha256 of its first up-to-4 KiB consumed: the "head", and the line reached).
`follow()` polls its followers every 0.2 s and writes each file's lines in groups (4 MiB waiting,
or the oldest line waiting 0.5 s), one `LiveWriter.write` (one transaction) per group, so a
restart resumes exactly where the last committed group stopped: nothing read twice.

Rotation:
- by rename (logrotate `create`, Tetragon's and Hubble's own rotation): the open file is read to
  its end, its last unterminated line included, then the new file at PATH from offset 0;
- by copytruncate (the file truncated in place: smaller than the offset, or its head changed, as
  when a file is rewritten over the same inode): the copy beside it (same name stem, same head) is
  read from the offset to its end, then PATH from 0. What was written between the copy and the
  truncation is lost to everyone: each truncation is a `Gap`, with the bytes seen but not read
  (size at the last read minus offset) when no copy holds them, reported and returned.
A restart that finds another file at PATH looks for the file it followed beside it (by inode, or by
head for a copy), finishes it, then reads PATH from 0; when it is gone, that is a gap too.
Each file read is its own `files` row (a rotated file's lines restart at 1).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import select
import signal
import stat
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

import orjson

from kubetrail.ingest.clusters import Naming, name_clusters
from kubetrail.ingest.live import Body, LiveResult, LiveWriter
from kubetrail.ingest.pipeline import FileSummary, Summary
from kubetrail.store import Cursor, Store

HEAD_BYTES = 4096  # the head that identifies a file beside its (st_dev, st_ino)
GROUP_BYTES = 4 << 20  # a group is written once this much waits...
LINGER_SECONDS = 0.5  # ... or once its oldest line has waited this long
POLL_SECONDS = 0.2
STDIN = "-"

Notify = Callable[[str], None]


class FollowError(ValueError):
    """A path that cannot be followed, or a cursor that cannot be resumed from; says which and why."""


@dataclass(frozen=True, slots=True)
class FollowOptions:
    source: str | None = None  # --source: every record is of this source
    cluster: str | None = None  # --cluster
    poll_seconds: float = POLL_SECONDS
    linger_seconds: float = LINGER_SECONDS
    group_bytes: int = GROUP_BYTES


@dataclass(frozen=True, slots=True)
class Gap:
    """Where lines may be missing: a file truncated in place (copytruncate, or rewritten over its
    inode), or replaced while not followed with the file followed before gone."""

    path: str
    kind: str  # "truncated" or "replaced"
    offset: int  # the offset read up to in the file that went
    lost: int  # bytes seen there but not read and not found in a copy (a lower bound: later writes were never seen)
    copy: str | None = None  # the copy the rest was read from

    def message(self) -> str:
        lost = f" ({self.lost} bytes seen but not read)" if self.lost else ""
        then = f"the rest read from its copy {self.copy}" if self.copy else "reading it again from its start"
        if self.kind == "truncated":
            return (f"{self.path} was truncated in place after {self.offset} bytes were read: lines written between "
                    f"the copy and the truncation are missing{lost}; {then}")  # fmt: skip
        return (f"{self.path} was replaced while not followed and the file followed before is gone: what it held "
                f"after byte {self.offset} was not read{lost}; reading the new file from its start")  # fmt: skip

    def as_json(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "offset": self.offset, "bytes_possibly_lost": self.lost, "copy": self.copy}


@dataclass(frozen=True, slots=True)
class Group:
    """What a poll read: whole lines of one file, and where that file then stands."""

    body: Body
    cursor: Cursor | None  # None: stdin, never resumed
    fresh: bool = False  # the first lines of a file read from its start: its own `files` row


class Tail(Protocol):
    """A followed input: a file (`Follower`) or a stream (`StreamFollower`)."""

    name: str
    done: bool  # nothing more will come (a stream at its end); a file never is

    def poll(self) -> Group | None: ...

    def take_gaps(self) -> list[Gap]: ...

    def describe(self) -> str: ...


@dataclass
class _Open:
    """A file being read."""

    file: IO[bytes]
    origin: str  # the path it was opened as
    dev: int
    ino: int
    offset: int = 0  # bytes consumed (whole lines)
    line: int = 1  # line of the byte at `offset`
    head: bytes = b""  # its first up-to-HEAD_BYTES consumed bytes
    size: int = 0  # its size at the last read
    fresh: bool = True
    finishing: bool = False  # PATH names another file now: read this one to its end, then switch

    def state(self) -> str:
        head = hashlib.sha256(self.head).hexdigest()
        doc = {"dev": self.dev, "ino": self.ino, "head_sha256": head, "head_bytes": len(self.head)}
        return orjson.dumps(doc | {"line": self.line, "size": self.size}).decode()


@dataclass(frozen=True, slots=True)
class _Saved:
    """A follower's stored cursor."""

    position: int
    dev: int
    ino: int
    head_sha256: str
    head_bytes: int
    line: int
    size: int

    @classmethod
    def parse(cls, cursor: Cursor) -> _Saved:
        try:
            doc = orjson.loads(cursor.state or "")
            dev, ino, head_bytes, line, size = (int(doc[k]) for k in ("dev", "ino", "head_bytes", "line", "size"))
            return cls(cursor.position, dev, ino, str(doc["head_sha256"]), head_bytes, line, size)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            what = f"cursor {cursor.name!r} holds no file identity ({exc})"
            raise FollowError(f"{what}: delete it from the store's cursors table to read the file again") from exc


class Follower:
    """One file at PATH, followed across rotations; `poll()` returns what it gained."""

    def __init__(self, path: str, saved: Cursor | None = None, options: FollowOptions | None = None) -> None:
        self.path = os.path.abspath(path)
        self.name = f"follow:{self.path}"
        self.done = False
        self._options = options or FollowOptions()
        self._saved = _Saved.parse(saved) if saved is not None else None
        self._open: _Open | None = None
        self._gaps: list[Gap] = []

    def poll(self) -> Group | None:
        if self._open is None:
            self._open = self._first()
            if self._open is None:
                return None  # PATH is not there (yet): a rotation in progress
        self._check_in_place(self._open)
        f = self._open
        if f is None:
            return None
        return self._read(f) or self._rotate(f)

    def take_gaps(self) -> list[Gap]:
        gaps, self._gaps = self._gaps, []
        return gaps

    def describe(self) -> str:
        f, saved = self._open, self._saved
        if f is None:
            return f"{self.path} at byte {saved.position} (line {saved.line})" if saved else f"{self.path} from its start"
        return f"{self.path} at byte {f.offset} (line {f.line})" + (f" of {f.origin}, then the new file" if f.finishing else "")

    def close(self) -> None:
        if self._open is not None:
            self._open.file.close()
            self._open = None

    # -- opening and resuming

    def _first(self) -> _Open | None:
        try:
            f = _open(self.path)
        except FileNotFoundError:
            return None
        saved, self._saved = self._saved, None  # resumed once; later opens are of new files
        if saved is None:
            return f
        same = (f.dev, f.ino) == (saved.dev, saved.ino)
        if same and _resumable(f.file, saved):
            return _resume(f, saved)
        found = _previous(self.path, saved, exclude=(f.dev, f.ino))
        previous = _resume(found, saved, finishing=True) if found is not None else None
        if previous is None or same:  # truncated while not followed (the copy holds what was read and more), or gone
            lost = max(0, saved.size - (previous.size if previous else saved.position))
            copy = found.origin if found else None
            self._gaps.append(Gap(self.path, "truncated" if same else "replaced", saved.position, lost, copy))
        if previous is None:
            return f
        f.file.close()
        return previous

    def _check_in_place(self, f: _Open) -> None:
        """A file truncated or rewritten in place: read its copy from the offset, else start again."""
        size = os.fstat(f.file.fileno()).st_size
        if size >= f.offset and os.pread(f.file.fileno(), len(f.head), 0) == f.head:
            return
        here = _Saved(f.offset, f.dev, f.ino, hashlib.sha256(f.head).hexdigest(), len(f.head), f.line, f.size)
        found = None if f.finishing else _previous(self.path, here, exclude=(f.dev, f.ino), by_inode=False)
        copy = _resume(found, here, finishing=True) if found is not None else None
        lost = max(0, f.size - (copy.size if copy else f.offset))
        self._gaps.append(Gap(self.path, "truncated", f.offset, lost, copy.origin if copy else None))
        if copy is not None:
            f.file.close()
            copy.origin = f.origin  # the same lines at the same offsets: the same files row
            self._open = copy
        elif f.finishing:  # a rotated file emptied before it was read to its end: on to the path's file
            f.file.close()
            self._open = None
        else:
            f.offset, f.line, f.head, f.size, f.fresh = 0, 1, b"", 0, True

    def _rotate(self, f: _Open) -> Group | None:
        """Nothing new here: when PATH names another file, this one's last partial line, then the new file."""
        if not f.finishing:
            try:
                st = os.stat(self.path)
            except FileNotFoundError:
                return None  # renamed, the new one not created yet
            if (st.st_dev, st.st_ino) == (f.dev, f.ino):
                return None
            f.finishing = True
        tail = self._read(f, final=True)
        if tail is not None:
            return tail
        try:
            new = _open(self.path)
        except FileNotFoundError:
            return None
        f.file.close()
        self._open = new
        return self._read(new)

    # -- reading

    def _read(self, f: _Open, *, final: bool = False) -> Group | None:
        data = _whole_lines(f, self._options.group_bytes, final=final)
        if not data:
            return None
        body = Body(data, f.origin, self._options.source, self._options.cluster, line=f.line, offset=f.offset)
        f.offset += len(data)
        f.line += data.count(b"\n")
        if len(f.head) < HEAD_BYTES:
            f.head += data[: HEAD_BYTES - len(f.head)]
        fresh, f.fresh = f.fresh, False
        return Group(body, Cursor(self.name, f.offset, f.state()), fresh)


class StreamFollower:
    """A stream (stdin) read until its end, whole lines at a time; never resumed."""

    def __init__(self, fd: int, options: FollowOptions | None = None, origin: str = STDIN) -> None:
        self.name = origin
        self.done = False
        self._fd = fd
        self._options = options or FollowOptions()
        self._buffer = b""  # read, not yet returned: a partial line
        self._offset = 0
        self._line = 1

    def poll(self) -> Group | None:
        limit = self._options.group_bytes
        while not self.done and len(self._buffer) < limit and select.select([self._fd], [], [], 0)[0]:
            data = os.read(self._fd, limit)
            self.done = not data
            self._buffer += data
        end = len(self._buffer) if self.done else self._buffer.rfind(b"\n") + 1
        if not end:
            return None
        data, self._buffer = self._buffer[:end], self._buffer[end:]
        opts = self._options
        body = Body(data, self.name, opts.source, opts.cluster, line=self._line, offset=self._offset)
        fresh = self._offset == 0
        self._offset += len(data)
        self._line += data.count(b"\n")
        return Group(body, None, fresh)

    def take_gaps(self) -> list[Gap]:
        return []

    def describe(self) -> str:
        return "stdin until its end"


def _open(path: str) -> _Open:
    file = open(path, "rb")  # noqa: SIM115 -- held across polls, closed by the follower
    st = os.fstat(file.fileno())
    return _Open(file, path, st.st_dev, st.st_ino)


def _head_matches(file: IO[bytes], sha256: str, size: int) -> bool:
    head = os.pread(file.fileno(), size, 0)
    return len(head) == size and hashlib.sha256(head).hexdigest() == sha256


def _resumable(file: IO[bytes], saved: _Saved) -> bool:
    return os.fstat(file.fileno()).st_size >= saved.position and _head_matches(file, saved.head_sha256, saved.head_bytes)


def _resume(f: _Open, saved: _Saved, *, finishing: bool = False) -> _Open:
    f.offset, f.line, f.fresh, f.finishing = saved.position, saved.line, False, finishing
    f.head = os.pread(f.file.fileno(), min(HEAD_BYTES, saved.position), 0)
    f.size = os.fstat(f.file.fileno()).st_size
    return f


def _previous(path: str, saved: _Saved, *, exclude: tuple[int, int], by_inode: bool = True) -> _Open | None:
    """The file followed before, beside PATH under a name of the same stem: the same inode (renamed)
    or, with `by_inode` False or failing, the same head (a copytruncate's copy), and at least as
    long as what was read of it. The newest of several."""
    folder, name = os.path.split(path)
    stem = name.partition(".")[0]
    found: list[tuple[bool, float, str]] = []
    for entry in os.scandir(folder or "."):
        if entry.name == name or not entry.name.startswith(stem) or not entry.is_file(follow_symlinks=False):
            continue
        st = entry.stat(follow_symlinks=False)
        same_inode = (st.st_dev, st.st_ino) == (saved.dev, saved.ino)
        if (st.st_dev, st.st_ino) == exclude or st.st_size < saved.position or (saved.head_bytes == 0 and not same_inode):
            continue
        found.append((same_inode and by_inode, st.st_mtime, entry.path))
    for _, _, candidate in sorted(found, reverse=True):
        with contextlib.suppress(FileNotFoundError):
            f = _open(candidate)
            if _head_matches(f.file, saved.head_sha256, saved.head_bytes):
                return f
            f.file.close()
    return None


def _whole_lines(f: _Open, limit: int, *, final: bool) -> bytes:
    """The whole lines after the offset, about `limit` bytes (more for one longer line); with
    `final`, up to the end, an unterminated last line included."""
    fd = f.file.fileno()
    f.size = size = os.fstat(fd).st_size
    data = b""
    while f.offset + len(data) < size:
        more = os.pread(fd, min(limit, size - f.offset - len(data)), f.offset + len(data))
        if not more:
            break
        data += more
        end = data.rfind(b"\n") + 1
        if end and not final:
            return data[:end]
    return data if final else b""


# -- the loop


@dataclass
class _Pending:
    """Groups of one follower waiting to be written together."""

    first: Group
    parts: list[bytes]
    cursor: Cursor | None
    since: float
    size: int

    def joins(self, group: Group) -> bool:
        body = self.first.body
        return not group.fresh and group.body.origin == body.origin and group.body.offset == body.offset + self.size

    def add(self, group: Group) -> None:
        self.parts.append(group.body.data)
        self.cursor = group.cursor
        self.size += len(group.body.data)

    def body(self) -> Body:
        b = self.first.body
        return Body(b"".join(self.parts), b.origin, b.source, b.cluster, line=b.line, offset=b.offset)


@dataclass
class FollowResult:
    """What a follow stored, where each input stands, and the gaps found."""

    summary: Summary
    gaps: list[Gap] = field(default_factory=list)
    positions: list[str] = field(default_factory=list)  # where each input stands, as `Tail.describe()` says

    @property
    def truncations(self) -> int:
        return sum(1 for g in self.gaps if g.kind == "truncated")

    @property
    def bytes_possibly_lost(self) -> int:
        return sum(g.lost for g in self.gaps)

    def as_json(self) -> dict[str, Any]:
        """The ingest summary, and the gaps."""
        gaps = {"truncations": self.truncations, "bytes_possibly_lost": self.bytes_possibly_lost}
        return self.summary.as_json() | gaps | {"gaps": [g.as_json() for g in self.gaps], "following": self.positions}


class GroupWriter:
    """The writes of one follow: groups merged per input, written when due, summed up."""

    def __init__(self, store: Store, options: FollowOptions, notify: Notify) -> None:
        self.store = store
        self.options = options
        self.notify = notify
        self.writer = LiveWriter(store, options.cluster)
        self.pending: dict[int, _Pending] = {}
        self.summary = Summary()
        self.gaps: list[Gap] = []
        self.warnings: dict[str, None] = {}
        self.files: list[FileSummary] = []

    def round(self, tails: Sequence[Tail], now: float, *, flush: bool) -> bool:
        """Poll every input once, write what is due; whether anything was read."""
        read = False
        for index, tail in enumerate(tails):
            group = tail.poll()
            for gap in tail.take_gaps():
                self.gaps.append(gap)
                self.notify(f"warning: {gap.message()}")
            if group is not None:
                read = True
                self._add(index, group, now)
            waiting = self.pending.get(index)
            if waiting is not None and (flush or tail.done or self._due(waiting, now)):
                self._write(self.pending.pop(index))
        return read

    def flush(self) -> None:
        for index in sorted(self.pending):
            self._write(self.pending.pop(index))

    def _add(self, index: int, group: Group, now: float) -> None:
        waiting = self.pending.get(index)
        if waiting is not None and (not waiting.joins(group) or waiting.size + len(group.body.data) > self.options.group_bytes):
            self._write(self.pending.pop(index))
            waiting = None
        if waiting is None:
            self.pending[index] = _Pending(group, [group.body.data], group.cursor, now, len(group.body.data))
        else:
            waiting.add(group)

    def _due(self, waiting: _Pending, now: float) -> bool:
        return waiting.size >= self.options.group_bytes or now - waiting.since >= self.options.linger_seconds

    def _write(self, waiting: _Pending) -> None:
        body = waiting.body()
        if waiting.first.fresh and body.origin in self.writer.origins:  # a new file at the same path: a new files row
            self._retire(body.origin)
        self._count(self.writer.write([body], waiting.cursor))

    def _count(self, result: LiveResult) -> None:
        s = self.summary
        s.ingested.update(result.stored)
        s.duplicates += result.duplicates
        s.conflicts += result.conflicts
        s.quarantined += result.quarantined
        self.warnings.update(dict.fromkeys(result.warnings))

    def _retire(self, origin: str) -> None:
        o = self.writer.origins.pop(origin)
        self.files.append(FileSummary(origin, o.sources.most_common(1)[0][0] if o.sources else None, o.ingested, o.quarantined))
        self.summary.skipped_lines += o.skipped

    def result(self, tails: Sequence[Tail]) -> FollowResult:
        for origin in list(self.writer.origins):
            self._retire(origin)
        self.summary.files = self.files
        naming = name_clusters(self.options.cluster, {}, self.store.cluster_names())
        self.summary.naming = Naming(naming.name, naming.origin, (*self.warnings, *naming.warnings))
        return FollowResult(self.summary, self.gaps, [t.describe() for t in tails])


def tails(store: Store, paths: Sequence[str], options: FollowOptions, stdin: int | None = None) -> list[Tail]:
    """A follower per path ('-': stdin), resuming from its stored cursor; fails on what cannot be followed."""
    out: list[Tail] = []
    seen: set[str] = set()
    for path in paths:
        key = path if path == STDIN else os.path.abspath(path)
        if key in seen:
            continue
        seen.add(key)
        if path == STDIN:
            out.append(StreamFollower(sys.stdin.fileno() if stdin is None else stdin, options))
            continue
        _check_followable(path)
        out.append(Follower(path, store.cursor(f"follow:{key}"), options))
    return out


def _check_followable(path: str) -> None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FollowError(f"{path}: no such file: --follow takes existing files or '-'") from None
    if not stat.S_ISREG(st.st_mode):
        raise FollowError(f"{path}: not a regular file: --follow takes files or '-' (ingest a directory without --follow)")
    with open(path, "rb") as f:
        if f.read(2) == b"\x1f\x8b":
            raise FollowError(f"{path}: compressed: a compressed file does not grow; ingest it without --follow")


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def follow(
    store: Store,
    paths: Sequence[str],
    options: FollowOptions | None = None,
    stop: threading.Event | None = None,
    *,
    notify: Notify = _stderr,
    stdin: int | None = None,
) -> FollowResult:
    """Follow `paths` into `store` until `stop` is set (then read and write what is there and
    return) or every input has ended (stdin at its end). Gaps are told to `notify` as found."""
    options = options or FollowOptions()
    stop = stop or threading.Event()
    inputs = tails(store, paths, options, stdin)
    run = GroupWriter(store, options, notify)
    try:
        for tail in inputs:
            notify(f"following {tail.describe()}")
        while True:
            stopping = stop.is_set()
            read = run.round(inputs, time.monotonic(), flush=stopping)
            if stopping or all(t.done for t in inputs):
                break
            if not read:
                stop.wait(options.poll_seconds)
        run.flush()
        return run.result(inputs)
    finally:
        for tail in inputs:
            if isinstance(tail, Follower):
                tail.close()


def stop_on_signals() -> threading.Event:
    """An event set by SIGINT or SIGTERM (the follow then finishes its current group and returns)."""
    stop = threading.Event()

    def handler(signum: int, frame: object) -> None:
        # Not stop.set() here: the handler runs in the main thread, which may hold the event's
        # lock (inside stop.wait()), and set() would wait for it forever. A thread of its own
        # sets it once the main thread lets go.
        threading.Thread(target=stop.set, name="kubetrail-stop", daemon=True).start()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return stop
