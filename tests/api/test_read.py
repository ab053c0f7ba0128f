"""The read API of `kubetrail serve` (CONTRACT.md, the table under "kubetrail serve"): each path
answers with the CLI's `-o json` document for the same options, errors come in the contract's
one shape, and the CLI on a store a serve holds asks through it and prints what it printed
before the store was held."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import socket
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonschema
import pytest
import uvicorn
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from kubetrail.answers import export as export_module
from kubetrail.answers.requests import QUESTIONS, BadArchive, export_to, unpack_export
from kubetrail.api.held import Held, held_path, write_held
from kubetrail.api.read import routes
from kubetrail.rules import builtin
from kubetrail.store.duckdb import DuckDBStore
from kubetrail.timeutil import NS, format_ns
from tests.answers.conftest import story_store
from tests.conftest import ROOT, run_cli

CONTRACT = ROOT / "contract"
STORIES = ("actor", "exec-session", "egress", "secrets", "ip-reuse", "http-exploit")
AT = "2026-11-28T12:00:00Z"
WINDOW = ("--at", AT, "--since", "12h")
API = "/api/v1"
BINARY = {"type": "string", "format": "binary", "contentMediaType": "application/gzip"}
EXPORTED = 1_795_870_800_123_456_789  # 2026-11-28T13:00:00.123456789Z: the export time of the tests' exports


def schema(name: str) -> dict[str, Any]:
    return json.loads((CONTRACT / f"{name}.schema.json").read_text())  # type: ignore[no-any-return]


def validate(doc: Any, name: str) -> None:
    """`doc` against contract/NAME.schema.json, or against a part of it (NAME#/$defs/row)."""
    file, _, part = name.partition("#")
    contract = schema(file)
    registry = Registry().with_resource(contract["$id"], Resource.from_contents(contract))
    jsonschema.Draft202012Validator({"$ref": f"{contract['$id']}#{part}"}, registry=registry).validate(doc)


@dataclass(frozen=True)
class Case:
    cli: tuple[str, ...]  # the command and its options (-o and --db are added)
    path: str  # under /api/v1
    params: list[tuple[str, str]]  # the same options as query parameters
    schema: str

    @property
    def question(self) -> str:
        return " ".join(self.cli[:2]) if self.cli[0] == "ask" else self.cli[0]


def cases(ids: dict[str, str]) -> dict[str, Case]:
    """One question per read path, asked both ways (`ids`: things found in the store)."""
    window = [("at", AT), ("since", "12h")]
    return {
        "ask secrets": Case(("ask", "secrets", *WINDOW), "/ask/secrets", window, "ask-secrets"),
        "ask secrets, an empty window": Case(
            ("ask", "secrets", "--at", "2020-01-01T00:00:00Z"), "/ask/secrets", [("at", "2020-01-01T00:00:00Z")], "ask-secrets"
        ),
        "ask secrets, a page": Case(
            ("ask", "secrets", *WINDOW, "--limit", "2", "--namespace", "ci"), "/ask/secrets",
            [*window, ("limit", "2"), ("namespace", "ci")], "ask-secrets",
        ),
        "ask processes": Case(
            ("ask", "processes", *WINDOW, "--unexpected", "--baseline", "3d"), "/ask/processes",
            [*window, ("unexpected", "true"), ("baseline", "3d")], "ask-processes",
        ),
        "ask actor": Case(
            ("ask", "actor", "--sa", "ci/deployer", *WINDOW), "/ask/actor", [*window, ("sa", "ci/deployer")], "ask-actor"
        ),
        "ask actor by name": Case(
            ("ask", "actor", "alice@example.com", *WINDOW), "/ask/actor", [*window, ("name", "alice@example.com")], "ask-actor"
        ),
        "ask egress": Case(
            ("ask", "egress", *WINDOW, "--external", "--internal-cidr", "10.0.0.0/8", "--internal-cidr", "192.168.0.0/16"),
            "/ask/egress", [*window, ("external", "true"), ("internal_cidr", "10.0.0.0/8"), ("internal_cidr", "192.168.0.0/16")],
            "ask-egress",
        ),
        "ask trace": Case(("ask", "trace", ids["traced"]), "/ask/trace", [("event_id", ids["traced"])], "ask-trace"),
        "incidents": Case(("incidents", *WINDOW), "/incidents", window, "incidents"),
        "timeline": Case(
            ("timeline", "--sa", "payments/api", *WINDOW), "/timeline", [*window, ("sa", "payments/api")], "timeline"
        ),
        "who": Case(
            ("who", "10.244.2.17", "--at", "2026-11-28T09:10:00Z"), "/who/10.244.2.17", [("at", "2026-11-28T09:10:00Z")], "who"
        ),
        "status": Case(("status",), "/status", [], "status"),
        "show": Case(("show", ids["event"]), f"/events/{ids['event']}", [], "show"),
        "clusters": Case(("clusters",), "/clusters", [], "clusters"),
    }  # fmt: skip


CASES = list(cases({"traced": "", "event": ""}))
ERRORS = {  # what a bad question prints, the same whoever answers it
    "usage": ("ask", "secrets", "--since", "yesterday"),
    "not found": ("show", "no-such-event"),
    "no trace": ("ask", "trace", "no-such-event"),
}


@dataclass(frozen=True)
class Printed:
    returncode: int
    stdout: bytes
    stderr: bytes


def kubetrail(db: Path, *args: str) -> Printed:
    done = run_cli(*args, db=db)
    return Printed(done.returncode, done.stdout, done.stderr)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return story_store(tmp_path_factory.mktemp("read") / "k.duckdb", *STORIES)


@pytest.fixture(scope="module")
def ids(db: Path) -> dict[str, str]:
    from kubetrail.answers.requests import answer

    store = DuckDBStore(db, read_only=True)
    try:
        worst = answer("incidents", store, {"at": AT, "since": "12h"})["rows"][0]
    finally:
        store.close()
    steps = worst["steps"]
    traced = next(s["id"] for s in reversed(steps) if s["source"] == "tetragon")
    return {"incident": worst["id"], "traced": traced, "event": steps[0]["id"]}


@pytest.fixture(scope="module")
def local(db: Path, ids: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Printed]:
    """What the CLI prints on the store before it is held: each case as JSON and as a table, the
    errors, and an export (its folder as `("export", folder)`)."""
    runs = {(name, fmt): (*case.cli, "-o", fmt) for name, case in cases(ids).items() for fmt in ("json", "table")}
    runs |= {(name, "json"): (*args, "-o", "json") for name, args in ERRORS.items()}
    out = tmp_path_factory.mktemp("export-local")
    runs[("export", str(out))] = ("export", "--incident", ids["incident"], "--out", str(out), *WINDOW, "-o", "json")
    with ThreadPoolExecutor(4) as pool:
        return dict(zip(runs, pool.map(lambda args: kubetrail(db, *args), runs.values()), strict=True))


@pytest.fixture(scope="module")
def store(db: Path, local: dict[tuple[str, str], Printed]) -> Iterator[DuckDBStore]:
    """The store as `serve` holds it (read-write: no other process can open it now)."""
    held = DuckDBStore(db)
    yield held
    held.close()


def app(store: DuckDBStore, middleware: list[Middleware] | None = None) -> Starlette:
    made = Starlette(routes=routes(), middleware=middleware or [])
    made.state.store = store
    made.state.rules = builtin()
    return made


@pytest.fixture(scope="module")
def client(store: DuckDBStore) -> TestClient:
    return TestClient(app(store))


def local_json(local: dict[tuple[str, str], Printed], name: str) -> Any:
    printed = local[(name, "json")]
    assert printed.returncode == 0, printed.stderr
    return json.loads(printed.stdout)


# -- the API's documents ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def openapi(client: TestClient) -> dict[str, Any]:
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def validate_openapi(doc: Any, openapi: dict[str, Any], question: str) -> None:
    """`doc` against the response schema the OpenAPI document gives the question's path."""
    get = openapi["paths"][API + QUESTIONS[question].path]["get"]
    ref = get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    registry = Registry().with_resource("urn:openapi", Resource.from_contents(openapi, default_specification=DRAFT202012))
    jsonschema.Draft202012Validator({"$ref": f"urn:openapi{ref}"}, registry=registry).validate(doc)


@pytest.mark.parametrize("name", CASES)
def test_each_path_answers_with_the_document_the_cli_prints(
    name: str, client: TestClient, openapi: dict[str, Any], ids: dict[str, str], local: dict[tuple[str, str], Printed]
) -> None:
    case = cases(ids)[name]
    response = client.get(API + case.path, params=case.params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    doc = response.json()
    validate(doc, case.schema)
    validate_openapi(doc, openapi, case.question)
    assert doc == local_json(local, name)


def test_an_incident_by_id_is_its_row_of_incidents(
    client: TestClient, openapi: dict[str, Any], ids: dict[str, str], local: dict[tuple[str, str], Printed]
) -> None:
    response = client.get(f"{API}/incidents/{ids['incident']}", params={"at": AT, "since": "12h"})
    assert response.status_code == 200, response.text
    validate(response.json(), "incident")
    validate(response.json(), "incidents#/$defs/row")
    validate_openapi(response.json(), openapi, "incident")
    assert response.json() == next(r for r in local_json(local, "incidents")["rows"] if r["id"] == ids["incident"])
    outside = client.get(f"{API}/incidents/{ids['incident']}", params={"at": AT, "since": "1m"})
    assert outside.status_code == 404 and outside.json()["error"]["code"] == "not_found"


def test_the_incident_schema_is_the_row_of_incidents() -> None:
    # incident.schema.json copies the row (the schema tooling resolves no reference across files).
    one, many = schema("incident"), schema("incidents")
    assert {k: v for k, v in one.items() if k not in {"$schema", "$id", "title", "description", "$defs"}} == many["$defs"]["row"]
    assert one["$defs"] == {name: many["$defs"][name] for name in ("time", "step")}
    assert one["$id"] == "https://kubetrail.dev/contract/incident.schema.json"
    shipped = ROOT / "src" / "kubetrail" / "contract" / "incident.schema.json"  # the package's link to contract/
    assert shipped.read_bytes() == (CONTRACT / "incident.schema.json").read_bytes()


def export_files(archive: bytes, incident_id: str) -> dict[str, bytes]:
    """The archive's files by name, after checking its members: the export folder's two files,
    regular, mode 0644, no owner, the export's time."""
    folder = f"kubetrail-export-{incident_id}"
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == [f"{folder}/manifest.json", f"{folder}/events.jsonl"]
        for m in members:
            assert m.isreg() and m.mode == 0o644 and m.mtime == EXPORTED // NS, m.name
            assert (m.uid, m.gid, m.uname, m.gname) == (0, 0, "", ""), m.name
        return {m.name.rpartition("/")[2]: tar.extractfile(m).read() for m in members}  # type: ignore[union-attr]


def test_the_export_is_a_tar_gz_of_the_folder_export_writes(
    client: TestClient, store: DuckDBStore, openapi: dict[str, Any], ids: dict[str, str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(export_module, "time", SimpleNamespace(time_ns=lambda: EXPORTED))
    response = client.get(f"{API}/export/{ids['incident']}", params={"at": AT, "since": "12h"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/gzip"
    assert response.headers["content-disposition"] == f'attachment; filename="kubetrail-export-{ids["incident"]}.tar.gz"'
    files = export_files(response.content, ids["incident"])
    export_to(store, {"incident_id": ids["incident"], "at": AT, "since": "12h"}, tmp_path)
    assert files == {name: (tmp_path / name).read_bytes() for name in ("manifest.json", "events.jsonl")}
    # The manifest's hashes are those of the records as written, one a line.
    manifest, records = json.loads(files["manifest.json"]), files["events.jsonl"].splitlines(keepends=True)
    assert records and [e["record_sha256"] for e in manifest["events"]] == [hashlib.sha256(r).hexdigest() for r in records]
    assert manifest["exported_at"] == format_ns(EXPORTED)
    validate(manifest["incident"], "incident")
    again = client.get(f"{API}/export/{ids['incident']}", params={"at": AT, "since": "12h"})
    assert again.content == response.content  # reproducible: no time but the export's in it
    get = openapi["paths"][f"{API}/export/{{incident_id}}"]["get"]
    assert get["responses"]["200"]["content"] == {"application/gzip": {"schema": BINARY}}
    assert "content-disposition" in get["responses"]["200"]["headers"]
    assert "export" not in openapi["components"]["schemas"]


def tar_gz(*members: tuple[tarfile.TarInfo, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info, data in members:
            info.size = len(data) if info.isreg() else 0
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buffer.getvalue()


def member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info


FOLDER = "kubetrail-export-abc"
MANIFEST, EVENTS = (member(f"{FOLDER}/manifest.json"), b"{}\n"), (member(f"{FOLDER}/events.jsonl"), b"{}\n{}\n")
HOSTILE = {
    "a parent": (tar_gz(MANIFEST, EVENTS, (member("../x"), b"x")), "'../x' is not one of its files"),
    "a parent inside": (tar_gz((member(f"{FOLDER}/../manifest.json"), b"x"), EVENTS), "is not one of its files"),
    "an absolute path": (tar_gz(MANIFEST, EVENTS, (member("/etc/cron.d/x"), b"x")), "'/etc/cron.d/x' is not one of"),
    "a symlink": (
        tar_gz((member(f"{FOLDER}/manifest.json", tarfile.SYMTYPE, "/etc/passwd"), b""), EVENTS),
        f"'{FOLDER}/manifest.json' is a link to '/etc/passwd'",
    ),
    "a hard link": (tar_gz(MANIFEST, (member(f"{FOLDER}/events.jsonl", tarfile.LNKTYPE, "/etc/shadow"), b"")), "is a link"),
    "a directory": (tar_gz((member(f"{FOLDER}/manifest.json", tarfile.DIRTYPE), b""), EVENTS), "is not a regular file"),
    "another name": (tar_gz(MANIFEST, EVENTS, (member(f"{FOLDER}/run.sh"), b"x")), "is not one of its files"),
    "another folder": (tar_gz((member("kubetrail-export-other/manifest.json"), b"{}"), EVENTS), "is not one of its files"),
    "a file twice": (tar_gz(MANIFEST, EVENTS, MANIFEST), "comes twice"),
    "a file missing": (tar_gz(MANIFEST), f"lacks {FOLDER}/events.jsonl"),
    "not a tar.gz": (b'{"manifest": {}, "events": []}', "not a readable tar.gz"),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_an_export_archive_holding_anything_else_is_refused_and_nothing_written(name: str, tmp_path: Path) -> None:
    archive, says = HOSTILE[name]
    with pytest.raises(BadArchive, match=re.escape(says)):
        unpack_export(archive, "abc", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_an_export_archive_is_unpacked_into_out_as_export_writes_it(tmp_path: Path) -> None:
    summary = unpack_export(tar_gz(MANIFEST, EVENTS), "abc", tmp_path / "out")
    assert summary == {"incident": "abc", "out": str(tmp_path / "out"), "events": 2}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["events.jsonl", "manifest.json"]
    assert (tmp_path / "out" / "events.jsonl").read_bytes() == EVENTS[1]


BAD = [
    ("/ask/secrets", [("since", "yesterday")], 400, "usage"),
    ("/ask/secrets", [("limit", "0")], 400, "usage"),
    ("/ask/secrets", [("limit", "many")], 400, "usage"),
    ("/ask/secrets", [("cursor", "bogus")], 400, "usage"),
    ("/ask/secrets", [("pod", "no-namespace")], 400, "usage"),
    ("/ask/secrets", [("since", "1h"), ("since", "2h")], 400, "usage"),
    ("/ask/secrets", [("internal_cidr", "10.0.0.0/8")], 400, "usage"),  # a parameter of another path
    ("/ask/processes", [("unexpected", "perhaps")], 400, "usage"),
    ("/ask/processes", [("baseline", "a week")], 400, "usage"),
    ("/ask/egress", [("internal_cidr", "10.0.0.0/33")], 400, "usage"),
    ("/ask/actor", [], 400, "usage"),
    ("/ask/actor", [("sa", "no-namespace")], 400, "usage"),
    ("/ask/trace", [], 400, "usage"),
    ("/ask/trace", [("event_id", "no-such-event")], 404, "not_found"),
    ("/ask/trace", [("event_id", "x"), ("skew", "soon")], 400, "usage"),
    ("/timeline", [("at", AT)], 400, "usage"),
    ("/who/not-an-ip", [], 400, "usage"),
    ("/who/10.0.0.1", [("at", "yesterday")], 400, "usage"),
    ("/events/no-such-event", [], 404, "not_found"),
    ("/incidents", [("at", AT), ("severity", "severe")], 400, "usage"),
    ("/incidents/no-such-incident", [("at", AT)], 404, "not_found"),
    ("/export/no-such-incident", [("at", AT)], 404, "not_found"),
]


@pytest.mark.parametrize(("path", "params", "status", "code"), BAD)
def test_bad_parameters_are_usage_errors_and_missing_things_are_not_found(
    client: TestClient, path: str, params: list[tuple[str, str]], status: int, code: str
) -> None:
    response = client.get(API + path, params=params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert set(response.json()) == {"error"} and error["code"] == code and isinstance(error["message"], str)


def test_a_usage_error_says_what_the_cli_says(client: TestClient, local: dict[tuple[str, str], Printed]) -> None:
    assert local[("usage", "json")].returncode == 2
    response = client.get(f"{API}/ask/secrets", params={"since": "yesterday"})
    assert response.json() == json.loads(local[("usage", "json")].stdout)


def test_an_empty_window_is_noted_in_a_header(client: TestClient) -> None:
    response = client.get(f"{API}/ask/secrets", params={"at": "2020-01-01T00:00:00Z"})
    assert response.status_code == 200 and response.json()["rows"] == []
    (note,) = response.headers.get_list("kubetrail-note")
    assert note.startswith("no events at all in [2019-12-31T23:00:00.000000000Z, ")


def test_openapi_lists_every_path_its_parameters_and_the_contract_schemas(openapi: dict[str, Any]) -> None:
    doc = openapi
    assert doc["openapi"].startswith("3.1")
    contract_paths = [
        "/ask/secrets", "/ask/processes", "/ask/actor", "/ask/egress", "/ask/trace", "/incidents", "/incidents/{id}", "/timeline",
        "/who/{ip}", "/status", "/events/{id}", "/export/{incident_id}", "/clusters", "/openapi.json",
    ]  # fmt: skip
    assert sorted(doc["paths"]) == sorted(API + p for p in contract_paths)
    components = doc["components"]["schemas"]
    for name in ("ask-secrets", "ask-processes", "ask-actor", "ask-egress", "ask-trace", "incidents", "incident", "timeline",
                 "who", "status", "show", "clusters"):  # fmt: skip
        # The contract's schema, its references re-rooted where it sits and its $id left out.
        rerooted = json.loads(json.dumps(components[name]).replace(f'"#/components/schemas/{name}/', '"#/'))
        assert rerooted == {k: v for k, v in schema(name).items() if k != "$id"}
    for q in QUESTIONS.values():
        get = doc["paths"][API + q.path]["get"]
        assert [p["name"] for p in get["parameters"]] == [p.name for p in q.params]
        assert get["responses"]["404"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/error"}
        if q.media_type != "application/json":  # a file: the export's tar.gz
            assert get["responses"]["200"]["content"] == {q.media_type: {"schema": BINARY}}
            continue
        ref = get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        name, _, part = q.schema.partition("#")
        assert ref == f"#/components/schemas/{name}{part}" and name in components
        assert get["responses"]["400"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/error"}
    egress = {p["name"]: p for p in doc["paths"][f"{API}/ask/egress"]["get"]["parameters"]}
    assert egress["internal_cidr"]["schema"] == {"type": "array", "items": {"type": "string"}}
    assert egress["external"]["schema"] == {"type": "boolean", "default": False}
    assert egress["since"]["schema"] == {"type": "string", "default": "1h"}
    assert doc["paths"][f"{API}/who/{{ip}}"]["get"]["parameters"][0] | {"description": ""} == {
        "name": "ip", "in": "path", "required": True, "description": "", "schema": {"type": "string"}
    }  # fmt: skip


# -- the CLI on a store a serve holds ---------------------------------------------------------
def bearer(token: str, seen: list[str]) -> Middleware:
    """What the serve's authentication does, in a line: no valid token, no answer (`seen`: the
    paths asked)."""

    async def check(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        seen.append(request.url.path)
        if request.headers.get("authorization") != f"Bearer {token}":
            return JSONResponse({"error": {"code": "unauthorized", "message": "no valid token"}}, 401)
        return await call_next(request)

    return Middleware(BaseHTTPMiddleware, dispatch=check)


@contextmanager
def serving(made: Starlette) -> Iterator[str]:
    """A real uvicorn on a free loopback port, in a thread; yields its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(made, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def token_file(folder: Path, token: str) -> Path:
    path = folder / "token"
    path.touch(mode=0o600)
    path.write_text(token + "\n")
    return path


def hold(db: Path, url: str, token: Path, pid: int | None = None) -> None:
    write_held(str(db), Held(pid=pid or os.getpid(), url=url, token_file=str(token), db=str(db)))


def test_the_cli_on_a_held_store_asks_the_serve_and_prints_the_same(
    db: Path, store: DuckDBStore, ids: dict[str, str], local: dict[tuple[str, str], Printed], tmp_path: Path
) -> None:
    token = token_file(tmp_path, "s3cret-token")
    assert run_cli("status", "-o", "json", db=db).returncode == 1  # held, and no serve.json yet: DuckDB refuses
    seen: list[str] = []
    with serving(app(store, [bearer("s3cret-token", seen)])) as url:
        hold(db, url, token)
        try:
            asked = [(name, fmt) for name, fmt in local if name != "export"]
            for name, fmt in asked:
                args = cases(ids)[name].cli if name in CASES else ERRORS[name]
                assert kubetrail(db, *args, "-o", fmt) == local[(name, fmt)], (name, fmt)
            assert len(seen) == len(asked) and f"{API}/who/10.244.2.17" in seen
            out = tmp_path / "bundle"
            done = kubetrail(db, "export", "--incident", ids["incident"], "--out", str(out), *WINDOW, "-o", "json")
            assert done.returncode == 0, done.stderr
            ((_, folder),) = [key for key in local if key[0] == "export"]
            assert json.loads(done.stdout) == json.loads(local[("export", folder)].stdout) | {"out": str(out)}
            assert (out / "events.jsonl").read_bytes() == (Path(folder) / "events.jsonl").read_bytes()
            manifest, before = (json.loads((d / "manifest.json").read_text()) for d in (out, Path(folder)))
            assert manifest | {"exported_at": None} == before | {"exported_at": None}
            # A write cannot go through the serve's read API: it is refused, naming the process.
            for write in (("clusters", "merge", "a", "b"), ("ingest", str(ROOT / "tests" / "fixtures" / "stories" / "secrets"))):
                refused = kubetrail(db, *write, "-o", "json")
                assert refused.returncode == 1 and f"PID {os.getpid()}" in json.loads(refused.stdout)["error"]["message"]
            # A wrong token is refused by the serve, and the CLI says so.
            (tmp_path / "wrong").mkdir()
            hold(db, url, token_file(tmp_path / "wrong", "guess"))
            denied = kubetrail(db, "status", "-o", "json")
            assert denied.returncode == 1 and "refused the token" in json.loads(denied.stdout)["error"]["message"]
        finally:
            held_path(str(db)).unlink()


def test_the_cli_refuses_an_export_archive_from_the_serve_that_holds_a_link(tmp_path: Path) -> None:
    async def export(request: Request) -> Response:
        return Response(HOSTILE["a symlink"][0], media_type="application/gzip")

    db, out = tmp_path / "k.duckdb", tmp_path / "out"
    with serving(Starlette(routes=[Route(f"{API}/export/{{incident_id}}", export)])) as url:
        hold(db, url, token_file(tmp_path, "t"))
        for fmt in ("json", "table"):
            done = kubetrail(db, "export", "--incident", "abc", "--out", str(out), "-o", fmt)
            assert done.returncode == 1
            message = json.loads(done.stdout)["error"]["message"] if fmt == "json" else done.stderr.decode()
            assert f"PID {os.getpid()}" in message and f"'{FOLDER}/manifest.json' is a link to '/etc/passwd'" in message
    assert not out.exists()


def test_a_serve_that_does_not_answer_is_named_by_its_pid(tmp_path: Path) -> None:
    db = tmp_path / "k.duckdb"
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    hold(db, f"http://127.0.0.1:{port}", token_file(tmp_path, "t"))
    for fmt in ("json", "table"):
        done = kubetrail(db, "incidents", "-o", fmt)
        assert done.returncode == 1
        message = json.loads(done.stdout)["error"]["message"] if fmt == "json" else done.stderr.decode()
        assert f"PID {os.getpid()}" in message and "does not answer" in message


def test_a_serve_file_left_by_a_process_that_is_gone_is_ignored(tmp_path: Path) -> None:
    db = story_store(tmp_path / "k.duckdb", "secrets")
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True)
    hold(db, "http://127.0.0.1:9", token_file(tmp_path, "t"), pid=int(gone.stdout))
    done = kubetrail(db, "status", "-o", "json")
    assert done.returncode == 0, done.stderr
    validate(json.loads(done.stdout), "status")
    assert json.loads(done.stdout)["events"] > 0
