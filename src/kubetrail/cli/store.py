"""`kubetrail store init`: create a store's schema, or print it for a ClickHouse cluster."""

from __future__ import annotations

import click

from kubetrail.cli.output import EXIT_USAGE, common, default_format, emit_json, fail


@click.group("store")
def store_cmd() -> None:
    """The store itself: create its schema (DuckDB file, chDB folder or ClickHouse database)."""


@store_cmd.command("init")
@click.option(
    "--on-cluster", "cluster", metavar="NAME",
    help="Print the schema for the ClickHouse cluster NAME (replicated tables, Distributed tables over them) instead.",
)  # fmt: skip
@click.option(
    "--retention", metavar="DAYS",
    help="ClickHouse: keep this many days of data (e.g. 90d), dropped by day as it grows older; 'forever' keeps all.",
)  # fmt: skip
@common
def init_cmd(cluster: str | None, retention: str | None, db: str, fmt: str | None) -> None:
    """Create the store's schema at --db (what the first ingest does too); with --on-cluster,
    print the DDL that creates it on a ClickHouse cluster, to run with clickhouse-client
    (docs/clickhouse.md).

    \b
    Example:
      kubetrail store init --db clickhouse://kubetrail@ch-0.example:8123/kubetrail --retention 90d
      kubetrail store init --on-cluster prod | clickhouse-client --multiquery
    """
    fmt = fmt or default_format()
    if cluster is not None:
        from kubetrail.store.clickhouse_ddl import cluster_schema

        try:
            click.echo(cluster_schema(cluster), nl=False)
        except ValueError as exc:
            fail(fmt, "usage", f"--on-cluster: {exc}", EXIT_USAGE)
        return
    from kubetrail.cli.main import _open
    from kubetrail.store.clickhouse import ClickHouseStore, is_url

    days = _days(fmt, retention) if retention is not None else None
    if retention is not None and not is_url(db):
        fail(fmt, "usage", "--retention: a DuckDB store keeps everything; retention is for a ClickHouse store", EXIT_USAGE)
    store = _open(db, fmt)
    doc: dict[str, object] = {
        "db": db,
        "engine": "clickhouse" if is_url(db) else "duckdb",
        "schema_version": store.schema_version(),
    }
    if retention is not None:
        assert isinstance(store, ClickHouseStore)
        store.retain(days)
        doc["retention_days"] = days
    store.close()
    if fmt == "json":
        emit_json(doc)
    else:
        click.echo(f"store {db} ({doc['engine']}) is at schema version {doc['schema_version']}")
        if retention is not None:
            click.echo(f"keeping {days} days of data" if days is not None else "keeping all data")


def _days(fmt: str, text: str) -> int | None:
    """--retention: 'forever', or whole days ('90d', '90')."""
    if text == "forever":
        return None
    digits = text.removesuffix("d")
    if not digits.isdigit() or int(digits) < 1:
        fail(fmt, "usage", f"--retention {text!r}: give whole days, e.g. 90d (or 'forever')", EXIT_USAGE)
    return int(digits)
