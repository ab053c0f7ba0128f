"""Rendering: one JSON document on stdout for scripts, rich tables for people, one error shape."""

from __future__ import annotations

import os
import sys
from typing import Any, NoReturn

import click
import orjson
from rich.console import Console
from rich.table import Table

EXIT_PROBLEM = 1
EXIT_USAGE = 2


def default_format() -> str:
    return "table" if sys.stdout.isatty() else "json"


def emit_json(doc: Any) -> None:
    sys.stdout.buffer.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")
    sys.stdout.flush()


def stderr() -> Console:
    return Console(stderr=True, highlight=False)


def fail(fmt: str, code: str, message: str, status: int) -> NoReturn:
    """Report an error the contract's way and exit with `status`."""
    if fmt == "json":
        emit_json({"error": {"code": code, "message": message}})
    else:
        click.echo(f"kubetrail: {message}", err=True)
    sys.exit(status)


def table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    t = Table(title=title, title_justify="left")
    for col in columns:
        t.add_column(col)
    for row in rows:
        t.add_row(*("" if v is None else str(v) for v in row))
    Console(width=int(os.environ.get("COLUMNS", "0")) or None).print(t)
