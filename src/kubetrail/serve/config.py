"""`kubetrail serve` configuration: a YAML file and the command's options, parsed once into frozen
objects. Options given on the command line win over the file. Tokens are read from files (one
accepted bearer token per line) and never printed: `--print-config` shows their files, roles,
clusters and a fingerprint of each.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Final

import yaml

from kubetrail.alerts import AlertSettings, OutputConfig
from kubetrail.api.tls import TLSConfig
from kubetrail.correlate.incidents import SEVERITIES

ROLES: Final = ("ingest", "viewer", "admin")
DEFAULT_LISTEN: Final = "127.0.0.1:8443"


class ConfigError(ValueError):
    """What is wrong in the configuration, where, and what to do."""


@dataclass(frozen=True)
class Identity:
    """Who a sender or reader is, once authenticated: what it may do and which cluster its data is of."""

    name: str
    role: str  # ingest | viewer | admin
    cluster: str | None = None  # the cluster of everything it sends (authoritative); None: CONTRACT.md's rule
    cluster_from_query: bool = False  # may name the cluster with ?cluster=

    def may(self, role: str) -> bool:
        return self.role in (role, "admin")


@dataclass(frozen=True)
class TokenSet:
    file: str
    identity: Identity
    tokens: tuple[str, ...] = field(repr=False, default=())


@dataclass(frozen=True)
class ClientCert:
    cn: str
    identity: Identity


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 16 << 20  # a request body as sent (413 beyond)
    max_decoded_bytes: int = 64 << 20  # ... and once decompressed (413 beyond)
    max_inflight_bytes: int = 256 << 20  # bodies being received at once (503 beyond): the memory bound
    per_sender_inflight: int = 16  # requests of one sender at once (429 beyond)
    spool_high_water: int = 1 << 30  # spool bytes not yet in the store (503 beyond)
    retry_after_seconds: int = 2
    normalize_workers: int = 1  # processes that normalize the next group while the drain writes one (0: the drain itself)


@dataclass(frozen=True)
class ServeConfig:
    db: str = "./kubetrail.duckdb"
    listen: str = DEFAULT_LISTEN
    cluster: str | None = None  # the cluster of senders that have none configured
    token_sets: tuple[TokenSet, ...] = ()
    client_certs: tuple[ClientCert, ...] = ()
    tls: TLSConfig | None = None
    audit_requires_client_cert: bool = False
    spool_dir: str | None = None  # default: <db>.spool
    limits: Limits = Limits()
    follow: tuple[str, ...] = ()
    metrics_public: bool = False  # /metrics without a token
    alerts: AlertSettings = field(default_factory=AlertSettings)
    outputs: tuple[OutputConfig, ...] = ()  # alerts.outputs: where incidents are told
    rules: tuple[str, ...] = ()  # rule files or directories beside the built-in rules (docs/rules.md)

    @property
    def host_port(self) -> tuple[str, int]:
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]") or "127.0.0.1", int(port)

    @property
    def spool(self) -> Path:
        return Path(self.spool_dir or f"{self.db}.spool")

    def printable(self) -> dict[str, Any]:
        """The effective configuration, tokens masked (their files and fingerprints only)."""
        return {
            "db": self.db,
            "listen": self.listen,
            "cluster": self.cluster,
            "tokens": [
                {
                    "file": t.file, "role": t.identity.role, "cluster": t.identity.cluster,
                    "cluster_from_query": t.identity.cluster_from_query,
                    "tokens": [_fingerprint(tok) for tok in t.tokens],
                }
                for t in self.token_sets
            ],
            "client_certs": [{"cn": c.cn, "role": c.identity.role, "cluster": c.identity.cluster} for c in self.client_certs],
            "tls": None if self.tls is None else {
                "cert_file": self.tls.cert_file, "key_file": self.tls.key_file, "client_ca_file": self.tls.client_ca_file,
            },
            "audit_requires_client_cert": self.audit_requires_client_cert,
            "spool": {"dir": str(self.spool)},
            "limits": {f.name: getattr(self.limits, f.name) for f in fields(self.limits)},
            "follow": list(self.follow),
            "rules": list(self.rules),
            "metrics_public": self.metrics_public,
            "alerts": {
                **{f.name: getattr(self.alerts, f.name) for f in fields(self.alerts)},
                "outputs": [{f.name: getattr(o, f.name) for f in fields(o)} for o in self.outputs],
            },
        }  # fmt: skip


def _fingerprint(token: str) -> str:
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()[:12] + "…"


def load(
    path: str | None, *, db: str | None = None, listen: str | None = None, token_file: str | None = None,
    cluster: str | None = None, follow: tuple[str, ...] = (), rules: tuple[str, ...] = (),
) -> ServeConfig:  # fmt: skip
    """The configuration of the file at `path` (if any), with the command's options over it."""
    doc: dict[str, Any] = {}
    where = path or "the command line"
    if path is not None:
        try:
            loaded = yaml.safe_load(Path(path).read_text())
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read the configuration: {exc.strerror}") from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{path}: the configuration must be a mapping of keys (db, listen, tokens, ...)")
        doc = loaded or {}
    config = _parse(doc, where)
    overrides: dict[str, Any] = {}
    if db is not None:
        overrides["db"] = db
    if listen is not None:
        overrides["listen"] = _listen(listen, "--listen")
    if cluster is not None:
        overrides["cluster"] = cluster
    if follow:
        overrides["follow"] = tuple(follow)
    if rules:
        overrides["rules"] = tuple(rules)
    if token_file is not None:
        overrides["token_sets"] = (*config.token_sets, _token_set({"file": token_file, "role": "admin"}, "--token-file"))
    return replace(config, **overrides)


_KEYS: Final = frozenset(
    {"db", "listen", "cluster", "token_file", "tokens", "client_certs", "tls", "audit_requires_client_cert", "spool",
     "limits", "follow", "metrics_public", "alerts", "rules"}
)  # fmt: skip


def _parse(doc: dict[str, Any], where: str) -> ServeConfig:
    unknown = sorted(set(doc) - _KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(_KEYS))})")
    tokens = [_token_set(t, f"{where}: tokens[{i}]") for i, t in enumerate(_list(doc, "tokens", where))]
    if doc.get("token_file"):
        tokens.append(_token_set({"file": doc["token_file"], "role": "admin"}, f"{where}: token_file"))
    certs = tuple(_client_cert(c, f"{where}: client_certs[{i}]") for i, c in enumerate(_list(doc, "client_certs", where)))
    tls = doc.get("tls")
    limits = doc.get("limits") or {}
    known_limits = {f.name for f in fields(Limits)}
    if not isinstance(limits, dict) or set(limits) - known_limits:
        raise ConfigError(f"{where}: limits: a mapping of {', '.join(sorted(known_limits))}")
    spool = doc.get("spool") or {}
    settings, outputs = _alerts(doc.get("alerts") or {}, f"{where}: alerts")
    return ServeConfig(
        db=str(doc.get("db", ServeConfig.db)),
        listen=_listen(str(doc.get("listen", DEFAULT_LISTEN)), f"{where}: listen"),
        cluster=doc.get("cluster"),
        token_sets=tuple(tokens),
        client_certs=certs,
        tls=None if not tls else TLSConfig(tls["cert_file"], tls["key_file"], tls.get("client_ca_file")),
        audit_requires_client_cert=bool(doc.get("audit_requires_client_cert", False)),
        spool_dir=spool.get("dir"),
        limits=Limits(**{k: int(v) for k, v in limits.items()}),
        follow=tuple(str(p) for p in _list(doc, "follow", where)),
        rules=tuple(str(p) for p in _list(doc, "rules", where)),
        metrics_public=bool(doc.get("metrics_public", False)),
        alerts=settings,
        outputs=outputs,
    )


def _alerts(doc: Any, where: str) -> tuple[AlertSettings, tuple[OutputConfig, ...]]:
    """`alerts:` — the engine's settings and its outputs; refresh at most every 2 minutes, as
    Alertmanager resolves an alert not sent again within its resolve_timeout (5 min by default)."""
    if not isinstance(doc, dict):
        raise ConfigError(f"{where}: a mapping of link_base, quiet_seconds, refresh_seconds, ..., outputs")
    known = {f.name for f in fields(AlertSettings)}
    unknown = sorted(set(doc) - known - {"outputs"})
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(known | {'outputs'}))})")
    try:
        settings = AlertSettings(**{k: v for k, v in doc.items() if k != "outputs"})
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    if not 0 < settings.refresh_seconds <= 120:
        raise ConfigError(f"{where}: refresh_seconds {settings.refresh_seconds}: give 1 to 120 (Alertmanager forgets in 5 min)")
    outputs = tuple(_output(o, f"{where}: outputs[{i}]") for i, o in enumerate(_list(doc, "outputs", where)))
    names = [o.name for o in outputs]
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: outputs: each needs a name of its own (got {', '.join(names)})")
    return settings, outputs


def _output(entry: Any, where: str) -> OutputConfig:
    known = {f.name for f in fields(OutputConfig)}
    if not isinstance(entry, dict) or entry.get("type") not in ("alertmanager", "slack", "webhook"):
        raise ConfigError(f"{where}: give {{type: alertmanager|slack|webhook, name: NAME, ...}}")
    unknown = sorted(set(entry) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    severity = entry.get("min_severity", "medium")
    if severity not in SEVERITIES:
        raise ConfigError(f"{where}: min_severity {severity!r}: give one of {', '.join(SEVERITIES)}")
    values = {**entry, "name": str(entry.get("name", entry["type"]))}
    for key in ("clusters", "namespaces"):
        values[key] = tuple(str(v) for v in entry.get(key) or ())
    return OutputConfig(**values)


def _list(doc: dict[str, Any], key: str, where: str) -> list[Any]:
    value = doc.get(key) or []
    if not isinstance(value, list):
        raise ConfigError(f"{where}: {key} must be a list")
    return value


def _identity(entry: dict[str, Any], name: str, where: str) -> Identity:
    role = entry.get("role", "admin")
    if role not in ROLES:
        raise ConfigError(f"{where}: role {role!r}: give one of {', '.join(ROLES)}")
    return Identity(name, role, entry.get("cluster"), bool(entry.get("cluster_from_query", entry.get("cluster") is None)))


def _token_set(entry: Any, where: str) -> TokenSet:
    if not isinstance(entry, dict) or "file" not in entry:
        raise ConfigError(f"{where}: give {{file: PATH, role: ingest|viewer|admin, cluster: NAME}}")
    path = str(entry["file"])
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read token file {path}: {exc.strerror}") from exc
    tokens = tuple(t for line in lines if (t := line.strip()) and not t.startswith("#"))
    if not tokens:
        raise ConfigError(f"{where}: token file {path} holds no token (one per line)")
    return TokenSet(path, _identity(entry, f"token:{Path(path).name}", where), tokens)


def _client_cert(entry: Any, where: str) -> ClientCert:
    if not isinstance(entry, dict) or "cn" not in entry:
        raise ConfigError(f"{where}: give {{cn: NAME, role: ingest|viewer|admin, cluster: NAME}}")
    return ClientCert(str(entry["cn"]), _identity(entry, f"cert:{entry['cn']}", where))


def _listen(text: str, where: str) -> str:
    _, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ConfigError(f"{where} {text!r}: give HOST:PORT, e.g. {DEFAULT_LISTEN}")
    return text
