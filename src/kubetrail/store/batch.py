"""Events to Arrow: the columnar batch every store takes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import msgspec
import pyarrow as pa

from kubetrail.model import Event, catalog

_ARROW_TYPES: Final = {
    "VARCHAR": pa.string(),
    "JSON": pa.string(),
    "TIMESTAMP_NS": pa.timestamp("ns"),
    "BIGINT": pa.int64(),
    "INTEGER": pa.int32(),
    "BOOLEAN": pa.bool_(),
    "VARCHAR[]": pa.list_(pa.string()),
}


def _arrow_type(sql: str) -> pa.DataType:
    return _ARROW_TYPES[sql.replace(" NOT NULL", "")]


SCHEMA: Final = pa.schema([pa.field(f.name, _arrow_type(f.sql)) for f in catalog()])


def to_arrow(events: Sequence[Event]) -> pa.Table:
    rows = [msgspec.structs.astuple(e) for e in events]
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in SCHEMA]
    n = len(rows)
    arrays = [_column(col, field.type, n) for col, field in zip(columns, SCHEMA, strict=True)]
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


def _column(values: Sequence[object], type_: pa.DataType, n: int) -> pa.Array:
    # Most columns of most events are empty: skip converting them value by value.
    if values.count(None) == n:
        return pa.nulls(n, type_)
    return pa.array(values, type=type_)
