"""`kubetrail serve --rules` (or `rules:` in its config): the store covers the rules serve runs,
and its config says which they are."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from kubetrail.rules import builtin, load
from kubetrail.serve.config import ServeConfig
from kubetrail.serve.config import load as load_config
from kubetrail.serve.run import _open
from kubetrail.store.duckdb import DuckDBStore
from tests.answers.conftest import story_store
from tests.rules.test_cli import CONFIGMAPS, rules_dir


def test_serve_covers_the_rules_it_runs_once_they_change(tmp_path: Path) -> None:
    db = story_store(tmp_path / "s.duckdb", "actor")
    active = load([rules_dir(tmp_path, CONFIGMAPS)])
    store, core = _open(ServeConfig(db=str(db)), active)
    try:
        assert store.covered_rules() == active.selections()
        assert store.candidate_counts()["api_calls"] > 0
    finally:
        core.spool.close()
        store.close()
    store = DuckDBStore(db, read_only=True)
    try:
        assert set(store.covered_rules()) == {r.id for r in builtin().rules} | {"shop-configmap-read"}
    finally:
        store.close()


def test_the_config_names_the_rule_paths_and_the_option_adds_to_none(tmp_path: Path) -> None:
    (tmp_path / "serve.yaml").write_text("rules: [/etc/kubetrail/rules]\n")
    assert load_config(str(tmp_path / "serve.yaml")).rules == ("/etc/kubetrail/rules",)
    assert load_config(str(tmp_path / "serve.yaml"), rules=("./mine",)).rules == ("./mine",)
    (tmp_path / "tokens").write_text("t0ken\n")
    out = subprocess.run(
        [sys.executable, "-m", "kubetrail", "serve", "--db", str(tmp_path / "s.duckdb"), "--token-file",
         str(tmp_path / "tokens"), "--rules", str(tmp_path / "mine"), "--print-config"],
        capture_output=True, check=True,
    )  # fmt: skip
    assert json.loads(out.stdout)["rules"] == [str(tmp_path / "mine")]
