"""`kubetrail` command line. Handlers parse, call the library and render; nothing more.

Each command imports the part of the library it calls: a question does not load the ingest
pipeline, the simulator or Arrow, and an ingest worker of the `kubetrail` script, which imports
this module again, loads little more than click (~0.3 s less than importing everything).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from kubetrail.answers.requests import ASK_SINCE, BASELINE, SKEW, STORY_SINCE
from kubetrail.answers.window import DEFAULT_LIMIT
from kubetrail.cli.output import (
    EXIT_PROBLEM,
    EXIT_USAGE,
    common,
    default_format,
    emit_json,
    fail,
    incident_story,
    stderr,
    table,
)  # fmt: skip
from kubetrail.cli.rules import load_rules, rules_option
from kubetrail.correlate.incidents import SEVERITIES
from kubetrail.model import SOURCES

if TYPE_CHECKING:
    from kubetrail.api.held import Held
    from kubetrail.ingest.pipeline import Options, Summary
    from kubetrail.store import Store

F = TypeVar("F", bound=Callable[..., Any])


def _wants_json() -> bool:
    argv = sys.argv[1:]
    return any(a in ("-ojson", "--output=json") for a in argv) or any(
        a in ("-o", "--output") and i + 1 < len(argv) and argv[i + 1] == "json" for i, a in enumerate(argv)
    )


@click.group()
@click.version_option(package_name="kubetrail")
def cli() -> None:
    """kubetrail: who did what in your cluster, joined across audit, runtime, network and traces.

    \b
    Example:
      kubetrail ingest audit.log falco.json hubble/ && kubetrail show <event-id> -o json
    """


def _open(db: str, fmt: str, *, read_only: bool = False, live: bool = False) -> Store:
    """The store; questions open it read-only, so several can be asked at once, and a long-running
    writer (`--follow`) with DuckDBStore.live's settings. A store held by `kubetrail serve` (which
    DuckDB lets no other process open) is asked through it (_ask); a write to it is refused,
    naming the process."""
    from kubetrail.api.held import read_held
    from kubetrail.store import StoreError, open_store
    from kubetrail.store.clickhouse import is_url

    if not read_only and (held := read_held(db)) is not None:
        message = f"{db} is held by kubetrail serve (PID {held.pid}, {held.url}): stop it first, or send records to it"
        fail(fmt, "held", message, EXIT_PROBLEM)
    if read_only and not is_url(db) and not os.path.exists(db):
        fail(fmt, "store", f"no store at {db}: ingest something first (kubetrail ingest PATH --db {db})", EXIT_PROBLEM)
    try:
        return open_store(db, read_only=read_only, live=live)
    except StoreError as exc:
        fail(fmt, "store", str(exc), EXIT_PROBLEM)


@cli.command("ingest")
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--source", "source_name", type=click.Choice(sorted(SOURCES)), help="Skip detection: every record is of this source."
)
@click.option(
    "--cluster",
    help="The cluster of every event of this ingest (default: the one cluster the inputs name, else 'default').",
)
@click.option("--strict", is_flag=True, help="Exit 1 when any record was quarantined.")
@click.option("--workers", type=click.IntRange(min=0), default=0, help="Worker processes for large inputs (0: one per core).")
@click.option(
    "--follow",
    "follow_paths",
    is_flag=True,
    help="Follow PATHS (files or '-') as they grow, across rotations, until Ctrl-C or SIGTERM; resumes where it stopped.",
)
@common
def ingest_cmd(
    paths: tuple[str, ...],
    source_name: str | None,
    cluster: str | None,
    strict: bool,
    workers: int,
    follow_paths: bool,
    db: str,
    fmt: str | None,
) -> None:
    """Ingest files, directories, globs, .gz files, or '-' (stdin).

    With --follow, export files (Tetragon's JSON export, Hubble's exporter file, or
    `hubble observe --follow -o jsonpb` on stdin) are tailed into the store as they grow.

    \b
    Example:
      kubetrail ingest /var/log/kubernetes/audit.log hubble-flows.json.gz --cluster prod
      kubetrail ingest --follow /var/run/cilium/tetragon/tetragon.log /var/run/cilium/hubble/events.log
    """
    from kubetrail.ingest.pipeline import Options
    from kubetrail.ingest.reader import expand_paths
    from kubetrail.sources import registry

    fmt = fmt or default_format()
    if follow_paths:
        from kubetrail.ingest.follow import FollowError, FollowOptions, follow, stop_on_signals
        from kubetrail.malloc import tune_for_service

        tune_for_service()  # it runs for days, as serve does (kubetrail/malloc.py)
        store = _open(db, fmt, live=True)
        stop = stop_on_signals()  # set by SIGINT/SIGTERM: the follow writes what it holds, then returns
        try:
            followed = follow(store, paths, FollowOptions(source_name, cluster), stop, notify=partial(click.echo, err=True))
        except FollowError as exc:
            fail(fmt, "usage", str(exc), EXIT_USAGE)
        finally:
            store.close()
        if fmt == "json":
            emit_json(followed.as_json())
        else:
            _render_ingest(followed.summary, fmt)
            click.echo(f"gaps: {followed.truncations} truncations, {followed.bytes_possibly_lost} bytes possibly lost")
        if strict and followed.summary.quarantined:
            sys.exit(EXIT_PROBLEM)
        return
    try:
        files = list(expand_paths(list(paths)))
    except FileNotFoundError as exc:
        fail(fmt, "usage", f"{exc}: give existing files, directories or globs", EXIT_USAGE)
    store = _open(db, fmt)
    options = Options(source=registry()[source_name] if source_name else None, cluster=cluster, workers=workers)
    try:
        summary = _run_ingest(store, files, options)
    finally:
        store.close()
    _render_ingest(summary, fmt)
    if strict and summary.quarantined:
        sys.exit(EXIT_PROBLEM)


def _run_ingest(store: Store, files: list[str], options: Options) -> Summary:
    from kubetrail.ingest.pipeline import ingest

    if not sys.stderr.isatty():
        return ingest(store, files, options)
    from rich.progress import Progress

    with Progress(transient=True, console=stderr()) as bar:
        tasks: dict[str, Any] = {}

        def progress(path: str, done: int) -> None:
            if path not in tasks:
                total = os.path.getsize(path) if path != "-" and os.path.isfile(path) else None
                tasks[path] = bar.add_task(os.path.basename(path), total=total)
            bar.update(tasks[path], completed=done)

        return ingest(store, files, options, progress)


MAX_FILE_ROWS = 20


def _render_ingest(summary: Summary, fmt: str) -> None:
    doc = summary.as_json()
    if fmt == "json":
        emit_json(doc)
        return
    files = doc["files"]
    if len(files) <= MAX_FILE_ROWS:
        table(
            "ingested files",
            ["path", "source", "ingested", "quarantined"],
            [[f["path"], f["source"], f["ingested"], f["quarantined"]] for f in files],
        )
    else:  # many inputs: one row per source (`-o json` lists every file)
        per: dict[str, list[int]] = {}
        for f in files:
            totals = per.setdefault(f["source"] or "(none)", [0, 0, 0])
            totals[0], totals[1], totals[2] = totals[0] + 1, totals[1] + f["ingested"], totals[2] + f["quarantined"]
        table(
            f"ingested {len(files)} files",
            ["source", "files", "ingested", "quarantined"],
            [[k, *v] for k, v in sorted(per.items())],
        )
    by_source = ", ".join(f"{k}={v}" for k, v in doc["ingested"].items()) or "nothing new"
    click.echo(
        f"ingested: {by_source}; duplicates {doc['duplicates']}, conflicts {doc['conflicts']}, "
        f"quarantined {doc['quarantined']}, skipped lines {doc['skipped_lines']}"
    )
    click.echo(f"cluster: {_cluster_origin(doc)}")
    for warning in doc["warnings"]:
        click.echo(f"warning: {warning}", err=True)


_ORIGINS = {
    "--cluster": "given by --cluster",
    "inputs": "the one cluster the inputs name",
    "store": "the store's one cluster",
    "default": "no input names a cluster",
    "several": "the inputs name several clusters: records naming none",
}


def _cluster_origin(doc: dict[str, Any]) -> str:
    named = "; ".join(f"{name} named by {', '.join(sorted(per))}" for name, per in doc["sensor_clusters"].items())
    line = f"{doc['cluster']['name']} ({_ORIGINS[doc['cluster']['from']]})"
    return f"{line}; {named}" if named else line


@cli.command("show")
@click.argument("event_id")
@common
def show_cmd(event_id: str, db: str, fmt: str | None) -> None:
    """Print one stored event: normalized fields, provenance and the original record (redacted).

    \b
    Example:
      kubetrail show 3f2a9c0d4b1e8f7a6c5d4e3f2a1b0c9d -o json
    """
    fmt = fmt or default_format()
    doc = _ask(fmt, db, "show", where=f" in {db}", id=event_id)
    if fmt == "json":
        emit_json(doc)
        return
    table(f"event {event_id}", ["field", "value"], [[k, v] for k, v in doc["event"].items() if v is not None])
    click.echo(f"provenance: {doc['provenance']}")
    click.echo(f"original: {doc['original']}")


@cli.command("who")
@click.argument("ip")
@click.option("--at", "at_text", default="now", show_default=True, help="RFC 3339 time, 'now' or 'latest' (newest stored event).")
@click.option("--cluster", help="Only this cluster.")
@common
def who_cmd(ip: str, at_text: str, cluster: str | None, db: str, fmt: str | None) -> None:
    """Which pod, service or node held IP at a time, and the IP's history of holders.

    \b
    Example:
      kubetrail who 10.244.1.23 --at 2026-11-28T10:15:02Z -o json
    """
    fmt = fmt or default_format()
    doc = _ask(fmt, db, "who", ip=ip, at=at_text, cluster=cluster)
    if fmt == "json":
        emit_json(doc)
        return
    _render_who(doc)


def _render_who(doc: dict[str, Any]) -> None:
    holder = doc["holder"]
    if holder is None:
        click.echo(f"{doc['ip']} at {doc['at']}: no known holder")
    else:
        name = holder["pod"] or holder["service"] or holder["node"]
        until = holder["to"] or "now"
        click.echo(
            f"{doc['ip']} at {doc['at']}: {holder['scope']} {name} ({holder['cluster']}), from {holder['from']} to {until}"
        )
    rows = [
        [h["scope"], h["cluster"], h["pod"] or h["service"] or h["node"], h["pod_uid"], h["from"], h["to"]]
        for h in doc["history"]
    ]
    table("history", ["scope", "cluster", "holder", "pod uid", "from", "to"], rows)


def _options(*options: Callable[[F], F]) -> Callable[[F], F]:
    def wrap(func: F) -> F:
        for option in reversed(options):
            func = option(func)
        return func

    return wrap


def window_options(default_since: str) -> Callable[[F], F]:
    """--since/--until/--at and --cluster, as every question over time takes them."""
    return _options(
        click.option(
            "--since", default=default_since, show_default=True, help="Duration back from --at (15m, 1h, 7d) or RFC 3339."
        ),
        click.option("--until", default=None, help="Duration back from --at or RFC 3339 (default: --at)."),
        click.option("--at", "at_text", default="now", show_default=True, help="RFC 3339 time, 'now' or 'latest'."),
        click.option("--cluster", default=None, help="Only this cluster."),
    )


page_options = _options(
    click.option("--limit", type=click.IntRange(min=1), default=DEFAULT_LIMIT, show_default=True, help="Rows per page."),
    click.option("--cursor", default=None, help="The 'next' of the previous page."),
)
filter_options = _options(
    click.option("--namespace", default=None, help="Only this namespace."),
    click.option("--pod", default=None, help="Only this pod (NS/NAME)."),
)


def _ask(fmt: str, db: str, question: str, /, *, where: str = "", rules: tuple[str, ...] = (), **values: Any) -> Any:
    """The document of `question` (answers/requests.py) for the option values: asked of the
    `kubetrail serve` holding the store when one does, else of the store itself, with the
    built-in rules and those of `rules` (--rules). An error exits the contract's way; `where`
    follows a not-found message."""
    from kubetrail.api.held import read_held

    held = read_held(db)
    if held is not None:
        _serve_rules(fmt, held, rules)
        return _ask_serve(fmt, held, question, values, where)
    from kubetrail.answers.requests import answer

    active = load_rules(fmt, rules)
    return _ask_store(fmt, db, lambda store: answer(question, store, values, _note, active), where)


def _serve_rules(fmt: str, held: Held, rules: tuple[str, ...]) -> None:
    """A store held by `kubetrail serve` is answered with the rules serve runs: --rules cannot change them."""
    if rules:
        serve = f"kubetrail serve (PID {held.pid})"
        fail(fmt, "usage", f"--rules: the store is held by {serve}, which answers with its own rules (serve --rules)", EXIT_USAGE)


def _ask_store(fmt: str, db: str, run: Callable[[Store], Any], where: str = "") -> Any:
    """`run` on the store, opened read-only."""
    from kubetrail.answers.requests import RequestError

    store = _open(db, fmt, read_only=True)
    try:
        return run(store)
    except RequestError as exc:
        _refused(fmt, exc.code, exc.message, where)
    finally:
        store.close()


def _ask_serve(fmt: str, held: Held, question: str, values: dict[str, Any], where: str = "") -> Any:
    """The question put to the serve holding the store; its notes go to stderr, as local ones do."""
    from kubetrail.api import client

    try:
        reply = client.ask(held, question, values)
    except client.ClientError as exc:
        _refused(fmt, exc.code, exc.message, where, usage=exc.usage)
    for note in reply.notes:
        _note(note)
    return reply.doc


def _refused(fmt: str, code: str, message: str, where: str, *, usage: bool | None = None) -> NoReturn:
    usage = code == "usage" if usage is None else usage
    fail(fmt, code, message + where if code == "not_found" else message, EXIT_USAGE if usage else EXIT_PROBLEM)


def _note(text: str) -> None:
    click.echo(f"kubetrail: {text}", err=True)


def _print_rows(
    doc: dict[str, Any], fmt: str, title: str, columns: list[str], cell: Callable[[dict[str, Any], str], Any] = dict.get
) -> None:
    """The answer as JSON, or as a table of `columns` (lists joined) with its gaps on stderr."""
    if fmt == "json":
        emit_json(doc)
        return
    rows = [[", ".join(map(str, v)) if isinstance(v := cell(r, c), list) else v for c in columns] for r in doc["rows"]]
    table(title, columns, rows)
    for gap in doc["gaps"]:
        click.echo(f"gap: {gap}", err=True)


@cli.group("ask")
def ask() -> None:
    """Ask one of the five questions: secrets, processes, actor, egress, trace."""


@ask.command("secrets")
@window_options(ASK_SINCE)
@page_options
@filter_options
@common
def ask_secrets(
    since: str, until: str | None, at_text: str, cluster: str | None, limit: int, cursor: str | None,
    namespace: str | None, pod: str | None, db: str, fmt: str | None,
) -> None:  # fmt: skip
    """Who read or changed Secrets, tied to the pod whenever the evidence allows.

    \b
    Example:
      kubetrail ask secrets --since 1h --namespace payments -o json
    """
    fmt = fmt or default_format()
    doc = _ask(
        fmt, db, "ask secrets", since=since, until=until, at=at_text, cluster=cluster, limit=limit, cursor=cursor,
        namespace=namespace, pod=pod,
    )  # fmt: skip
    columns = ["actor", "pod", "attribution", "verbs", "secrets", "denied", "count", "last_seen"]
    _print_rows(doc, fmt, f"Secret access {doc['window']['since']} .. {doc['window']['until']}", columns)


@ask.command("actor")
@click.argument("name", required=False)
@click.option("--sa", default=None, help="Service account NS/NAME (means system:serviceaccount:NS:NAME).")
@click.option("--baseline", default=BASELINE, show_default=True, help="History before --since that defines normal behaviour.")
@window_options(ASK_SINCE)
@page_options
@filter_options
@rules_option
@common
def ask_actor(
    name: str | None, sa: str | None, baseline: str, since: str, until: str | None, at_text: str, limit: int,
    cursor: str | None, cluster: str | None, namespace: str | None, pod: str | None, rules_paths: tuple[str, ...], db: str,
    fmt: str | None,
) -> None:  # fmt: skip
    """Every API call of a user or service account, and which of them were suspicious.

    \b
    Example:
      kubetrail ask actor --sa payments/api --since 6h -o json
      kubetrail ask actor alice@example.com
    """
    from kubetrail.answers.requests import username

    fmt = fmt or default_format()
    doc = _ask(
        fmt, db, "ask actor", name=name, sa=sa, baseline=baseline, since=since, until=until, at=at_text, limit=limit,
        cursor=cursor, cluster=cluster, namespace=namespace, pod=pod, rules=rules_paths,
    )  # fmt: skip
    columns = ["time", "verb", "resource", "namespace", "name", "code", "pod", "reasons"]
    _print_rows(doc, fmt, f"API calls of {username(name, sa)}", columns)


@ask.command("egress")
@click.option("--external", is_flag=True, help="Only destinations outside the cluster.")
@click.option("--new", "new_only", is_flag=True, help="Only destinations outside the workload's baseline.")
@click.option("--destination", default=None, help="An IP, a CIDR or a domain (with its subdomains).")
@click.option(
    "--internal-cidr", "internal", multiple=True, help="Internal networks (repeatable; default RFC 1918, 100.64/10, fc00::/7)."
)
@click.option("--baseline", default=BASELINE, show_default=True, help="History before --since that defines normal destinations.")
@window_options(ASK_SINCE)
@page_options
@filter_options
@common
def ask_egress(
    external: bool, new_only: bool, destination: str | None, internal: tuple[str, ...], baseline: str, since: str,
    until: str | None, at_text: str, limit: int, cursor: str | None, cluster: str | None, namespace: str | None,
    pod: str | None, db: str, fmt: str | None,
) -> None:  # fmt: skip
    """Which workloads talked to what, which destinations are outside the cluster, which are new.

    \b
    Example:
      kubetrail ask egress --external --new --since 6h
    """
    fmt = fmt or default_format()
    doc = _ask(
        fmt, db, "ask egress", external=external, new=new_only, destination=destination, internal_cidr=internal,
        baseline=baseline, since=since, until=until, at=at_text, limit=limit, cursor=cursor, cluster=cluster,
        namespace=namespace, pod=pod,
    )  # fmt: skip
    columns = ["pod", "destination_ip", "destination_names", "port", "destination_scope", "external", "new", "flows", "last_seen"]
    _print_rows(doc, fmt, "egress", columns)


@ask.command("processes")
@click.option("--unexpected", is_flag=True, help="Only processes outside the baseline or flagged by a rule.")
@click.option("--binary", default=None, help="A path, or a name matching the path's last part.")
@click.option("--image", default=None, help="An image reference prefix.")
@click.option("--baseline", default=BASELINE, show_default=True, help="History before --since that defines what a workload runs.")
@window_options(ASK_SINCE)
@page_options
@filter_options
@rules_option
@common
def ask_processes(
    unexpected: bool, binary: str | None, image: str | None, baseline: str, since: str, until: str | None,
    at_text: str, limit: int, cursor: str | None, cluster: str | None, namespace: str | None, pod: str | None,
    rules_paths: tuple[str, ...], db: str, fmt: str | None,
) -> None:  # fmt: skip
    """Processes per pod and container, and which of them the workload should not run.

    \b
    Example:
      kubetrail ask processes --unexpected --since 6h
    """
    fmt = fmt or default_format()
    doc = _ask(
        fmt, db, "ask processes", unexpected=unexpected, binary=binary, image=image, baseline=baseline, since=since,
        until=until, at=at_text, limit=limit, cursor=cursor, cluster=cluster, namespace=namespace, pod=pod,
        rules=rules_paths,
    )  # fmt: skip
    columns = ["pod", "container", "binary", "count", "expected", "reasons", "initiator", "last_seen"]
    _print_rows(doc, fmt, "processes", columns, _initiator_cell)


def _initiator_cell(row: dict[str, Any], column: str) -> Any:
    if column == "initiator" and row["initiator"] is not None:
        return f"{row['initiator']['user']} ({row['initiator']['strength']})"
    return row[column]


@ask.command("trace")
@click.argument("event_id")
@click.option("--skew", default=SKEW, show_default=True, help="Clock skew tolerated between sources (a duration: 1s, 2s, 1m).")
@common
def ask_trace(event_id: str, skew: str, db: str, fmt: str | None) -> None:
    """The causal chain from an event back to the user action that caused it.

    \b
    Example:
      kubetrail ask trace 3f2a9c0d4b1e8f7a6c5d4e3f2a1b0c9d -o json
    """
    fmt = fmt or default_format()
    doc = _ask(fmt, db, "ask trace", where=f" in {db}", event_id=event_id, skew=skew)
    if fmt == "json":
        emit_json(doc)
        return
    initiator = doc["initiator"]
    if initiator is None:
        click.echo(f"{event_id}: no initiator found")
    else:
        click.echo(f"{event_id}: initiated by {initiator['user']} via {initiator['type']} ({initiator['strength']})")
    table(
        "chain", ["time", "source", "kind", "summary"], [[s["time"], s["source"], s["kind"], s["summary"]] for s in doc["chain"]]
    )
    for gap in doc["gaps"]:
        click.echo(f"gap: {gap}", err=True)


@cli.command("incidents")
@window_options(STORY_SINCE)
@page_options
@filter_options
@click.option(
    "--severity", type=click.Choice(SEVERITIES), default=SEVERITIES[0], show_default=True,
    help="The least severity shown.",
)  # fmt: skip
@rules_option
@common
def incidents_cmd(
    since: str, until: str | None, at_text: str, cluster: str | None, limit: int, cursor: str | None,
    namespace: str | None, pod: str | None, severity: str, rules_paths: tuple[str, ...], db: str, fmt: str | None,
) -> None:  # fmt: skip
    """Suspicious signals joined into incidents: a story, the entities, ATT&CK techniques, a severity.

    \b
    Examples:
      kubetrail incidents --since 24h
      kubetrail incidents --severity high
    """
    fmt = fmt or default_format()
    doc = _ask(
        fmt, db, "incidents", since=since, until=until, at=at_text, cluster=cluster, limit=limit, cursor=cursor,
        namespace=namespace, pod=pod, severity=severity, rules=rules_paths,
    )  # fmt: skip
    if fmt == "json":
        emit_json(doc)
        return
    for row in doc["rows"]:
        incident_story(row)
        click.echo("")
    if not doc["rows"]:
        click.echo(
            "no incidents in the window" if severity == SEVERITIES[0] else f"no {severity} or worse incidents in the window"
        )
    for gap in doc["gaps"]:
        click.echo(f"gap: {gap}")


@cli.command("export")
@click.option("--incident", "incident_id", required=True, help="The incident id (see kubetrail incidents).")
@click.option(
    "--out", "out", required=True, type=click.Path(file_okay=False), help="Directory to write events.jsonl and manifest.json to."
)
@window_options(STORY_SINCE)
@rules_option
@common
def export_cmd(
    incident_id: str, out: str, since: str, until: str | None, at_text: str, cluster: str | None,
    rules_paths: tuple[str, ...], db: str, fmt: str | None,
) -> None:  # fmt: skip
    """Write an incident's redacted original records and a manifest (provenance, ids, hashes).

    \b
    Example:
      kubetrail export --incident f4667747a60d2d731c4171e14ab1cc54 --out ./incident-f466
    """
    from kubetrail.answers.requests import export_to
    from kubetrail.api.held import read_held

    fmt = fmt or default_format()
    values: dict[str, Any] = {"incident_id": incident_id, "since": since, "until": until, "at": at_text, "cluster": cluster}
    held = read_held(db)
    if held is not None:  # the export folder comes over the API as a tar.gz, and is unpacked here
        _serve_rules(fmt, held, rules_paths)
        doc = _unpack(fmt, held, _ask_serve(fmt, held, "export", values), incident_id, Path(out))
    else:
        active = load_rules(fmt, rules_paths)
        doc = _ask_store(fmt, db, lambda store: export_to(store, values, Path(out), _note, active))
    if fmt == "json":
        emit_json(doc)
    else:
        click.echo(f"wrote {doc['events']} events of incident {incident_id} to {out}")


def _unpack(fmt: str, held: Held, archive: bytes, incident_id: str, out: Path) -> dict[str, Any]:
    """The export archive the serve sent, written into `out`; one that holds anything but the
    export's two files is refused, and nothing is written."""
    from kubetrail.answers.requests import BadArchive, unpack_export

    try:
        return unpack_export(archive, incident_id, out)
    except BadArchive as exc:
        fail(fmt, "server", f"kubetrail serve (PID {held.pid}) sent an export archive that is refused: {exc}", EXIT_PROBLEM)


@cli.command("timeline")
@click.option("--actor", default=None, help="A username exactly as the API server saw it.")
@click.option("--sa", default=None, help="Service account NS/NAME.")
@window_options(STORY_SINCE)
@page_options
@click.option("--pod", default=None, help="The pod NS/NAME.")
@click.option("--incident", default=None, help="An incident's id (see kubetrail incidents): its steps.")
@rules_option
@common
def timeline_cmd(
    actor: str | None, sa: str | None, since: str, until: str | None, at_text: str, cluster: str | None, limit: int,
    cursor: str | None, pod: str | None, incident: str | None, rules_paths: tuple[str, ...], db: str, fmt: str | None,
) -> None:  # fmt: skip
    """The steps touching one pod, actor or service account, or of one incident, by time.

    \b
    Examples:
      kubetrail timeline --pod payments/api-7d9c6b5f8-x2k4j --since 2h
      kubetrail timeline --incident ID
    """
    fmt = fmt or default_format()
    doc = _ask(
        fmt, db, "timeline", actor=actor, sa=sa, pod=pod, incident=incident, since=since, until=until, at=at_text,
        cluster=cluster, limit=limit, cursor=cursor, rules=rules_paths,
    )  # fmt: skip
    _print_rows(doc, fmt, "timeline", ["time", "source", "kind", "summary"])


@cli.command("simulate")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Folder to write the telemetry files to.")
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same files.")
@click.option("--hours", type=click.FloatRange(min=0, min_open=True), default=4.0, show_default=True, help="Period simulated.")
@click.option("--events", type=click.IntRange(min=0), default=50_000, show_default=True, help="Events to write, over all files.")
@click.option("--cluster", default="sim", show_default=True, help="The cluster's name.")
@click.option(
    "--hubble-cluster-prefix/--no-hubble-cluster-prefix",
    default=True,
    show_default=True,
    help="Cilium knows the cluster's name: Hubble node names 'cluster/node' and endpoint labels carry it "
    "(off: plain node names, Cilium's unnamed 'default'). The other sources never name the cluster.",
)
@click.option(
    "--stories/--no-stories",
    default=True,
    show_default=True,
    help="Play the attack stories (ground truth in .ground-truth.json).",
)
@click.option("-o", "--output", "fmt", type=click.Choice(["table", "json"]), default=None, help="Output format.")
def simulate_cmd(
    out: str, seed: int, hours: float, events: int, cluster: str, hubble_cluster_prefix: bool, stories: bool, fmt: str | None
) -> None:
    """Write a simulated cluster's telemetry in the producers' real formats (seeded, deterministic).

    \b
    Example:
      kubetrail simulate --out ./sim --events 100000 && kubetrail ingest ./sim
    """
    from kubetrail.simulate.run import simulate

    fmt = fmt or default_format()
    written = simulate(
        Path(out), seed=seed, hours=hours, events=events, stories=stories, cluster_name=cluster,
        hubble_names_cluster=hubble_cluster_prefix,
    )  # fmt: skip
    if fmt == "json":
        emit_json({"out": out, "cluster": cluster, "files": written})
    else:
        table(f"simulated cluster {cluster!r} into {out}", ["file", "events"], [[name, n] for name, n in written.items()])


@cli.command("demo")
@click.option(
    "--out", default="demo-sim", show_default=True, type=click.Path(file_okay=False), help="Folder for the simulated files."
)
@click.option("--db", "db", default="demo.duckdb", show_default=True, help="Store to create (replaced).")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--hours", type=click.FloatRange(min=0, min_open=True), default=4.0, show_default=True)
@click.option("--events", type=click.IntRange(min=0), default=40_000, show_default=True)
def demo_cmd(out: str, db: str, seed: int, hours: float, events: int) -> None:
    """The 60-second tour: a simulated cluster with attack stories, ingested, correlated, answered.

    \b
    Example:
      kubetrail demo --events 100000
    """
    from kubetrail.cli import demo

    demo.render(demo.run(Path(out), Path(db), seed=seed, hours=hours, events=events))


@cli.group("clusters", invoke_without_command=True)
@common
@click.pass_context
def clusters_cmd(ctx: click.Context, db: str, fmt: str | None) -> None:
    """Each cluster the store holds (sources, nodes, time span), and pairs that look like one.

    \b
    Example:
      kubetrail clusters -o json
    """
    if ctx.invoked_subcommand is not None:
        return
    from kubetrail.answers.clusters import split_gaps

    fmt = fmt or default_format()
    doc = _ask(fmt, db, "clusters")
    if fmt == "json":
        emit_json(doc)
        return
    rows = [
        [c["cluster"], c["events"], ", ".join(f"{k}={v}" for k, v in c["sources"].items()), len(c["nodes"]), c["first"],
         c["last"], ", ".join(c["sensor_clusters"])]
        for c in doc["clusters"]
    ]  # fmt: skip
    table("clusters", ["cluster", "events", "sources", "nodes", "first", "last", "named by records"], rows)
    for line in split_gaps(doc["likely_splits"]):
        click.echo(f"likely split: {line}", err=True)


@clusters_cmd.command("merge")
@click.argument("name")
@click.argument("into")
@common
def clusters_merge_cmd(name: str, into: str, db: str, fmt: str | None) -> None:
    """Join cluster NAME into INTO: its events and every table kept beside them name INTO.

    For one cluster that was ingested under two names. Ids do not depend on the cluster, so
    ingesting the same files again afterwards, under INTO, stores nothing new.

    \b
    Example:
      kubetrail clusters merge default prod-euw1
    """
    fmt = fmt or default_format()
    store = _open(db, fmt)
    try:
        if name not in store.cluster_names() + store.pending_clusters():
            held = ", ".join(store.cluster_names()) or "none"
            fail(fmt, "usage", f"the store holds no cluster {name!r} (it holds: {held}): see kubetrail clusters", EXIT_USAGE)
        events = store.rename_cluster(name, into)
    finally:
        store.close()
    doc = {"merged": name, "into": into, "events": events}
    if fmt == "json":
        emit_json(doc)
    else:
        click.echo(f"merged cluster {name} into {into}: {events} events")


@cli.command("status")
@click.option("--cluster", default=None, help="Only this cluster.")
@common
def status_cmd(cluster: str | None, db: str, fmt: str | None) -> None:
    """What the store covers per cluster, source and node, audit levels and sensor drop counters.

    \b
    Example:
      kubetrail status -o json
    """
    fmt = fmt or default_format()
    doc = _ask(fmt, db, "status", cluster=cluster)
    if fmt == "json":
        emit_json(doc)
        return
    click.echo(f"{doc['events']} events from {doc['files']} inputs; {doc['quarantined']} records quarantined")
    rows = [[r["cluster"], r["source"], r["node"], r["events"], r["first"], r["last"]] for r in doc["coverage"]]
    table("coverage", ["cluster", "source", "node", "events", "first", "last"], rows)
    table("audit levels", ["cluster", "level", "events"], [[r["cluster"], r["level"], r["events"]] for r in doc["audit_levels"]])
    drops = [[r["cluster"], r["source"], r["node"], r["drops"], r["drop_percent"], r["last"]] for r in doc["sensor_drops"]]
    table("sensor drops", ["cluster", "source", "node", "drops", "drop %", "last report"], drops)
    for gap in doc["gaps"]:
        click.echo(f"gap: {gap}", err=True)


def _long_running() -> None:
    from kubetrail.cli.rules import rules_cmd
    from kubetrail.cli.serve import serve_cmd
    from kubetrail.cli.store import store_cmd
    from kubetrail.cli.ui import ui_cmd

    cli.add_command(serve_cmd)
    cli.add_command(ui_cmd)
    cli.add_command(rules_cmd)
    cli.add_command(store_cmd)


_long_running()


def main() -> None:
    """Entry point. Usage errors: one line saying what to do, exit status 2 (the contract)."""
    try:
        cli.main(standalone_mode=False)
    except click.UsageError as exc:
        fmt = "json" if _wants_json() else "table"
        where = exc.ctx.command_path if exc.ctx else "kubetrail"
        fail(fmt, "usage", f"{exc.format_message()} (see: {where} --help)", EXIT_USAGE)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(EXIT_PROBLEM)
