"""One module per producer. Each module defines `SOURCE`, a `Source`: how to recognise one
of its records and how to turn it into normalized events (pure functions of the parsed record).

Adding a source is adding a module here: `registry()` discovers every module of this package
that defines `SOURCE`, so nothing else needs editing.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from kubetrail.model import Event


class NormalizeError(ValueError):
    """A record of a known source that lacks what it needs; it goes to quarantine with this message."""


Detect = Callable[[Any], bool]
# A normalizer sees the record alone: it fills `sensor_cluster` with the name the record carries,
# and the pipeline names the event's `cluster` (--cluster, or the ingest's one name).
Normalize = Callable[[Any], Iterable[Event]]


@dataclass(frozen=True, slots=True)
class Source:
    name: str  # the `source` column value and the --source value
    detect: Detect  # True when a parsed JSON value is one of this source's records
    normalize: Normalize  # parsed record -> events; raises NormalizeError for bad records
    # Lower runs first when several sources are tried on one record.
    order: int = 100
    # Reads a binary document (e.g. OTLP protobuf) into the value `normalize` takes, or None
    # when the bytes are not this source's.
    decode_bytes: Callable[[bytes], Any] | None = None
    # False when a record of this source certainly holds nothing to redact, so the text scan
    # for secret material can be skipped (None: always scan).
    may_hold_secrets: Callable[[Any], bool] | None = None


@cache
def registry() -> dict[str, Source]:
    """Every source module of this package, by name, in detection order."""
    found: list[Source] = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        source = getattr(module, "SOURCE", None)
        if isinstance(source, Source):
            found.append(source)
    return {s.name: s for s in sorted(found, key=lambda s: (s.order, s.name))}


def detect(record: Any, hint: Source | None = None) -> Source | None:
    """The source a record belongs to; `hint` (the previous record's source) is tried first."""
    if hint is not None and hint.detect(record):
        return hint
    for source in registry().values():
        if source is not hint and source.detect(record):
            return source
    return None
