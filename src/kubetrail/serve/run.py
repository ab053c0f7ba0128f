"""The `kubetrail serve` process: open the store and the spool, start the core, serve HTTP until
SIGTERM or SIGINT, then let in-flight requests finish, drain the spool into the store and exit.

While it runs, `<db>.serve.json` names it (api/held.py) with a token file only its owner can read,
so that the CLI on the same machine asks through it. A store or spool left by a killed server
reopens as it is: the kernel dropped the locks with the process, the spool's torn end (never
acknowledged) is cut off, and the drain resumes from the position the store committed.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import sys
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any, Final

import orjson
import uvicorn
from starlette.applications import Starlette

from kubetrail.alerts import Output
from kubetrail.alerts.engine import Engine
from kubetrail.api.app import build
from kubetrail.api.auth import Authenticator
from kubetrail.api.held import Held, held_path, read_held, write_held
from kubetrail.malloc import tune_for_service
from kubetrail.rules import RuleError, RuleSet
from kubetrail.rules import load as load_rules
from kubetrail.serve.config import Identity, ServeConfig
from kubetrail.serve.pipeline import SPOOL_CURSOR, Core
from kubetrail.serve.spool import Spool, SpoolError
from kubetrail.store import StoreError
from kubetrail.store.clickhouse import is_url
from kubetrail.store.duckdb import DuckDBStore
from kubetrail.timeutil import format_ns

log = logging.getLogger("kubetrail.serve")
GRACEFUL_SECONDS: Final = 30
# How long a thread that wants the GIL waits before the holder must hand it over (CPython: 5 ms).
# Every call into DuckDB gives the GIL up and takes it back a few times, and each time the drain
# waited for whichever thread held it (the receivers, the alert engine): a drained group of 5,000
# events took 1.7 s to write beside one busy thread against 0.24 s alone, and 0.39 s at 0.5 ms
# (bench/group_write.py). That wait came twice between a request's acknowledgement and its incident's notice.
SWITCH_SECONDS: Final = 0.0005


class ServeError(RuntimeError):
    """serve cannot start; the message says why and what to do."""


def serve(config: ServeConfig) -> None:
    _logging()
    tune_for_service()  # before the threads start (kubetrail/malloc.py)
    sys.setswitchinterval(SWITCH_SECONDS)
    if is_url(config.db):
        raise ServeError(f"{config.db}: serve writes a DuckDB store only, for now (ClickHouse: ingest with the CLI)")
    config = replace(config, db=str(Path(config.db).resolve()))
    if config.cluster is None and any(t.identity.cluster is None for t in config.token_sets):
        log.warning(
            "no --cluster: events that name no cluster take the one name the sensors give, and until one does "
            "'default' (moved to that name once given); give --cluster (or a cluster per token) to name them from the first"
        )
    outputs = _outputs(config)
    try:
        rules = load_rules(config.rules)
    except RuleError as exc:
        raise ServeError(str(exc)) from exc
    store, core = _open(config, rules)
    engine = Engine(store, config.alerts, outputs, rules=rules)
    core.listeners.append(engine.stored)
    token_file = Path(f"{config.db}.serve.token")
    local_token = _write_token(token_file)
    auth = Authenticator(config, {local_token: Identity("local", "admin", config.cluster, True)})
    server = _server(config, build(config, store, core, auth, engine, rules))
    engine.start()  # reads what was told on this thread, before the drain takes the store's connection
    core.start()
    threading.Thread(target=_announce, args=(server, token_file, config), daemon=True).start()
    stopped_by: list[int] = []
    for number in (signal.SIGTERM, signal.SIGINT):
        # uvicorn stops on these, then raises them again with the handlers it found: these,
        # so that the spool is drained and the files below are removed before the process ends.
        signal.signal(number, lambda received, _frame: stopped_by.append(received))
    try:
        server.run()
    finally:
        log.info("stopping: draining %d spool bytes into the store", core.backlog())
        core.stop()
        engine.stop()
        store.close()
        for path in (held_path(config.db), token_file):
            path.unlink(missing_ok=True)
    if not server.started:
        raise ServeError(f"could not listen on {config.listen} (in use, or not an address of this machine?)")


def _open(config: ServeConfig, rules: RuleSet) -> tuple[DuckDBStore, Core]:
    """The store, the spool and the core around them; a store or spool left by a killed server as
    it is. The store covers the rules serve runs (rebuilt once when they changed)."""
    from kubetrail.ingest.follow import FollowError

    db = config.db
    held = read_held(db)
    if held is not None:
        raise ServeError(f"store {db} is held by kubetrail serve (PID {held.pid}, {held.url}): stop it first")
    if held_path(db).exists():
        log.warning("a previous kubetrail serve of %s stopped without cleaning up (killed?): reopening its store and spool", db)
    try:
        store = DuckDBStore.live(db)
    except StoreError as exc:
        raise ServeError(f"{exc} (another kubetrail process may be writing it: stop it first)") from exc
    if store.covered_rules() != rules.selections():
        log.info("store %s: the active rules changed: finding their candidates in the stored events", db)
        store.cover_rules(rules.rules)
    try:
        cursor = store.cursor(SPOOL_CURSOR)
        spool = Spool(config.spool, start=cursor.position if cursor else 0)
    except SpoolError as exc:
        store.close()
        raise ServeError(str(exc)) from exc
    if spool.recovery.torn_bytes:
        log.warning(
            "spool %s: cut off %d bytes of an entry written but never acknowledged", config.spool, spool.recovery.torn_bytes
        )
    try:
        core = Core(
            store, spool, cluster=config.cluster, high_water=config.limits.spool_high_water, follow=config.follow,
            workers=config.limits.normalize_workers,
        )  # fmt: skip
    except FollowError as exc:
        spool.close()
        store.close()
        raise ServeError(str(exc)) from exc
    if core.backlog():
        log.info("spool %s: %d bytes received before the restart go into the store first", config.spool, core.backlog())
    return store, core


def _outputs(config: ServeConfig) -> list[Output]:
    """The alert outputs (a misconfigured one stops the start, saying which)."""
    from kubetrail.alerts.outputs import build as build_output

    try:
        outputs = [build_output(o) for o in config.outputs]
    except ValueError as exc:
        raise ServeError(f"alerts: {exc}") from exc
    for o in config.outputs:
        log.info("alerts: incidents of severity %s and up go to %s (%s)", o.min_severity, o.name, o.type)
    return outputs


def _server(config: ServeConfig, app: Starlette) -> uvicorn.Server:
    host, port = config.host_port
    tls_options = {}
    if config.tls is not None:
        from kubetrail.api.tls import uvicorn_options

        tls_options = uvicorn_options(config.tls)
    return uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off", access_log=False,
                       timeout_graceful_shutdown=GRACEFUL_SECONDS, **tls_options)
    )  # fmt: skip


def _announce(server: uvicorn.Server, token_file: Path, config: ServeConfig) -> None:
    """Once listening: write <db>.serve.json and say where."""
    while not server.started:
        if server.should_exit:
            return
        threading.Event().wait(0.02)
    socket = server.servers[0].sockets[0]
    host, port = socket.getsockname()[:2]
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # every address: the CLI here comes over loopback
    scheme = "https" if config.tls is not None else "http"
    url = f"{scheme}://{'[' + host + ']' if ':' in host else host}:{port}"
    write_held(config.db, Held(os.getpid(), url, str(token_file), config.db, config.tls.cert_file if config.tls else None))
    log.info("listening on %s (store %s, spool %s)", url, config.db, config.spool)


def _write_token(path: Path) -> str:
    token = secrets.token_urlsafe(32)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token


class JsonLines(logging.Formatter):
    """One JSON object per line: time, level, logger, msg, and the record's structured `fields`
    (`log.info(..., extra={"fields": {...}})`). Nothing logged carries a secret: tokens and output
    URLs are never put in a message."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": format_ns(int(record.created * 1e9)), "level": record.levelname.lower(), "logger": record.name,
            "msg": record.getMessage(),
        }  # fmt: skip
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            doc.update(fields)
        if record.exc_info:
            doc["error"] = self.formatException(record.exc_info)
        return orjson.dumps(doc, default=str).decode()


def _logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines())
    root = logging.getLogger("kubetrail")
    if not root.handlers:
        root.addHandler(handler)
    root.setLevel(logging.INFO)
