"""Framing: turn an input stream into records, each with its line and byte offset.

Handles what real files look like: JSON lines; one pretty-printed JSON document per file (or
several concatenated); a JSON array of records; `//` comment lines and blank lines (skipped and
counted); lines prefixed by a timestamp (CloudWatch Logs exports); binary documents (OTLP
protobuf) recognised by a source's `decode_bytes`. Memory stays bounded on JSON-lines input of
any size; a single document is read whole.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

_PREFIXED = re.compile(rb"^(\d{4}-\d\d-\d\dT\S+)\s+([\[{].*)$", re.S)


@dataclass(slots=True)
class Record:
    line: int  # 1-based line where the record starts
    offset: int  # byte offset in the (decompressed) stream
    text: bytes  # the record's own bytes, as read
    value: Any = None  # parsed JSON value, when parsing succeeded
    error: str | None = None  # why it could not be parsed


@dataclass(slots=True)
class Skipped:
    """A line that is not a record at all (blank, `//` comment)."""

    line: int


class HashingReader(io.RawIOBase):
    """Wraps a binary file; hashes and counts every byte read (the file's sha256 and size)."""

    def __init__(self, raw: IO[bytes]) -> None:
        super().__init__()
        self._raw = raw
        self.sha256 = hashlib.sha256()
        self.size = 0

    def readinto(self, buf: Any) -> int:
        data = self._raw.read(len(buf))
        self.sha256.update(data)
        self.size += len(data)
        buf[: len(data)] = data
        return len(data)

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        if self._raw is not sys.stdin.buffer:
            self._raw.close()
        super().close()


def open_input(path: str) -> tuple[io.BufferedReader[Any], HashingReader]:
    """A decompressing, peekable binary stream over `path` ('-' = stdin) and the hasher of its raw bytes."""
    raw: IO[bytes] = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115
    hasher = HashingReader(raw)
    buffered = io.BufferedReader(hasher, buffer_size=1 << 20)
    if path.endswith(".gz") or buffered.peek(2)[:2] == b"\x1f\x8b":
        return io.BufferedReader(gzip.GzipFile(fileobj=buffered, mode="rb"), buffer_size=1 << 20), hasher
    return buffered, hasher


BytesDecoder = Callable[[bytes], Any]
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")


CHUNK_BYTES = 2 << 20
BINARY_MAX_BYTES = 64 << 20  # a binary document (an OTLP/HTTP body) is read whole up to this size


@dataclass(slots=True)
class Chunk:
    """A run of whole input lines (framed where it is read, possibly in a worker process), or
    records already framed (documents and binary input, which are read whole)."""

    line: int  # line number of the first line of `data`
    offset: int  # byte offset of `data`
    data: bytes = b""
    framed: list[Record | Skipped] | None = None


def records(stream: io.BufferedReader[Any], decoders: tuple[BytesDecoder, ...] = ()) -> Iterator[Record | Skipped]:
    """Records of a stream, in order. `decoders` try to read a binary document (protobuf)."""
    for chunk in chunks(stream, decoders):
        yield from records_of(chunk)


def chunks(stream: io.BufferedReader[Any], decoders: tuple[BytesDecoder, ...] = (), size: int = CHUNK_BYTES) -> Iterator[Chunk]:
    """Split a stream into chunks. JSON lines give chunks of about `size` bytes of whole lines;
    a stream whose first record opens a multi-line document is framed whole."""
    if _CONTROL.search(stream.peek(512)[:512]):
        head = stream.read(BINARY_MAX_BYTES + 1)
        if len(head) <= BINARY_MAX_BYTES:
            decoded = _decode_binary(head, decoders)
            if decoded is not None:
                yield Chunk(1, 0, framed=[decoded])
                return
        # Not a binary document after all (e.g. a damaged line of text): read it as lines.
        stream = io.BufferedReader(_Prepend(head, stream), buffer_size=1 << 20)
    leading: list[Record | Skipped] = []
    offset = 0
    for line_no, raw_line in enumerate(stream, start=1):
        text = raw_line.strip()
        if not text or text.startswith(b"//"):
            leading.append(Skipped(line_no))
            offset += len(raw_line)
            continue
        if text[-1:] in (b"{", b"["):  # a pretty-printed document (or several): read the rest whole
            yield Chunk(line_no, offset, framed=leading + list(_document(raw_line + stream.read(), line_no, offset)))
            return
        if leading:
            yield Chunk(1, 0, framed=leading)
        yield from _line_chunks(raw_line, stream, line_no, offset, size)
        return
    if leading:
        yield Chunk(1, 0, framed=leading)


def _line_chunks(first: bytes, stream: io.BufferedReader[Any], line: int, offset: int, size: int) -> Iterator[Chunk]:
    data = first + stream.read(size) + stream.readline()
    while data:
        yield Chunk(line, offset, data)
        line += data.count(b"\n")
        offset += len(data)
        data = stream.read(size) + stream.readline()


def records_of(chunk: Chunk) -> Iterator[Record | Skipped]:
    if chunk.framed is not None:
        yield from chunk.framed
        return
    offset = chunk.offset
    line = chunk.line
    loads = orjson.loads
    lines = chunk.data.split(b"\n")
    if not lines[-1]:
        lines.pop()  # the data ends with a newline
    for raw_line in lines:
        # Fast path: a plain JSON object on its line (orjson ignores surrounding whitespace).
        if raw_line[:1] == b"{" and raw_line[-1:] == b"}":
            try:
                yield Record(line, offset, raw_line, loads(raw_line))
            except orjson.JSONDecodeError:
                yield from _line_records(line, offset, raw_line)
        else:
            text = raw_line.strip()
            if not text or text.startswith(b"//"):
                yield Skipped(line)
            else:
                yield from _line_records(line, offset, text)
        offset += len(raw_line) + 1
        line += 1


def _line_records(line: int, offset: int, text: bytes) -> Iterator[Record]:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        prefixed = _PREFIXED.match(text)
        if prefixed:
            yield _prefixed_record(line, offset, text, prefixed.group(2))
        else:
            yield Record(line, offset, text, error=f"invalid JSON: {exc}")
        return
    yield from _values(value, line, offset, text)


def _prefixed_record(line: int, offset: int, text: bytes, body: bytes) -> Record:
    try:
        return Record(line, offset, text, orjson.loads(body))
    except orjson.JSONDecodeError as exc:
        return Record(line, offset, text, error=f"invalid JSON after timestamp prefix: {exc}")


def _values(value: Any, line: int, offset: int, text: bytes) -> Iterator[Record]:
    if isinstance(value, list):  # a JSON array of records
        for item in value:
            yield Record(line, offset, orjson.dumps(item), item)
    else:
        yield Record(line, offset, text, value)


def _document(data: bytes, line: int, offset: int) -> Iterator[Record | Skipped]:
    """One or more JSON documents, possibly pretty-printed, one after another. If they do not
    parse, fall back to reading the text line by line so that no valid line is lost."""
    text = data.decode("utf-8", errors="replace")
    decoder = json.JSONDecoder()
    out: list[Record] = []
    pos = 0
    while (start := _skip_ws(text, pos)) < len(text):
        try:
            value, pos = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            yield from _lines_of(data, line, offset)
            return
        start_line = line + text.count("\n", 0, start)
        start_offset = offset + len(text[:start].encode())
        out.extend(_values(value, start_line, start_offset, text[start:pos].encode()))
    yield from out


def _lines_of(data: bytes, line: int, offset: int) -> Iterator[Record | Skipped]:
    for i, raw_line in enumerate(data.splitlines(keepends=True)):
        text = raw_line.strip()
        if not text or text.startswith(b"//"):
            yield Skipped(line + i)
        else:
            yield from _line_records(line + i, offset, text)
        offset += len(raw_line)


def _decode_binary(data: bytes, decoders: tuple[BytesDecoder, ...]) -> Record | None:
    for decode in decoders:
        value = decode(data)
        if value is not None:
            return Record(1, 0, orjson.dumps(value), value)
    return None


class _Prepend(io.RawIOBase):
    """`head` followed by the rest of `tail`, as one raw stream."""

    def __init__(self, head: bytes, tail: IO[bytes]) -> None:
        super().__init__()
        self._head = memoryview(head)
        self._tail = tail

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        if self._head:
            n = min(len(buf), len(self._head))
            buf[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._tail.read(len(buf))
        buf[: len(data)] = data
        return len(data)


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and (text[pos].isspace() or text.startswith("//", pos)):
        if text.startswith("//", pos):
            nl = text.find("\n", pos)
            pos = len(text) if nl < 0 else nl
        pos += 1
    return pos


# In a directory walk, documentation beside the data is not input (a named file always is).
_NOT_DATA = frozenset({".md", ".rst", ".html", ".pdf", ".png", ".jpg", ".sha256"})


def expand_paths(args: list[str]) -> Iterator[str]:
    """Files named by CLI arguments: files, directories (recursively, sorted, skipping hidden
    files and documentation such as README.md), globs, '-'."""
    for arg in args:
        if arg == "-":
            yield arg
            continue
        path = Path(arg)
        if path.is_dir():
            yield from (
                str(p)
                for p in sorted(path.rglob("*"))
                if p.is_file() and not p.name.startswith(".") and p.suffix not in _NOT_DATA
            )
        elif path.exists():
            yield arg
        elif any(ch in arg for ch in "*?["):
            matches = sorted(Path().glob(arg)) if not path.is_absolute() else sorted(Path("/").glob(arg.lstrip("/")))
            if not matches:
                raise FileNotFoundError(f"{arg}: no file matches")
            yield from (str(p) for p in matches if p.is_file())
        else:
            raise FileNotFoundError(f"{arg}: no such file or directory")
