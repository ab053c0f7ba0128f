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
@common
def init_cmd(cluster: str | None, db: str, fmt: str | None) -> None:
    """Create the store's schema at --db (what the first ingest does too); with --on-cluster,
    print the DDL that creates it on a ClickHouse cluster, to run with clickhouse-client
    (docs/clickhouse.md).

    \b
    Example:
      kubetrail store init --db clickhouse://kubetrail@ch-0.example:8123/kubetrail
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
    from kubetrail.store.clickhouse import is_url

    store = _open(db, fmt)
    doc = {"db": db, "engine": "clickhouse" if is_url(db) else "duckdb", "schema_version": store.schema_version()}
    store.close()
    if fmt == "json":
        emit_json(doc)
    else:
        click.echo(f"store {db} ({doc['engine']}) is at schema version {doc['schema_version']}")
