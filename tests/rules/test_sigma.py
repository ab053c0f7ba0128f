"""`kubetrail rules import-sigma`: Sigma rules for Kubernetes audit logs, of the shapes the
community writes, converted through pySigma into kubetrail rules that load, and match the audit
events the Sigma rule describes; what cannot be mapped is refused with the reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from kubetrail.model import Event
from kubetrail.rules import load
from kubetrail.rules.sigma import convert
from kubetrail.store.batch import to_arrow
from kubetrail.store.duckdb import DuckDBStore
from tests.conftest import FIXTURES, ROOT, run_cli

SIGMA = FIXTURES / "sigma"
T0 = 1_764_324_000_000_000_000


def converted() -> dict[str, Any]:
    return {Path(c.source).name: c for c in convert(sorted(SIGMA.glob("*.yml")))}


def test_the_communitys_shapes_convert_with_their_metadata() -> None:
    got = converted()
    secrets = got["secrets_enumeration.yml"].rule
    assert secrets == {
        "id": "sigma-eeb3e9e1-b685-44e4-9232-6bb701f925b5",
        "title": "Kubernetes Secrets Enumeration",
        "description": "Detects enumeration of Kubernetes secrets."
        " (imported from Sigma rule eeb3e9e1-b685-44e4-9232-6bb701f925b5)",
        "severity": "low",
        "techniques": ["T1552.007"],
        "class": "api_calls",
        "condition": {"verb": "list", "resource": "secrets"},
        "reason": "Kubernetes Secrets Enumeration",
    }
    assert got["pod_exec.yml"].rule["condition"] == {"verb": "create", "resource": "pods", "subresource": "exec"}
    assert got["events_deleted.yml"].rule["techniques"] == ["T1070"]
    assert got["rbac_changes.yml"].rule["condition"] == {
        "any": [
            {"verb": ["create", "update", "patch", "delete"], "resource": {"wildcard": "*bindings"}},
            {"resource": ["roles", "clusterroles"], "verb": {"wildcard": "*ate*"}},
        ],
        # Sigma matches regardless of case; so does the conversion, where Kubernetes allows capitals.
        "not": {"authenticated_user": {"regex": "(?i)^system:.*$"}},
    }


def test_what_kubetrail_cannot_express_is_refused_with_the_reason_never_half_converted() -> None:
    got = converted()
    refused = {name: c.refused for name, c in got.items() if c.rule is None}
    assert refused == {
        "privileged_pod.yml": "field 'requestObject.spec.containers.securityContext.privileged' has no kubetrail field "
        "(docs/rules.md: the Sigma fields mapped)",
        "keywords.yml": "keywords (a value without a field)",
        "not_kubernetes.yml": "not a rule for Kubernetes audit logs (logsource product: kubernetes, service: audit)",
    }


def call(n: int, verb: str, resource: str, actor: str, impersonated_by: str | None = None, **kw: Any) -> Event:
    return Event(id=f"c{n}", time=T0 + n, source="k8s_audit", kind="api_call", cluster="c", content_hash=f"h{n}",
                 verb=verb, resource=resource, actor=actor, impersonated_by=impersonated_by, **kw)  # fmt: skip


def test_the_converted_rules_load_and_match_what_the_sigma_rules_describe(tmp_path: Path) -> None:
    for c in converted().values():
        if c.rule is not None:
            (tmp_path / f"{c.rule['id']}.yaml").write_text(yaml.safe_dump({"rules": [c.rule]}))
    rules = [r for r in load([tmp_path]).rules if not r.builtin]
    events = [
        call(0, "list", "secrets", "alice"),
        call(1, "create", "pods", "alice", subresource="exec"),
        call(2, "delete", "events", "mallory"),
        call(3, "create", "clusterrolebindings", "bob"),
        call(4, "patch", "rolebindings", "system:serviceaccount:kube-system:rbac-operator"),
        # Impersonated by a person: Sigma's user.username is who authenticated, the person.
        call(5, "update", "roles", "system:serviceaccount:ci:deployer", impersonated_by="mallory@example.com"),
        call(6, "get", "roles", "bob"),
    ]
    store = DuckDBStore(":memory:")
    try:
        store.write_events(to_arrow(events))
        found = {e["id"]: e["rules"] for e in store.rule_matches(rules, T0, T0 + 100)}
    finally:
        store.close()
    rbac = "sigma-6d2a7a1e-8f2e-4d3b-9c1a-5b6e7f8a9b0c"
    assert found == {
        "c0": ["sigma-eeb3e9e1-b685-44e4-9232-6bb701f925b5"],
        "c1": ["sigma-2f3ff5ee-0e4a-4cfc-9a2d-1e4b6f7d8c90"],
        "c2": ["sigma-3132570d-cab2-4561-9ea6-1743644b2290"],
        "c3": [rbac],
        "c5": [rbac],
    }


def test_the_command_writes_a_file_per_rule_and_exits_1_naming_what_it_refused(tmp_path: Path) -> None:
    done = run_cli("rules", "import-sigma", *map(str, sorted(SIGMA.glob("*.yml"))), "--out", str(tmp_path / "out"), "-o", "json")
    assert done.returncode == 1, done.stderr.decode()
    doc = json.loads(done.stdout)
    jsonschema.validate(doc, json.loads((ROOT / "contract" / "rules-import-sigma.schema.json").read_text()))
    assert sorted(Path(c["file"]).name for c in doc["converted"]) == sorted(
        f"sigma-{i}.yaml" for i in ("eeb3e9e1-b685-44e4-9232-6bb701f925b5", "2f3ff5ee-0e4a-4cfc-9a2d-1e4b6f7d8c90",
                                    "3132570d-cab2-4561-9ea6-1743644b2290", "6d2a7a1e-8f2e-4d3b-9c1a-5b6e7f8a9b0c")
    )  # fmt: skip
    assert {Path(r["sigma"]).name for r in doc["refused"]} == {"privileged_pod.yml", "keywords.yml", "not_kubernetes.yml"}
    assert run_cli("rules", "list", "--rules", str(tmp_path / "out"), "-o", "json").returncode == 0
