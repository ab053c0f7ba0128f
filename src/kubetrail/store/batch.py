"""Events to Arrow: the columnar batch every store takes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

from kubetrail.model import CLASSES, FIELD_NAMES, Event, catalog

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


# Per class: its kinds, and the fields it has no column for.
_OUTSIDE: Final = tuple((pa.array(c.kinds), tuple(f for f in FIELD_NAMES if f not in c.fields)) for c in CLASSES)


def misfits(table: pa.Table) -> dict[int, str]:
    """Rows holding a field that their class's table has no column for (a normalizer's bug the
    store would otherwise drop): row -> the first such field. Columns no row fills are skipped,
    so a batch without misfits costs a few null counts."""
    out: dict[int, str] = {}
    for kinds, outside in _OUTSIDE:
        mask = None
        for name in outside:
            column = table[name]
            if column.null_count == len(column):
                continue
            if mask is None:
                mask = pc.is_in(table["kind"], value_set=kinds)
                if not pc.any(mask).as_py():
                    break
            for row in pc.indices_nonzero(pc.and_(mask, pc.is_valid(column)).combine_chunks()).to_pylist():
                out.setdefault(row, name)
    return out
