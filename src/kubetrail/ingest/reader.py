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


def records(stream: io.BufferedReader[Any], decoders: tuple[BytesDecoder, ...] = ()) -> Iterator[Record | Skipped]:
    """Records of a stream, in order. `decoders` try to read a binary document (protobuf)."""
    if _CONTROL.search(stream.peek(512)[:512]):
        yield _binary(stream.read(), 1, 0, decoders)
        return
    line_no = 0
    offset = 0
    seen_record = False
    for raw_line in stream:
        line_no += 1
        start = offset
        offset += len(raw_line)
        text = raw_line.strip()
        if not text or text.startswith(b"//"):
            yield Skipped(line_no)
            continue
        if not seen_record and text[-1:] in (b"{", b"["):
            # A pretty-printed document (or several): read the rest whole.
            yield from _document(raw_line + stream.read(), line_no, start)
            return
        seen_record = True
        yield from _line_records(line_no, start, text)


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


def _binary(data: bytes, line: int, offset: int, decoders: tuple[BytesDecoder, ...]) -> Record:
    for decode in decoders:
        value = decode(data)
        if value is not None:
            return Record(line, offset, data, value)
    return Record(line, offset, data[:4096], error="binary input that no source can decode")


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
