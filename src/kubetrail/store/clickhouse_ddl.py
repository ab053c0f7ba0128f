"""ClickHouse DDL generated from the logical schema (model.CLASSES), designed for the engine:

- a `ReplacingMergeTree` per class of events, ordered by (time, id, content_hash): the same event
  written twice (a retry, two writers at once) has the same sorting key and is merged into one,
  and queries read the deduplicated rows (`FINAL`); a conflict (another content under a taken id)
  differs in `content_hash`, so the engine never merges it away even when two writers race;
- `PARTITION BY` day, so that a window's query reads the days it spans and retention drops whole
  days (`TTL`);
- `LowCardinality` for the fields whose values repeat (names of clusters, namespaces, verbs...),
  `Delta`+ZSTD for times, ZSTD for long text;
- lightweight `UPDATE` for renaming a cluster (outside the sorting key, so it can change);
- skipping indexes for what the questions look up outside the time order: an event by its id
  (bloom filter) and the events of one cluster (set).

Used to write migrations (sql/clickhouse/) and to check them (tests/store)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from kubetrail.model import CLASSES, EventClass, catalog
from kubetrail.store.ddl import candidate_fields

_FIELDS: Final = {f.name: f for f in catalog()}

# Fields whose values repeat across events (at most tens of thousands of distinct values in a
# cluster): a dictionary per part makes them smaller and faster to filter and group.
LOW_CARDINALITY: Final = frozenset({
    "source", "kind", "format", "time_source", "cluster", "sensor_cluster", "node", "namespace", "container_name",
    "image", "workload_kind", "workload_name", "service_account", "actor", "impersonated_by", "audit_level",
    "stage", "verb", "resource", "subresource", "api_group", "decision", "exec_container", "parent_binary",
    "binary", "process_user", "protocol", "verdict", "drop_reason", "direction", "src_namespace", "src_workload",
    "dst_namespace", "dst_workload", "dst_service", "http_method", "http_route", "rule", "priority",
    "sensor_source", "span_kind", "service_name", "status",
})  # fmt: skip
# The sorting key, not nullable: every event has them (ingest sets the content hash).
KEY: Final = ("time", "id", "content_hash")

_TYPES: Final = {
    "VARCHAR": "String",
    "JSON": "String",
    "TIMESTAMP_NS": "DateTime64(9, 'UTC')",
    "BIGINT": "Int64",
    "INTEGER": "Int32",
    "BOOLEAN": "Bool",
}


def column_type(name: str) -> str:
    """A catalog field's ClickHouse type. A list is an `Array` (which cannot be NULL: an empty
    list is read back as NULL, store/clickhouse.py)."""
    sql = _FIELDS[name].sql
    if sql.startswith("VARCHAR[]"):
        return "Array(LowCardinality(String))" if name in LOW_CARDINALITY else "Array(String)"
    base = _TYPES[sql.replace(" NOT NULL", "")]
    nullable = not sql.endswith("NOT NULL") and name not in KEY
    typ = f"Nullable({base})" if nullable else base
    return f"LowCardinality({typ})" if name in LOW_CARDINALITY else typ


def _codec(name: str) -> str:
    f = _FIELDS[name]
    if f.sql.startswith("TIMESTAMP"):
        return " CODEC(Delta, ZSTD(1))"
    if f.compression == "zstd" or name in ("id", "content_hash"):
        return " CODEC(ZSTD(3))"
    return ""


_ID_BLOOM: Final = "    INDEX id_bloom id TYPE bloom_filter(0.001) GRANULARITY 1"


def class_table(cls: EventClass) -> str:
    return f"-- {cls.doc}\n" + _events_table(
        cls.table, cls.fields, [_ID_BLOOM, "    INDEX cluster_set cluster TYPE set(64) GRANULARITY 4"]
    )


def candidate_table(cls: EventClass) -> str:
    """The events of class `cls` that the store's covered rules match (its fields but the raw
    record), kept with each batch: a rule scan reads these instead of the class table. Keyed and
    merged as the class table is (a candidate written twice is read once, FINAL)."""
    return _events_table(f"{cls.table}_candidates", candidate_fields(cls), [_ID_BLOOM])


def _events_table(name: str, fields: Sequence[str], indexes: list[str]) -> str:
    """A table of events: merged on their identity, partitioned by day, ordered by time."""
    cols = [f"    `{f}` {column_type(f)}{_codec(f)}" for f in fields] + indexes
    return (
        f"CREATE TABLE IF NOT EXISTS {name} (\n" + ",\n".join(cols) + "\n)\n"
        f"ENGINE = ReplacingMergeTree\nPARTITION BY toYYYYMMDD(time)\nORDER BY ({', '.join(KEY)})\n"
        # Lightweight updates (patch parts) rename a cluster in ms where a mutation took seconds.
        "SETTINGS enable_block_number_column = 1, enable_block_offset_column = 1;\n"
    )


def events_view() -> str:
    """Every event in one relation, deduplicated, for `show` and the questions over all classes; a
    class's missing columns are NULL."""
    branches = []
    for cls in CLASSES:
        cols = [f"`{f.name}`" if f.name in cls.fields else f"{_missing(f.name)} AS `{f.name}`" for f in catalog()]
        branches.append(f"SELECT {', '.join(cols)}\nFROM {cls.table} FINAL")
    return "CREATE OR REPLACE VIEW events AS\n" + "\nUNION ALL\n".join(branches) + ";\n"


def view_type(name: str) -> str:
    """A field's type in the `events` view: its column's, nullable (an event of a class without
    the column has NULL there), but a list's (empty instead)."""
    typ = column_type(name)
    if typ.startswith(("Array", "Nullable", "LowCardinality(Nullable")):
        return typ
    if typ.startswith("LowCardinality("):
        return f"LowCardinality(Nullable({typ.removeprefix('LowCardinality(')[:-1]}))"
    return f"Nullable({typ})"


def _missing(name: str) -> str:
    """The value of a column a class has not: NULL, or an empty list (an Array cannot be NULL)."""
    typ = column_type(name)
    return f"CAST([] AS {typ})" if typ.startswith("Array") else f"CAST(NULL AS {typ})"


def schema() -> str:
    return "\n".join([*(class_table(c) for c in CLASSES), events_view()])


if __name__ == "__main__":
    print(schema(), end="")


# -- a ClickHouse cluster -----------------------------------------------------------------
# A row's shard is decided by its table's sorting key, the identity the table deduplicates (or
# aggregates) on: every copy of a row lands on one shard, where its (Replacing|Aggregating)MergeTree
# merges them (FINAL reads each shard's rows deduplicated; no row is on two shards).
_ORDER_BY: Final = re.compile(r"^ORDER BY \(?(.*?)\)?$", re.M)
_TABLE: Final = re.compile(r"^CREATE TABLE IF NOT EXISTS (\w+) \(", re.M)
_ENGINE: Final = re.compile(r"^ENGINE = (\w+)(?:\((.*)\))?$", re.M)
_VIEW: Final = re.compile(r"^CREATE OR REPLACE VIEW (\w+) AS", re.M)
_ALTER: Final = re.compile(r"^ALTER TABLE (\w+) ", re.M)
_DROP: Final = re.compile(r"^DROP TABLE IF EXISTS (\w+)( SYNC)?$")


def on_cluster(statement: str, cluster: str) -> list[str]:
    """A migration's statement for the ClickHouse cluster `cluster`: a table becomes a replicated
    table on every node (`<name>_local`, ReplicatedReplacingMergeTree under the standard
    `{shard}`/`{replica}` macros) and a `Distributed` table of the same name over them, which
    writers insert into and queries read; a view is created, and a table altered or dropped (both
    tables), on every node."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", cluster):
        raise ValueError(f"{cluster!r} is not a cluster name (letters, digits and _)")
    if table := _TABLE.search(statement):
        name = table.group(1)
        local = _TABLE.sub(f"CREATE TABLE IF NOT EXISTS {name}_local ON CLUSTER {cluster} (", statement, count=1)
        engine = _ENGINE.search(local)
        if engine is None:
            raise ValueError(f"table {name}: no ENGINE line")
        path = f"'/clickhouse/tables/{{shard}}/{{database}}/{name}_local', '{{replica}}'"
        args = f"{path}, {engine.group(2)}" if engine.group(2) else path
        local = _ENGINE.sub(f"ENGINE = Replicated{engine.group(1)}({args})", local, count=1)
        order = _ORDER_BY.search(statement)
        if order is None:
            raise ValueError(f"table {name}: no ORDER BY line")
        shard = order.group(1)
        distributed = (
            f"CREATE TABLE IF NOT EXISTS {name} ON CLUSTER {cluster} AS {name}_local\n"
            f"ENGINE = Distributed({cluster}, currentDatabase(), {name}_local, sipHash64({shard}))"
        )
        return [local, distributed]
    if _VIEW.search(statement):
        return [_VIEW.sub(rf"CREATE OR REPLACE VIEW \1 ON CLUSTER {cluster} AS", statement, count=1)]
    if _ALTER.match(statement):
        return [_ALTER.sub(rf"ALTER TABLE \1_local ON CLUSTER {cluster} ", statement, count=1)]
    if drop := _DROP.match(statement):
        name, sync = drop.group(1), drop.group(2) or ""
        return [f"DROP TABLE IF EXISTS {t} ON CLUSTER {cluster}{sync}" for t in (name, f"{name}_local")]
    return [statement]


def cluster_schema(cluster: str) -> str:
    """Every ClickHouse migration for the cluster `cluster` (on_cluster), with the built-in rules
    covered (their candidates kept, as a new store's are) and the schema version recorded, so
    that kubetrail opening the database finds it current and creates nothing."""
    from kubetrail.rules import builtin
    from kubetrail.store.clickhouse import SCHEMA_VERSION, migrations, statements
    from kubetrail.store.duckdb_rules import Covered

    out = [f"-- kubetrail's ClickHouse schema, version {SCHEMA_VERSION}, for the cluster {cluster} (store init --on-cluster)"]
    for _, sql in migrations():
        out += [f"{s};" for statement in statements(sql) for s in on_cluster(statement, cluster)]
    rows = ",\n".join(f"({', '.join(map(_literal, c.row()))})" for c in Covered.of(builtin().rules))
    out.append(f"INSERT INTO rule_coverage VALUES\n{rows};")
    out.append(f"INSERT INTO meta VALUES ('schema_version', '{SCHEMA_VERSION}', now64(9));")
    return "\n\n".join(out) + "\n"


def _literal(text: str) -> str:
    """A ClickHouse string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
