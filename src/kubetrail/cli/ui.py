"""`kubetrail ui`: the web UI on a store at hand, read-only, until Ctrl-C."""

from __future__ import annotations

import os
import secrets
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Final

import click

from kubetrail.cli.output import EXIT_PROBLEM, EXIT_USAGE, fail
from kubetrail.cli.rules import load_rules, rules_option

if TYPE_CHECKING:
    from kubetrail.rules import RuleSet

DEFAULT_LISTEN: Final = "127.0.0.1:8420"


@click.command("ui")
@click.option(
    "--db",
    "db",
    default=lambda: os.environ.get("KUBETRAIL_DB", "./kubetrail.duckdb"),
    show_default="./kubetrail.duckdb or $KUBETRAIL_DB",
    help="Store file.",
)
@click.option("--listen", default=DEFAULT_LISTEN, show_default=True, help="HOST:PORT to listen on (port 0: any free one).")
@rules_option
def ui_cmd(db: str, listen: str, rules_paths: tuple[str, ...]) -> None:
    """Open the web UI on a store: prints the URL to open, with a login token in it. On a store
    held by `kubetrail serve`, prints the service's URL instead (its UI is already there).

    \b
    Example:
      kubetrail ui --db demo.duckdb
    """
    from kubetrail.api.held import read_held

    held = read_held(db)
    if held is not None and rules_paths:
        fail("table", "usage", f"--rules: {db} is held by kubetrail serve (PID {held.pid}), which runs its own rules", EXIT_USAGE)
    if held is not None:
        token = Path(held.token_file).read_text().strip()
        click.echo(f"{db} is held by kubetrail serve (PID {held.pid}); its UI: {login_url(held.url, token)}")
        return
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        fail("table", "usage", f"--listen {listen!r}: give HOST:PORT, e.g. {DEFAULT_LISTEN}", EXIT_USAGE)
    if not os.path.exists(db):
        fail("table", "store", f"no store at {db}: ingest something first (kubetrail ingest PATH --db {db})", EXIT_PROBLEM)
    _run(db, host.strip("[]"), int(port), load_rules("table", rules_paths))


def login_url(base: str, token: str) -> str:
    return f"{base}/ui/login?token={token}"


def _run(db: str, host: str, port: int, rules: RuleSet) -> None:
    import uvicorn

    from kubetrail.api.app import viewer
    from kubetrail.api.auth import Authenticator
    from kubetrail.serve.config import Identity, ServeConfig
    from kubetrail.store import StoreError
    from kubetrail.store.clickhouse import is_url
    from kubetrail.store.duckdb import DuckDBStore

    if is_url(db):
        fail("table", "usage", f"{db}: the web UI reads a DuckDB store only, for now (ClickHouse: use the CLI)", EXIT_USAGE)
    try:
        store = DuckDBStore(db, read_only=True)
    except StoreError as exc:
        fail("table", "store", str(exc), EXIT_PROBLEM)
    token = secrets.token_urlsafe(32)
    auth = Authenticator(ServeConfig(db=db), {token: Identity("ui", "viewer")})
    config = uvicorn.Config(
        viewer(store, auth, rules), host=host, port=port, log_level="warning", lifespan="off", access_log=False
    )
    server = uvicorn.Server(config)
    threading.Thread(target=_announce, args=(server, token), daemon=True).start()
    try:
        server.run()
    finally:
        store.close()
    if not server.started:
        click.echo(f"kubetrail ui: could not listen on {host}:{port} (in use, or not an address of this machine?)", err=True)
        sys.exit(EXIT_PROBLEM)


def _announce(server: object, token: str) -> None:
    """Once listening, the URL to open (the port the system gave, when asked for any)."""
    import uvicorn

    assert isinstance(server, uvicorn.Server)
    while not server.started:
        if server.should_exit:
            return
        threading.Event().wait(0.02)
    host, port = server.servers[0].sockets[0].getsockname()[:2]
    base = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    click.echo(f"kubetrail ui: open {login_url(base, token)}", err=False)
    click.echo("(the token in it is good until this process stops; Ctrl-C to stop)", err=True)
