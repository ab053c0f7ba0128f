"""Framing of real-world inputs into records with line numbers and offsets."""

from __future__ import annotations

import io
from pathlib import Path

from kubetrail.ingest.reader import Record, Skipped, open_input, records


def frame(data: bytes) -> list[Record | Skipped]:
    return list(records(io.BufferedReader(io.BytesIO(data))))  # type: ignore[arg-type]


def test_json_lines_keep_line_numbers_and_byte_offsets() -> None:
    out = frame(b'{"a":1}\n\n{"b":2}\n')
    assert [(type(r).__name__, r.line) for r in out] == [("Record", 1), ("Skipped", 2), ("Record", 3)]
    third = out[2]
    assert isinstance(third, Record) and third.offset == 9 and third.value == {"b": 2}


def test_comment_lines_are_skipped_not_quarantined() -> None:
    out = frame(b'// exported by hubble\n// second\n\n{"flow":{}}\n')
    assert [type(r).__name__ for r in out] == ["Skipped", "Skipped", "Skipped", "Record"]


def test_a_pretty_printed_document_is_one_record_starting_at_its_line() -> None:
    out = frame(b'\n{\n  "process_exec": {\n    "x": 1\n  }\n}\n')
    recs = [r for r in out if isinstance(r, Record)]
    assert len(recs) == 1 and recs[0].line == 2 and recs[0].value == {"process_exec": {"x": 1}}


def test_concatenated_pretty_documents_are_separate_records() -> None:
    out = [r for r in frame(b'{\n "a": 1\n}\n{\n "b": 2\n}\n') if isinstance(r, Record)]
    assert [(r.line, r.value) for r in out] == [(1, {"a": 1}), (4, {"b": 2})]


def test_a_broken_document_falls_back_to_lines_so_valid_lines_survive() -> None:
    out = [r for r in frame(b'{\n{"ok": 1}\n') if isinstance(r, Record)]
    assert [r.error is None for r in out] == [False, True]
    assert out[1].value == {"ok": 1}


def test_a_corrupt_line_in_json_lines_is_one_error_not_the_rest_of_the_file() -> None:
    out = [r for r in frame(b'{"a":1}\n{"b":\n{"c":3}\n') if isinstance(r, Record)]
    assert [r.error is None for r in out] == [True, False, True]
    assert out[1].line == 2 and "invalid JSON" in (out[1].error or "")


def test_timestamp_prefixed_lines_from_cloudwatch_exports_are_read() -> None:
    out = frame(b'2023-05-10T14:09:17.699Z {"kind":"Event"}\n')
    assert isinstance(out[0], Record) and out[0].value == {"kind": "Event"}


def test_a_json_array_is_a_list_of_records() -> None:
    out = [r for r in frame(b'[{"a":1},{"b":2}]\n') if isinstance(r, Record)]
    assert [r.value for r in out] == [{"a": 1}, {"b": 2}]


def test_binary_input_goes_to_decoders_else_its_lines_are_errors() -> None:
    data = b"\x0a\x02\x08\x01binary"
    stream = io.BufferedReader(io.BytesIO(data))  # type: ignore[arg-type]
    decoded = list(records(stream, (lambda b: {"decoded": len(b)},)))
    assert isinstance(decoded[0], Record) and decoded[0].value == {"decoded": len(data)}
    failed = [r for r in frame(data) if isinstance(r, Record)]
    assert failed and all(r.error for r in failed)


def test_a_damaged_first_line_does_not_make_the_file_binary() -> None:
    out = [r for r in frame(b'\x00{"a":1}\n{"b":2}\n') if isinstance(r, Record)]
    assert [r.value for r in out] == [None, {"b": 2}] and out[0].error


def test_file_hash_and_size_cover_the_compressed_bytes(tmp_path: Path) -> None:
    import gzip
    import hashlib

    path = tmp_path / "x.json.gz"
    path.write_bytes(gzip.compress(b'{"a":1}\n'))
    stream, hasher = open_input(str(path))
    with stream:
        assert [r.value for r in records(stream) if isinstance(r, Record)] == [{"a": 1}]
    assert hasher.sha256.hexdigest() == hashlib.sha256(path.read_bytes()).hexdigest()
    assert hasher.size == path.stat().st_size
