"""Rendering: one JSON document on stdout for scripts, rich tables for people, one error shape.

rich is imported where a table or story is drawn: a command whose output is JSON never needs it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click
import orjson

if TYPE_CHECKING:
    from rich.console import Console

F = TypeVar("F", bound=Callable[..., Any])


def output_option(func: F) -> F:
    """-o table|json."""
    return click.option(
        "-o", "--output", "fmt", type=click.Choice(["table", "json"]), default=None,
        help="Output format (table on a TTY, else json).",
    )(func)  # fmt: skip


def common(func: F) -> F:
    """--db and -o, on every command that reads or writes a store."""
    func = click.option(
        "--db", "db", default=lambda: os.environ.get("KUBETRAIL_DB", "./kubetrail.duckdb"),
        show_default="./kubetrail.duckdb or $KUBETRAIL_DB",
        help="The store: a DuckDB file, or ClickHouse: chdb:///PATH, clickhouse[s]://USER@HOST[:PORT]/DB (docs/clickhouse.md).",
    )(func)  # fmt: skip
    return output_option(func)


_SEVERITY_STYLE = {"critical": "bold white on red", "high": "bold red", "medium": "bold yellow", "low": "dim"}
EXIT_PROBLEM = 1
EXIT_USAGE = 2


def default_format() -> str:
    return "table" if sys.stdout.isatty() else "json"


def emit_json(doc: Any) -> None:
    sys.stdout.buffer.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")
    sys.stdout.flush()


def stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def fail(fmt: str, code: str, message: str, status: int) -> NoReturn:
    """Report an error the contract's way and exit with `status`."""
    if fmt == "json":
        emit_json({"error": {"code": code, "message": message}})
    else:
        click.echo(f"kubetrail: {message}", err=True)
    sys.exit(status)


def table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=title, title_justify="left")
    for col in columns:
        t.add_column(col)
    for row in rows:
        t.add_row(*("" if v is None else str(v) for v in row))
    Console(width=int(os.environ.get("COLUMNS", "0")) or None).print(t)


def incident_story(row: dict[str, Any], console: Console | None = None) -> None:
    """One incident as a story for people: what, when, who and where, the ATT&CK techniques by
    name, then its steps in time order."""
    from rich.console import Console
    from rich.markup import escape

    from kubetrail.correlate.attack import named

    out = console or Console(highlight=False, soft_wrap=True)  # long lines wrap in the terminal, not here
    severity = row["severity"]
    out.print(f"[{_SEVERITY_STYLE.get(severity, 'bold')}][{severity.upper()}][/] [bold]{escape(row['title'])}[/]")
    day, start, end = row["start"][:10], row["start"][11:19], row["end"][11:19]
    out.print(f"  {day} {start} .. {end} UTC  [dim]id {row['id']}[/]")
    for label, values in (("who", row["actors"]), ("pods", row["pods"]), ("destinations", row["destinations"])):
        if values:
            out.print(f"  {label}: {escape(', '.join(values))}")
    if row["techniques"]:
        out.print(f"  ATT&CK: {escape('; '.join(named(t) for t in row['techniques']))}")
    for step in row["steps"]:
        out.print(f"  [dim]{step['time'][11:23]}[/]  {step['source']:<9} {escape(step['summary'])}")
