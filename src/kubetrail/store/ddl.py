"""DuckDB DDL generated from the logical schema (model.CLASSES): a table per class of events and
the `events` view over them. Used to write migrations and to check them (tests/store)."""

from __future__ import annotations

from typing import Final

from kubetrail.model import CLASSES, EventClass, catalog

_FIELDS: Final = {f.name: f for f in catalog()}
# Columns the store keeps beside the event fields (not part of the catalog), with the value each
# is written with: narrow keys to find events by id (0006) and processes by sensor process id
# (0007); a class without the source column has none of its key.
STORAGE_COLUMNS: Final = {"id_key": ("id", "UBIGINT"), "exec_key": ("exec_id", "UBIGINT")}


def storage_columns(cls: EventClass) -> tuple[str, ...]:
    return tuple(name for name, (of, _) in STORAGE_COLUMNS.items() if of in cls.fields)


def class_table(cls: EventClass) -> str:
    fields = (_FIELDS[name] for name in cls.fields)
    cols = [f'    "{f.name}" {f.sql}' + (f" USING COMPRESSION {f.compression}" if f.compression else "") for f in fields]
    cols += [f"    {name} {STORAGE_COLUMNS[name][1]}" for name in storage_columns(cls)]
    return f"-- {cls.doc}\nCREATE TABLE {cls.table} (\n" + ",\n".join(cols) + "\n);\n"


def candidate_fields(cls: EventClass) -> tuple[str, ...]:
    """The columns of a class's rule candidates: its fields but the raw record."""
    return tuple(f for f in cls.fields if f != "raw")


def candidate_table(cls: EventClass) -> str:
    """The events of class `cls` that the store's covered rules match, kept at ingest."""
    cols = [f'    "{f.name}" {f.sql}' + (f" USING COMPRESSION {f.compression}" if f.compression else "")
            for f in (_FIELDS[name] for name in candidate_fields(cls))]  # fmt: skip
    return f"CREATE TABLE {cls.table}_candidates (\n" + ",\n".join(cols) + "\n);\n"


def events_view() -> str:
    """Every event in one relation, for `show` and for questions over all classes; a class's
    missing columns are NULL."""
    branches = []
    for cls in CLASSES:
        present = set(cls.fields) | set(storage_columns(cls))
        cols = [f'"{f.name}"' if f.name in present else f'NULL::{_bare(f.sql)} AS "{f.name}"' for f in catalog()]
        cols += [name if name in present else f"NULL::{sql} AS {name}" for name, (_, sql) in STORAGE_COLUMNS.items()]
        branches.append(f"SELECT {', '.join(cols)}\nFROM {cls.table}")
    return "CREATE VIEW events AS\n" + "\nUNION ALL\n".join(branches) + ";\n"


def _bare(sql: str) -> str:
    return sql.replace(" NOT NULL", "")


def schema() -> str:
    return "\n".join([*(class_table(c) for c in CLASSES), events_view()])


if __name__ == "__main__":
    print(schema(), end="")
