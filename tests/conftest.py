"""Shared fixtures: real stores on SQLite (a temp file) and on the local PostgreSQL server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

# Keras 3 picks its backend at import; the tests have PyTorch (TensorFlow is not installed).
os.environ.setdefault("KERAS_BACKEND", "torch")

PG_ADMIN_URL = os.environ.get("LABTRACK_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _pg_available() -> str | None:
    try:
        import psycopg

        with psycopg.connect(
            PG_ADMIN_URL.replace("postgresql://", "postgresql://", 1), connect_timeout=3
        ):
            return None
    except Exception as exc:  # pragma: no cover - depends on the machine
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}"


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    problem = _pg_available()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    import psycopg

    name = f"labtrack_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _reset_pg(url: str) -> None:
    """Drop every table so each test starts from an empty, freshly migrated database."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_uri(request: pytest.FixtureRequest, tmp_path) -> str:
    """A store URI for an empty database, once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'labtrack.db'}"
    url = request.getfixturevalue("pg_database")
    _reset_pg(url)
    return url


@pytest.fixture
def store(store_uri: str, tmp_path):
    from labtrack.store.tracking_store import TrackingStore

    st = TrackingStore(store_uri, str(tmp_path / "artifacts"))
    yield st
    st.dispose()


@pytest.fixture
def service(store):
    from labtrack.service.tracking import TrackingService

    return TrackingService(store)


@pytest.fixture
def fluent(tmp_path, monkeypatch):
    """The fluent API pointed at a fresh SQLite store, with its process state reset."""
    import labtrack as lt
    from labtrack import config
    from labtrack.client import fluent as fl

    for var in (
        "LABTRACK_TRACKING_URI",
        "MLFLOW_TRACKING_URI",
        "LABTRACK_STORE_URI",
        "LABTRACK_EXPERIMENT_NAME",
        "MLFLOW_EXPERIMENT_NAME",
        "LABTRACK_EXPERIMENT_ID",
        "MLFLOW_EXPERIMENT_ID",
        "LABTRACK_RUN_ID",
        "MLFLOW_RUN_ID",
        "LABTRACK_ARTIFACT_ROOT",
    ):
        monkeypatch.delenv(var, raising=False)
    lt.set_tracking_uri(str(tmp_path / "store"))
    fl._active_experiment_id = None
    fl._run_stack.clear()
    yield lt
    while fl._run_stack:
        lt.end_run()
    lt.flush()
    # lt.autolog() enables every installed integration: none outlives its test
    from labtrack.autologging import core as autolog_core

    autolog_core.disable_all()
    fl._client = None
    config.set_process_tracking_uri(None)
    fl._active_experiment_id = None
