"""Ingest: inputs -> records -> (redact, detect, normalize) -> batches -> store.

A record that cannot be read or normalized is quarantined with its file, line and reason; the
batch goes on. Memory is bounded by the batch size, whatever the input size.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec
import orjson

from kubetrail.ingest.reader import Record, Skipped, open_input, records
from kubetrail.model import KINDS, Event
from kubetrail.redact import needs_redaction, redact, redact_text
from kubetrail.sources import Context, NormalizeError, Source, detect, registry
from kubetrail.store import FileResult, QuarantineRow, Store
from kubetrail.store.batch import to_arrow

BATCH_EVENTS: Final = 20_000
_KINDS: Final = frozenset(KINDS)
_encode = msgspec.msgpack.Encoder().encode


@dataclass
class FileSummary:
    path: str
    source: str | None
    ingested: int
    quarantined: int

    def as_json(self) -> dict[str, Any]:
        return {"path": self.path, "source": self.source, "ingested": self.ingested, "quarantined": self.quarantined}


@dataclass
class Summary:
    ingested: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    conflicts: int = 0
    quarantined: int = 0
    skipped_lines: int = 0
    files: list[FileSummary] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "ingested": dict(sorted(self.ingested.items())),
            "duplicates": self.duplicates,
            "conflicts": self.conflicts,
            "quarantined": self.quarantined,
            "skipped_lines": self.skipped_lines,
            "files": [f.as_json() for f in self.files],
        }


Progress = Callable[[str, int], None]  # (path, bytes read so far)


@dataclass(frozen=True)
class Options:
    source: Source | None = None  # --source: skip detection
    cluster: str | None = None  # --cluster
    batch_events: int = BATCH_EVENTS


def ingest(store: Store, paths: Iterable[str], options: Options, progress: Progress | None = None) -> Summary:
    summary = Summary()
    for path in paths:
        _FileIngest(store, path, options, summary, progress).run()
    return summary


class _FileIngest:
    """Reads one input into the store and adds its counts to the run's summary."""

    def __init__(self, store: Store, path: str, options: Options, summary: Summary, progress: Progress | None) -> None:
        self.store, self.path, self.options, self.summary, self.progress = store, path, options, summary, progress
        self.ctx = Context(cluster=options.cluster)
        self.default_cluster = options.cluster or "default"
        self.events: list[Event] = []
        self.quarantine: list[QuarantineRow] = []
        self.sources: Counter[str] = Counter()
        self.by_source: Counter[str] = Counter()
        self.records = self.ingested = self.duplicates = self.conflicts = self.quarantined = self.skipped = 0
        self.file_id = 0

    def run(self) -> None:
        self.file_id = self.store.begin_file(self.path)
        stream, hasher = open_input(self.path)
        decoders = tuple(d for s in registry().values() if (d := s.decode_bytes) is not None)
        hint = self.options.source
        with stream:
            for n, item in enumerate(records(stream, decoders)):
                if isinstance(item, Skipped):
                    self.skipped += 1
                    continue
                self.records += 1
                hint = self._record(item, hint) or hint
                if len(self.events) >= self.options.batch_events:
                    self._flush()
                if self.progress and n % 4096 == 0:
                    self.progress(self.path, hasher.size)
        self._flush()
        top = self.sources.most_common(1)
        result = FileResult(
            sha256=hasher.sha256.hexdigest(),
            size=hasher.size,
            source=top[0][0] if top else None,
            records=self.records,
            ingested=self.ingested,
            duplicates=self.duplicates,
            conflicts=self.conflicts,
            quarantined=self.quarantined,
            skipped_lines=self.skipped,
        )
        self.store.finish_file(self.file_id, result)
        self._add_to_summary(result)

    def _record(self, rec: Record, hint: Source | None) -> Source | None:
        """Normalize one record into the pending batch; returns its source (the next hint)."""
        if rec.error is not None:
            self._quarantine(rec, None, rec.error, redact_text(rec.text.decode("utf-8", "replace")))
            return None
        redacted = needs_redaction(rec.text) and redact(rec.value)
        source = self.options.source or detect(rec.value, hint)
        if source is None:
            self._quarantine(rec, None, f"not a record of any known source ({_shape(rec.value)})", _raw(rec, redacted))
            return None
        try:
            events = list(source.normalize(rec.value, self.ctx))
            for event in events:
                _check(event)
        except (NormalizeError, msgspec.ValidationError) as exc:
            self._quarantine(rec, source.name, f"{source.name}: {exc}", _raw(rec, redacted))
            return source
        except Exception as exc:  # a normalizer bug must not stop the batch: keep the record, say why
            self._quarantine(rec, source.name, f"{source.name}: {type(exc).__name__}: {exc}", _raw(rec, redacted))
            return source
        raw = _raw(rec, redacted)
        for event in events:
            self._finish(event, rec, raw)
        self.sources[source.name] += 1
        return source

    def _finish(self, event: Event, rec: Record, raw: str) -> None:
        if event.cluster is None:
            event.cluster = self.default_cluster
        own_raw, fmt = event.raw, event.format
        event.raw = event.format = None  # the same event by another path (format) is the same content
        event.content_hash = hashlib.blake2b(_encode(event), digest_size=8).hexdigest()
        event.raw = own_raw if own_raw is not None else raw
        event.format = fmt
        event.file_id, event.line, event.byte_offset = self.file_id, rec.line, rec.offset
        self.events.append(event)

    def _quarantine(self, rec: Record, source: str | None, reason: str, raw: str) -> None:
        self.quarantined += 1
        self.quarantine.append(
            QuarantineRow(self.file_id, rec.line, rec.offset, source, f"{self.path}:{rec.line}: {reason}", raw)
        )

    def _flush(self) -> None:
        if self.events:
            counts = self.store.write_events(to_arrow(self.events))
            self.by_source.update(counts.stored)
            self.ingested += sum(counts.stored.values())
            self.duplicates += counts.duplicates
            self.conflicts += counts.conflicts
            self.events = []
        if self.quarantine:
            self.store.write_quarantine(self.quarantine)
            self.quarantine = []

    def _add_to_summary(self, result: FileResult) -> None:
        s = self.summary
        s.ingested.update(self.by_source)
        s.duplicates += self.duplicates
        s.conflicts += self.conflicts
        s.quarantined += self.quarantined
        s.skipped_lines += self.skipped
        s.files.append(FileSummary(self.path, result.source, self.ingested, self.quarantined))


def _check(event: Event) -> None:
    if event.kind not in _KINDS:
        raise NormalizeError(f"unknown kind {event.kind!r}")
    if not isinstance(event.time, int) or event.time <= 0:
        raise NormalizeError(f"no usable time ({event.time!r})")


def _raw(rec: Record, redacted: bool) -> str:
    if redacted:
        return orjson.dumps(rec.value).decode()
    return rec.text.decode("utf-8", "replace")


def _shape(value: Any) -> str:
    if isinstance(value, dict):
        keys = ", ".join(sorted(value)[:8])
        return f"object with keys: {keys}" if keys else "empty object"
    return f"a JSON {type(value).__name__}"
