"""A store held by a running `kubetrail serve`: DuckDB admits one process, so `serve` writes
`<db>.serve.json` beside the store and every other command goes through its HTTP API.

The file names the serving process, where it listens, and a token file readable only by its
owner; a file left by a process that is gone is stale and ignored (`serve` replaces it).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import orjson


@dataclass(frozen=True)
class Held:
    pid: int
    url: str  # e.g. http://127.0.0.1:8443
    token_file: str  # a bearer token with every role, mode 0600
    db: str  # the store's absolute path
    ca_file: str | None = None  # the CA to verify the server's certificate with, when it serves TLS

    def token(self) -> str:
        return Path(self.token_file).read_text().strip()


def held_path(db: str) -> Path:
    return Path(f"{db}.serve.json")


def read_held(db: str) -> Held | None:
    """The serve holding `db`, or None when none does (no file, or its process is gone)."""
    try:
        doc = orjson.loads(held_path(db).read_bytes())
        held = Held(**doc)
    except (FileNotFoundError, orjson.JSONDecodeError, TypeError):
        return None
    return held if alive(held.pid) else None


def write_held(db: str, held: Held) -> None:
    path = held_path(db)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(orjson.dumps(asdict(held), option=orjson.OPT_INDENT_2))
    os.replace(tmp, path)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True
