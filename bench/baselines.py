"""The baselines: the same questions answered straight from the raw files, the way a responder
does without kubetrail. Each returns the answer set that kubetrail's answer reduces to, so the
suite can show that both answered the same question.

- jq over the raw audit log: who read or changed Secrets in a window (the usernames, the
  impersonated user when impersonating, as kubetrail's `actor`).
- jq over the raw Hubble and Tetragon files: which pods opened connections to addresses outside
  the cluster's networks in a window ("namespace/pod address"). Replies and flows seen at the
  destination are not connections; internal means RFC 1918, 100.64/10, fc00::/7, and loopback,
  link-local, multicast and unspecified addresses are not destinations outside.
- DuckDB `read_json` over the raw audit log: the Secrets question again, with a typed schema.

Times are compared as RFC 3339 strings, so the window's ends must be whole seconds written with
nine fractional digits (`format_ns` of a whole second): every precision then orders correctly.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Final

import duckdb
import orjson

from kubetrail.answers.window import Window
from kubetrail.timeutil import NS, format_ns

JQ_SECRETS: Final = r"""
reduce (inputs
    | select(.objectRef.resource == "secrets"
        and .requestReceivedTimestamp >= $since and .requestReceivedTimestamp < $until)
    | (.impersonatedUser // .user).username
) as $actor ({}; .[$actor] = true)
| keys[]
"""

JQ_EGRESS: Final = r"""
def internal:
  test("^(10\\.|172\\.(1[6-9]|2[0-9]|3[01])\\.|192\\.168\\.|100\\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])\\.)")
  or test("^(127\\.|169\\.254\\.|2(2[4-9]|3[0-9])\\.|0\\.0\\.0\\.0$)")
  or test("^(f[cd]|fe[89ab][0-9a-f]:|ff|::1?$)"; "i");
def pod: "\(.namespace)/\(.name)";
def connections:
  if .flow then .flow
    | select((.traffic_direction // "EGRESS") == "EGRESS" and (.is_reply | not) and .source.pod_name)
    | [.time, "\(.source.namespace)/\(.source.pod_name)", .IP.destination]
  elif .process_kprobe then .time as $t | .process_kprobe
    | select(.process.pod and (.function_name | sub("^(__x64_sys_|__arm64_sys_|__ia32_sys_|sys_)"; "")
        | IN("connect", "tcp_connect", "tcp_v4_connect", "tcp_v6_connect", "socket_connect", "ip4_datagram_connect")))
    | [$t, (.process.pod | pod), first(.args[]? | (.sock_arg.daddr // .sockaddr_arg.addr // .skb_arg.daddr) // empty)]
  elif .process_connect then .time as $t | .process_connect
    | select(.process.pod) | [$t, (.process.pod | pod), .destination_ip]
  else empty end;
reduce (inputs | connections
    | select(.[0] >= $since and .[0] < $until and .[2] != null and (.[2] | internal | not))
    | "\(.[1]) \(.[2])"
) as $pair ({}; .[$pair] = true)
| keys[]
"""

DUCKDB_SECRETS: Final = """
SELECT DISTINCT coalesce(impersonatedUser.username, "user".username) AS actor
FROM read_json(?, format = 'newline_delimited', columns = {
    verb: 'VARCHAR', requestReceivedTimestamp: 'TIMESTAMP',
    "user": 'STRUCT(username VARCHAR)', impersonatedUser: 'STRUCT(username VARCHAR)',
    objectRef: 'STRUCT(resource VARCHAR, namespace VARCHAR, name VARCHAR)'})
WHERE objectRef.resource = 'secrets'
    AND requestReceivedTimestamp >= make_timestamp(?::BIGINT) AND requestReceivedTimestamp < make_timestamp(?::BIGINT)
"""


def audit_logs(files: list[Path]) -> list[Path]:
    """The audit log files, one event a line, that a responder would search: webhook batches
    (`EventList`) carry the same events again."""
    return [f for f in files if _first_kind(f) == "Event"]


def _first_kind(path: Path) -> object:
    with open(path, "rb") as f:
        line = next((line for line in f if line.strip()), b"{}")
    value = orjson.loads(line)
    return value.get("kind") if isinstance(value, dict) else None


def jq_path() -> str | None:
    return shutil.which("jq")


def jq_version() -> str:
    jq = jq_path()
    return subprocess.run([jq, "--version"], capture_output=True, text=True, check=True).stdout.strip() if jq else "no jq"


def jq(program: str, files: list[Path], win: Window) -> set[str]:
    """The lines `program` prints over the files, given $since and $until."""
    jq = jq_path()
    if jq is None:
        raise FileNotFoundError("jq is not on PATH: install it (apt-get install jq) to measure the jq baselines")
    since, until = _ends(win)
    cmd = [jq, "-n", "-r", "--arg", "since", since, "--arg", "until", until, program, *map(str, files)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return set(out.splitlines())


def jq_secrets(files: list[Path], win: Window) -> set[str]:
    return jq(JQ_SECRETS, files, win)


def jq_egress(files: list[Path], win: Window) -> set[str]:
    return jq(JQ_EGRESS, files, win)


def duckdb_secrets(files: list[Path], win: Window) -> set[str]:
    with duckdb.connect() as con:
        rows = con.execute(DUCKDB_SECRETS, [[str(f) for f in files], win.since // 1000, win.until // 1000]).fetchall()
    return {actor for (actor,) in rows}


def _ends(win: Window) -> tuple[str, str]:
    if win.since % NS or win.until % NS:
        raise ValueError("the baselines compare times as text: give a window of whole seconds")
    return format_ns(win.since), format_ns(win.until)
