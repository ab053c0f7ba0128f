"""DuckDB and ClickHouse give the same answers: random sets of the stories' files, ingested into
a store of each engine, asked the same questions over random windows."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubetrail.answers import egress, incidents, processes, secrets, status, timeline
from kubetrail.answers.window import Window
from kubetrail.ingest.pipeline import Options, ingest
from kubetrail.store import Store, open_store
from kubetrail.timeutil import parse_rfc3339
from tests.conftest import FIXTURES, chdb_url

FILES = sorted(p for p in (FIXTURES / "stories").rglob("*") if p.is_file())
START = parse_rfc3339("2026-11-28T08:00:00Z")
MINUTE = 60 * 10**9
_stores = itertools.count()


def answers(store: Store, window: Window) -> dict[str, Any]:
    """Every question of the store over the window; a timeline of the pod most seen in egress."""
    asked: dict[str, Callable[[], Any]] = {
        "secrets": lambda: secrets.secrets(store, secrets.Query(window)),
        "egress": lambda: egress.egress(store, egress.Query(window)),
        "processes": lambda: processes.processes(store, processes.Query(window)),
        "incidents": lambda: incidents.incidents(store, incidents.Query(window)),
        "status": lambda: status.status(store),
    }
    out = {name: ask() for name, ask in asked.items()}
    pods = sorted({r["pod"] for r in out["egress"]["rows"] if r.get("pod")})
    if pods:
        out["timeline"] = timeline.timeline(store, timeline.Query(window, pod=pods[0]))
    return out


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(
    files=st.lists(st.sampled_from(FILES), min_size=1, max_size=6, unique=True),
    start=st.integers(0, 4 * 60),
    minutes=st.sampled_from([5, 30, 60, 180, 24 * 60]),
)
def test_random_stories_and_windows_give_the_same_answers_on_both_engines(
    tmp_path: Path, files: list[Path], start: int, minutes: int
) -> None:
    window = Window(START + start * MINUTE, START + (start + minutes) * MINUTE)
    got = []
    n = next(_stores)
    for db in (str(tmp_path / f"k{n}.duckdb"), chdb_url(f"agree_{n}")):
        store = open_store(db)
        ingest(store, [str(f) for f in files], Options())
        got.append(answers(store, window))
        store.close()
    duck, ch = got
    for name in duck:
        assert ch[name] == duck[name], name
