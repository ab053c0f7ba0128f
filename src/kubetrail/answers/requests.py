"""The read questions as the CLI and the HTTP API receive them: option values in, the contract's
JSON document out; bad input raises `UsageError`, a thing that is not there `NotFound`.

Each shell parses only its own syntax (click options; the query and path parameters of
`GET /api/v1/...`) into the plain values a `Question` declares, and calls `answer` (`reply`). What the
values mean (times and windows, durations, pods, CIDRs, limits) is checked here, once, so the
command and the route cannot drift apart. A question's parameters are named as the CLI's options
and document the API too (api/openapi.py). A question answers with a JSON document, or (export)
with a file: the tar.gz of the folder `kubetrail export` writes, which the CLI unpacks again.

The answer modules (and tarfile) are imported when a question is asked: the CLI reads its
defaults from here, and must load no answer it does not run.
"""

from __future__ import annotations

import io
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar

import orjson

from kubetrail.answers.window import DEFAULT_LIMIT, Window, envelope, parse_duration, window
from kubetrail.timeutil import NS, format_ns, parse_at, parse_rfc3339

if TYPE_CHECKING:
    from tarfile import TarInfo

    from kubetrail.rules import RuleSet
    from kubetrail.store import Store

Note = Callable[[str], None]  # where a diagnostic goes: stderr for the CLI, a response header for the API

ASK_SINCE: Final = "1h"
STORY_SINCE: Final = "24h"  # incidents, timeline, export
BASELINE: Final = "7d"
SKEW: Final = "2s"
BUNDLE_MANIFEST: Final = "manifest.json"
BUNDLE_EVENTS: Final = "events.jsonl"
BUNDLE_FOLDER: Final = "kubetrail-export-{}"  # the export archive's one folder, by incident id
JSON: Final = "application/json"
GZIP: Final = "application/gzip"

T = TypeVar("T")


class RequestError(Exception):
    """A question that cannot be answered as asked; `code` is the contract's error code."""

    code = "usage"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(RequestError):
    code = "usage"


class NotFound(RequestError):
    code = "not_found"


class BadArchive(ValueError):
    """An export archive that is not just the two files of one export folder: nothing is written."""


@dataclass(frozen=True, slots=True)
class File:
    """An answer that is a file to download rather than a JSON document."""

    name: str  # the file name to save it as
    data: bytes


@dataclass(frozen=True, slots=True)
class Param:
    name: str  # the query parameter; the CLI option without its dashes (`internal_cidr`: --internal-cidr)
    kind: Literal["string", "integer", "boolean", "array"] = "string"
    default: str | int | bool | tuple[str, ...] | None = None
    help: str = ""
    in_path: bool = False  # part of the path (`/who/{ip}`), so required
    required: bool = False

    @property
    def needed(self) -> bool:
        return self.required or self.in_path


@dataclass(frozen=True, slots=True)
class Question:
    name: str  # the command it answers, e.g. "ask secrets"
    path: str  # under /api/v1, e.g. "/who/{ip}"
    schema: str  # the document's contract schema (contract/NAME.schema.json), "#..." into it for a part; "" for a file
    summary: str
    params: tuple[Param, ...]
    run: Callable[..., dict[str, Any] | File]  # run(store, note, **values): the document, or a File of `media_type`
    media_type: str = JSON
    ruled: bool = False  # its answer depends on the rule set: run(..., rules=RuleSet) too

    def values(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """`given` (None meaning not given) over the defaults; an unknown or missing one is a usage error."""
        names = {p.name for p in self.params}
        unknown = sorted(set(given) - names)
        if unknown:
            raise UsageError(f"{self.name} takes no {unknown[0]!r}: give {', '.join(sorted(names)) or 'nothing'}")
        values = {p.name: p.default for p in self.params} | {k: v for k, v in given.items() if v is not None}
        missing = [p.name for p in self.params if p.needed and values[p.name] is None]
        if missing:
            raise UsageError(f"{self.name}: give the {missing[0]}")
        return values


def reply(
    name: str, store: Store, given: Mapping[str, Any], note: Note = lambda _: None, rules: RuleSet | None = None
) -> dict[str, Any] | File:
    """The answer of question `name` (a key of QUESTIONS) for the option values `given`: its
    document, or the file it answers with (its `media_type` says which). `rules`: the rule set
    (default: the built-in rules)."""
    question = QUESTIONS[name]
    ruled = {"rules": _rules(rules)} if question.ruled else {}
    return _call(lambda: question.run(store, note, **question.values(given), **ruled))


def answer(
    name: str, store: Store, given: Mapping[str, Any], note: Note = lambda _: None, rules: RuleSet | None = None
) -> dict[str, Any]:
    """The document of question `name`, one that answers with a JSON document."""
    doc = reply(name, store, given, note, rules)
    if isinstance(doc, File):
        raise TypeError(f"{name} answers with a file, not a document: ask it with reply()")
    return doc


def export_to(
    store: Store, given: Mapping[str, Any], out: Path, note: Note = lambda _: None, rules: RuleSet | None = None
) -> dict[str, Any]:
    """`kubetrail export` on a store at hand: the bundle written into `out`, and its summary."""
    values = QUESTIONS["export"].values(given)
    return _call(lambda: _export(store, note, out=out, rules=_rules(rules), **values))


def _rules(rules: RuleSet | None) -> RuleSet:
    from kubetrail.rules import builtin

    return rules if rules is not None else builtin()


def _call(run: Callable[[], T]) -> T:
    try:
        return run()
    except RequestError:
        raise
    except ValueError as exc:  # a time, a cursor this answer did not give, an entity missing, ...
        raise UsageError(str(exc)) from None


# -- checks shared by the questions ---------------------------------------------------------
def _window(store: Store, note: Note, since: str, until: str | None, at: str) -> Window:
    """The window of the time options; says so when it holds no events at all."""
    win = window(since, until, at, time.time_ns(), lambda: _newest(store))
    (seen,) = store.query("window_events", since=win.since, until=win.until)
    if not seen["in_window"]:
        newest = format_ns(seen["newest"]) if seen["newest"] else "none: the store is empty"
        note(f"no events at all in [{format_ns(win.since)}, {format_ns(win.until)}); newest stored event: {newest}")
    return win


def _newest(store: Store) -> int | None:
    newest: int | None = store.query("newest_event")[0]["newest"]
    return newest


def _duration(flag: str, text: str, example: str) -> int:
    ns = parse_duration(text)
    if ns is None:
        raise UsageError(f"--{flag} {text!r}: give a duration such as {example}")
    return ns


def _pod(pod: str | None) -> str | None:
    if pod is not None and (pod.count("/") != 1 or pod.startswith("/") or pod.endswith("/")):
        raise UsageError(f"--pod {pod!r}: give NAMESPACE/NAME")
    return pod


def _severity(least: str) -> str:
    from kubetrail.correlate.incidents import SEVERITIES

    if least not in SEVERITIES:
        raise UsageError(f"--severity {least!r}: give one of {', '.join(SEVERITIES)}")
    return least


def _limit(limit: int) -> int:
    if limit < 1:
        raise UsageError(f"--limit {limit}: give 1 or more rows")
    return limit


def username(name: str | None, sa: str | None) -> str | None:
    """The username: NAME itself, or the service account NS/NAME's."""
    from kubetrail.answers.actor import service_account_user

    return service_account_user(sa) if sa is not None else name


# -- the questions: options checked first, then the window (which may say it is empty) -------
def _secrets(
    store: Store, note: Note, *, since: str, until: str | None, at: str, cluster: str | None, namespace: str | None,
    pod: str | None, limit: int, cursor: str | None,
) -> dict[str, Any]:  # fmt: skip
    from kubetrail.answers.secrets import Query, secrets

    query = partial(Query, cluster=cluster, namespace=namespace, pod=_pod(pod), limit=_limit(limit), cursor=cursor)
    return secrets(store, query(_window(store, note, since, until, at)))


def _processes(
    store: Store, note: Note, *, unexpected: bool, binary: str | None, image: str | None, baseline: str, since: str,
    until: str | None, at: str, cluster: str | None, namespace: str | None, pod: str | None, limit: int, cursor: str | None,
    rules: RuleSet,
) -> dict[str, Any]:  # fmt: skip
    from kubetrail.answers.processes import Query, processes

    query = partial(
        Query, cluster=cluster, namespace=namespace, pod=_pod(pod), unexpected=unexpected, binary=binary, image=image,
        baseline_ns=_duration("baseline", baseline, "7d"), limit=_limit(limit), cursor=cursor, rules=rules,
    )  # fmt: skip
    return processes(store, query(_window(store, note, since, until, at)))


def _actor(
    store: Store, note: Note, *, name: str | None, sa: str | None, baseline: str, since: str, until: str | None, at: str,
    cluster: str | None, namespace: str | None, pod: str | None, limit: int, cursor: str | None, rules: RuleSet,
) -> dict[str, Any]:  # fmt: skip
    from kubetrail.answers.actor import Query, actor

    if (name is None) == (sa is None):
        raise UsageError("give the username NAME or --sa NS/NAME (one of them)")
    query = partial(
        Query, actor=username(name, sa) or "", cluster=cluster, namespace=namespace, pod=_pod(pod),
        baseline_ns=_duration("baseline", baseline, "7d"), limit=_limit(limit), cursor=cursor, rules=rules,
    )  # fmt: skip
    return actor(store, query(_window(store, note, since, until, at)))


def _egress(
    store: Store, note: Note, *, external: bool, new: bool, destination: str | None, internal_cidr: tuple[str, ...],
    baseline: str, since: str, until: str | None, at: str, cluster: str | None, namespace: str | None, pod: str | None,
    limit: int, cursor: str | None, rules: RuleSet,
) -> dict[str, Any]:  # fmt: skip
    from kubetrail.answers.egress import Query, egress
    from kubetrail.identity.scope import DEFAULT_INTERNAL, networks

    query = partial(
        Query, cluster=cluster, namespace=namespace, pod=_pod(pod), external=external, new=new, destination=destination,
        internal=networks(internal_cidr) if internal_cidr else DEFAULT_INTERNAL,
        baseline_ns=_duration("baseline", baseline, "7d"), limit=_limit(limit), cursor=cursor, rules=rules,
    )  # fmt: skip
    return egress(store, query(_window(store, note, since, until, at)))


def _trace(store: Store, note: Note, *, event_id: str, skew: str) -> dict[str, Any]:
    from kubetrail.answers.trace import UnknownEvent, trace

    skew_ns = _duration("skew", skew, "2s")
    try:
        return trace(store, event_id, skew_ns)
    except UnknownEvent as exc:
        raise NotFound(str(exc)) from None


def _incidents(
    store: Store, note: Note, *, since: str, until: str | None, at: str, cluster: str | None, namespace: str | None,
    pod: str | None, severity: str, limit: int, cursor: str | None, rules: RuleSet,
) -> dict[str, Any]:  # fmt: skip
    from kubetrail.answers.incidents import Query, incidents

    query = partial(
        Query, cluster=cluster, namespace=namespace, pod=_pod(pod), severity=_severity(severity), limit=_limit(limit),
        cursor=cursor, rules=rules,
    )  # fmt: skip
    return incidents(store, query(_window(store, note, since, until, at)))


def _incident(
    store: Store, note: Note, *, id: str, since: str, until: str | None, at: str, cluster: str | None, rules: RuleSet
) -> dict[str, Any]:
    return _found_incident(store, id, _window(store, note, since, until, at), cluster, rules)


def _found_incident(store: Store, incident_id: str, win: Window, cluster: str | None, rules: RuleSet) -> dict[str, Any]:
    from kubetrail.answers.incidents import Query, incidents

    rows = incidents(store, Query(win, cluster=cluster, limit=1_000_000, rules=rules))["rows"]
    found: dict[str, Any] | None = next((r for r in rows if r["id"] == incident_id), None)
    if found is None:
        raise NotFound(f"no incident {incident_id!r} between {format_ns(win.since)} and {format_ns(win.until)}: widen --since")
    return found


def _timeline(
    store: Store, note: Note, *, actor: str | None, sa: str | None, pod: str | None, incident: str | None, since: str,
    until: str | None, at: str, cluster: str | None, limit: int, cursor: str | None, rules: RuleSet,
) -> dict[str, Any]:  # fmt: skip
    from kubetrail.answers.timeline import Query, timeline

    win = _window(store, note, since, until, at)
    if incident is None:
        query = Query(win, pod=_pod(pod), actor=username(actor, sa), cluster=cluster, limit=_limit(limit), cursor=cursor)
        return timeline(store, query)
    if pod is not None or actor is not None or sa is not None:
        raise UsageError("give one entity: --pod NS/NAME, --actor NAME, --sa NS/NAME or --incident ID")
    steps = _found_incident(store, incident, win, cluster, rules)["steps"]  # by time
    return envelope(win, steps, [], _limit(limit), cursor)


def _who(store: Store, note: Note, *, ip: str, at: str, cluster: str | None) -> dict[str, Any]:
    from kubetrail.answers.who import who

    when = parse_at(at, time.time_ns(), lambda: _newest(store))
    try:
        return who(store, ip, when, cluster)
    except ValueError as exc:
        raise UsageError(f"{exc}: give an IPv4 or IPv6 address") from None


def _status(store: Store, note: Note, *, cluster: str | None) -> dict[str, Any]:
    from kubetrail.answers.status import status

    return status(store, cluster)


def _show(store: Store, note: Note, *, id: str) -> dict[str, Any]:
    from kubetrail.show import event_document

    row = store.get_event(id)
    if row is None:
        raise NotFound(f"no event with id {id!r}")
    return event_document(row)


def _clusters(store: Store, note: Note) -> dict[str, Any]:
    from kubetrail.answers.clusters import clusters

    return clusters(store)


# -- export: written by `_export` alone; over the API as the tar.gz of what it wrote ----------
def _export(
    store: Store, note: Note, *, out: Path, incident_id: str, since: str, until: str | None, at: str, cluster: str | None,
    rules: RuleSet,
) -> dict[str, Any]:  # fmt: skip
    from kubetrail.answers.export import NoSuchIncident, export
    from kubetrail.answers.incidents import Query

    win = _window(store, note, since, until, at)
    try:
        return export(store, Query(win, cluster=cluster, rules=rules), incident_id, out)
    except NoSuchIncident as exc:
        raise NotFound(str(exc)) from None


def _archive(store: Store, note: Note, *, incident_id: str, **values: Any) -> File:
    """The export as a tar.gz of its folder: written by `_export`, then packed as written."""
    folder = BUNDLE_FOLDER.format(incident_id)
    with tempfile.TemporaryDirectory(prefix="kubetrail-export-") as tmp:
        _export(store, note, out=Path(tmp), incident_id=incident_id, **values)
        return File(f"{folder}.tar.gz", _pack(Path(tmp), folder))


def _pack(written: Path, folder: str) -> bytes:
    """The two files of an export folder under `folder/`, reproducibly: mode 0644, no owner, and
    the manifest's export time (or 0) as every time the archive holds."""
    import gzip
    import tarfile

    mtime = _exported_at((written / BUNDLE_MANIFEST).read_bytes())
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=mtime) as gz, tarfile.open(fileobj=gz, mode="w") as tar:
        for name in (BUNDLE_MANIFEST, BUNDLE_EVENTS):
            data = (written / name).read_bytes()
            info = tarfile.TarInfo(f"{folder}/{name}")
            info.size, info.mtime, info.mode = len(data), mtime, 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _exported_at(manifest: bytes) -> int:
    try:
        return max(0, parse_rfc3339(orjson.loads(manifest)["exported_at"]) // NS)
    except (KeyError, TypeError, ValueError):
        return 0


def unpack_export(archive: bytes, incident_id: str, out: Path) -> dict[str, Any]:
    """Write an export archive (from `GET /api/v1/export/{incident_id}`) into `out` byte for byte as
    a local export writes it (the manifest's record hashes hold), and return the export's summary.
    Only the folder's two regular files are taken, each written to a name of our own; an archive
    holding anything else (a link, an absolute path, `..`, another name) raises `BadArchive`
    before anything is written."""
    files = _members(archive, BUNDLE_FOLDER.format(incident_id))
    out.mkdir(parents=True, exist_ok=True)
    for name in (BUNDLE_EVENTS, BUNDLE_MANIFEST):
        (out / name).write_bytes(files[name])
    return {"incident": incident_id, "out": str(out), "events": files[BUNDLE_EVENTS].count(b"\n")}


def _members(archive: bytes, folder: str) -> dict[str, bytes]:
    """The contents of `folder/manifest.json` and `folder/events.jsonl` by file name."""
    import tarfile
    import zlib

    expected = {f"{folder}/{name}": name for name in (BUNDLE_MANIFEST, BUNDLE_EVENTS)}
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            for member in tar:
                name = expected.get(member.name)
                if name is None or name in files or not member.isreg():
                    holds = " and ".join(expected)
                    raise BadArchive(f"{_refused(member, name is not None)}: an export archive holds just {holds}")
                files[name] = (tar.extractfile(member) or io.BytesIO()).read()
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise BadArchive(f"not a readable tar.gz: {exc}") from None
    missing = [path for path, name in expected.items() if name not in files]
    if missing:
        raise BadArchive(f"the archive lacks {missing[0]}")
    return files


def _refused(member: TarInfo, expected: bool) -> str:
    if member.issym() or member.islnk():
        return f"{member.name!r} is a link to {member.linkname!r}"
    if not expected:
        return f"{member.name!r} is not one of its files"
    return f"{member.name!r} is not a regular file" if not member.isreg() else f"{member.name!r} comes twice"


# -- the parameters, named as the CLI's options ---------------------------------------------
def _window_params(since: str) -> tuple[Param, ...]:
    return (
        Param("since", default=since, help="A duration back from `at` (90s, 15m, 1h, 7d) or an RFC 3339 time."),
        Param("until", help="A duration back from `at` or an RFC 3339 time (default: `at`); the window is [since, until)."),
        Param("at", default="now", help="An RFC 3339 time, 'now' or 'latest' (the newest stored event)."),
        Param("cluster", help="Only this cluster."),
    )


_PAGE: Final = (
    Param("limit", "integer", DEFAULT_LIMIT, "Rows per page (1 or more)."),
    Param("cursor", help="The `next` of the previous page."),
)
_FILTER: Final = (Param("namespace", help="Only this namespace."), Param("pod", help="Only this pod (NAMESPACE/NAME)."))
_BASELINE: Final = Param("baseline", default=BASELINE, help="History before `since` that defines normal behaviour.")
_ASK: Final = (*_window_params(ASK_SINCE), *_PAGE, *_FILTER)
_STORY: Final = _window_params(STORY_SINCE)

QUESTIONS: Final[dict[str, Question]] = {
    q.name: q
    for q in (
        Question(
            "ask secrets", "/ask/secrets", "ask-secrets",
            "Who read or changed Secrets, tied to the pod whenever the evidence allows.", _ASK, _secrets,
        ),
        Question(
            "ask processes", "/ask/processes", "ask-processes",
            "Processes per pod and container, and which of them the workload should not run.",
            (
                Param("unexpected", "boolean", False, "Only processes outside the baseline or flagged by a rule."),
                Param("binary", help="A path, or a name matching the path's last part."),
                Param("image", help="An image reference prefix."),
                _BASELINE, *_ASK,
            ),
            _processes, ruled=True,
        ),
        Question(
            "ask actor", "/ask/actor", "ask-actor", "Every API call of a user or service account, and which were suspicious.",
            (
                Param("name", help="The username exactly as the API server saw it (or give `sa`)."),
                Param("sa", help="A service account NAMESPACE/NAME (system:serviceaccount:NAMESPACE:NAME)."),
                _BASELINE, *_ASK,
            ),
            _actor, ruled=True,
        ),
        Question(
            "ask egress", "/ask/egress", "ask-egress",
            "Which workloads talked to what, which destinations are outside the cluster, which are new.",
            (
                Param("external", "boolean", False, "Only destinations outside the cluster."),
                Param("new", "boolean", False, "Only destinations outside the workload's baseline."),
                Param("destination", help="An IP, a CIDR or a domain (with its subdomains)."),
                Param("internal_cidr", "array", (), "Internal networks, repeatable (default RFC 1918, 100.64/10, fc00::/7)."),
                _BASELINE, *_ASK,
            ),
            _egress, ruled=True,
        ),
        Question(
            "ask trace", "/ask/trace", "ask-trace", "The causal chain from an event back to the user action that caused it.",
            (
                Param("event_id", required=True, help="The event's id."),
                Param("skew", default=SKEW, help="Clock skew tolerated between sources (a duration: 1s, 2s, 1m)."),
            ),
            _trace,
        ),
        Question(
            "incidents", "/incidents", "incidents", "Suspicious signals joined into incidents, most severe first.",
            (
                *_STORY, *_PAGE, *_FILTER,
                Param("severity", default="low", help="The least severity shown: low, medium, high or critical."),
            ),
            _incidents, ruled=True,
        ),
        Question(
            "incident", "/incidents/{id}", "incident", "One incident of the window (404 when none has that id).",
            (Param("id", in_path=True, help="The incident's id."), *_STORY), _incident, ruled=True,
        ),
        Question(
            "timeline", "/timeline", "timeline", "The steps touching a pod, actor or service account, or an incident's, by time.",
            (
                Param("actor", help="A username exactly as the API server saw it."),
                Param("sa", help="A service account NAMESPACE/NAME."),
                Param("pod", help="The pod NAMESPACE/NAME."),
                Param("incident", help="An incident's id (see incidents): its steps."),
                *_STORY, *_PAGE,
            ),
            _timeline, ruled=True,
        ),
        Question(
            "who", "/who/{ip}", "who", "Which pod, service or node held an IP at a time, and the IP's history of holders.",
            (
                Param("ip", in_path=True, help="An IPv4 or IPv6 address."),
                Param("at", default="now", help="An RFC 3339 time, 'now' or 'latest' (the newest stored event)."),
                Param("cluster", help="Only this cluster."),
            ),
            _who,
        ),
        Question(
            "status", "/status", "status", "What the store covers per cluster, source and node, audit levels and sensor drops.",
            (Param("cluster", help="Only this cluster."),), _status,
        ),
        Question(
            "show", "/events/{id}", "show", "One stored event: normalized fields, provenance and the original record (redacted).",
            (Param("id", in_path=True, help="The event's id."),), _show,
        ),
        Question(
            "export", "/export/{incident_id}", "",
            "A tar.gz of the folder `export` writes: the incident's redacted original records (events.jsonl) and its manifest"
            " (manifest.json: provenance, ids, hashes).",
            (Param("incident_id", in_path=True, help="The incident's id."), *_STORY), _archive, GZIP, ruled=True,
        ),
        Question(
            "clusters", "/clusters", "clusters", "Each cluster the store holds, and pairs that look like one.", (), _clusters
        ),
    )
}  # fmt: skip
