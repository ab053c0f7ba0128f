"""`kubetrail serve`: receive from the cluster's producers and answer, in one long-running process."""

from __future__ import annotations

import os
import sys

import click

from kubetrail.cli.output import EXIT_PROBLEM, EXIT_USAGE, emit_json, fail
from kubetrail.cli.rules import rules_option


@click.command("serve")
@click.option("--db", "db", default=None, help="Store file (default: the config's db, else ./kubetrail.duckdb or $KUBETRAIL_DB).")
@click.option("--config", "config_path", default=None, type=click.Path(dir_okay=False), help="YAML configuration file.")
@click.option(
    "--listen", default=None, help="HOST:PORT to listen on (default 127.0.0.1:8443; loopback unless you say otherwise)."
)
@click.option(
    "--token-file", default=None, type=click.Path(dir_okay=False), help="Accepted bearer tokens, one per line (every role)."
)
@click.option("--cluster", default=None, help="The cluster of everything received from senders with none configured.")
@click.option("--follow", multiple=True, help="An export file to tail (Tetragon, Hubble exporter), repeatable.")
@rules_option
@click.option("--print-config", is_flag=True, help="Print the effective configuration (tokens masked) and exit.")
def serve_cmd(
    db: str | None,
    config_path: str | None,
    listen: str | None,
    token_file: str | None,
    cluster: str | None,
    follow: tuple[str, ...],
    rules_paths: tuple[str, ...],
    print_config: bool,
) -> None:
    """Receive audit webhooks, Falco alerts, OTLP and NDJSON from shippers into the store, durably,
    and answer the read API; other kubetrail commands on this store ask through it.

    \b
    Example:
      kubetrail serve --db /var/lib/kubetrail/store.duckdb --listen 0.0.0.0:8443 --token-file /etc/kubetrail/tokens
    """
    from kubetrail.serve.config import ConfigError, load
    from kubetrail.serve.run import ServeError, serve

    if db is None and config_path is None:
        db = os.environ.get("KUBETRAIL_DB", "./kubetrail.duckdb")
    try:
        config = load(config_path, db=db, listen=listen, token_file=token_file, cluster=cluster, follow=follow, rules=rules_paths)
    except (ConfigError, ValueError) as exc:
        fail("table", "usage", str(exc), EXIT_USAGE)
    if print_config:
        emit_json(config.printable())
        return
    if not config.token_sets and not config.client_certs:
        fail("table", "usage", "no way to authenticate senders: give --token-file FILE (or tokens/client_certs in --config)",
             EXIT_USAGE)  # fmt: skip
    try:
        serve(config)
    except ServeError as exc:
        click.echo(f"kubetrail serve: {exc}", err=True)
        sys.exit(EXIT_PROBLEM)
