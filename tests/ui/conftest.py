"""UI fixtures: a store built from the simulator's attack stories with a story of hostile field
values (HTML and script in a username, a user agent, process arguments and an alert) beside
them, and the `kubetrail ui` application on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from kubetrail.api.app import viewer
from kubetrail.api.auth import Authenticator
from kubetrail.ingest.pipeline import Options, ingest
from kubetrail.ingest.reader import expand_paths
from kubetrail.serve.config import Identity, ServeConfig
from kubetrail.simulate.run import simulate
from kubetrail.store.duckdb import DuckDBStore
from tests.conftest import FIXTURES

TOKEN = "ui-test-token"
CLUSTER = "shop-prod"
HOSTILE = FIXTURES / "ui" / "hostile"


def build_store(folder: Path) -> Path:
    """The simulator's stories (two simulated hours, seed 7) and the hostile story, in one store."""
    sim = folder / "sim"
    simulate(sim, seed=7, hours=2, events=4000, stories=True, cluster_name=CLUSTER)
    db = folder / "ui.duckdb"
    store = DuckDBStore(db)
    try:
        ingest(store, list(expand_paths([str(sim)])), Options(cluster=CLUSTER))
        ingest(store, list(expand_paths([str(HOSTILE)])), Options(cluster="hostile"))
    finally:
        store.close()
    return db


@pytest.fixture(scope="session")
def ui_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_store(tmp_path_factory.mktemp("ui"))


@pytest.fixture(scope="module")
def ui_store(ui_db: Path) -> Iterator[DuckDBStore]:
    store = DuckDBStore(ui_db, read_only=True)
    yield store
    store.close()


def logged_in(client: TestClient) -> TestClient:
    response = client.get(f"/ui/login?token={TOKEN}", follow_redirects=False)
    assert response.status_code == 303, response.text
    return client


@pytest.fixture(scope="module")
def anonymous(ui_store: DuckDBStore) -> TestClient:
    auth = Authenticator(ServeConfig(), {TOKEN: Identity("ui", "viewer")})
    return TestClient(viewer(ui_store, auth))


@pytest.fixture(scope="module")
def browser_client(ui_store: DuckDBStore) -> TestClient:
    """A client that logged in (its cookie jar holds the session)."""
    auth = Authenticator(ServeConfig(), {TOKEN: Identity("ui", "viewer")})
    return logged_in(TestClient(viewer(ui_store, auth)))
