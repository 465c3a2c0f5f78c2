"""The model registry store and service on SQLite and PostgreSQL (the ``store`` fixture)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from labtrack.errors import LabtrackException
from labtrack.service.registry import RegistryService
from labtrack.service.tracking import TrackingService
from labtrack.store import schema as s
from labtrack.store.registry_store import RegistryStore

SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.fixture
def reg(store: Any) -> RegistryService:
    return TrackingService(store).registry


def _code(exc: pytest.ExceptionInfo[LabtrackException]) -> str:
    return exc.value.error_code


def _source(store: Any, name: str = "model") -> str:
    return f"mlflow-artifacts:/0/abc/artifacts/{name}"


def _count(store: Any, table: Any) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


# ---- registered models ------------------------------------------------------------------


def test_registry_hook_builds_a_registry_service(service: TrackingService) -> None:
    assert isinstance(service.registry, RegistryService)
    assert service.registry is service.registry
    assert isinstance(service.registry.store, RegistryStore)
    assert service.registry.store.db is service.store.db


def test_create_get_update_registered_model(reg: RegistryService) -> None:
    rm = reg.create_registered_model("m1", {"team": "a"}, "first")
    assert rm.name == "m1"
    assert rm.tags == {"team": "a"}
    assert rm.description == "first"
    assert rm.creation_timestamp == rm.last_updated_timestamp > 0
    assert rm.latest_versions == []
    assert rm.aliases == {}

    with pytest.raises(LabtrackException) as exc:
        reg.create_registered_model("m1")
    assert _code(exc) == "RESOURCE_ALREADY_EXISTS"

    time.sleep(0.002)
    updated = reg.update_registered_model("m1", "second")
    assert updated.description == "second"
    assert updated.last_updated_timestamp > rm.last_updated_timestamp
    assert reg.get_registered_model("m1").description == "second"

    with pytest.raises(LabtrackException) as exc:
        reg.get_registered_model("nope")
    assert _code(exc) == "RESOURCE_DOES_NOT_EXIST"


@pytest.mark.parametrize("bad", ["", "  ", "a/b", "a:b", "x" * 257, None, 5])
def test_registered_model_names_are_validated(reg: RegistryService, bad: Any) -> None:
    with pytest.raises(LabtrackException) as exc:
        reg.create_registered_model(bad)
    assert _code(exc) == "INVALID_PARAMETER_VALUE"
    assert reg.search_registered_models().items == []


def test_tags_on_registered_models(reg: RegistryService) -> None:
    reg.create_registered_model("m")
    reg.set_registered_model_tag("m", "k", "v1")
    reg.set_registered_model_tag("m", "k", "v2")
    reg.set_registered_model_tag("m", "other", 3)
    assert reg.get_registered_model("m").tags == {"k": "v2", "other": "3"}
    reg.delete_registered_model_tag("m", "k")
    reg.delete_registered_model_tag("m", "never-set")  # a no-op, like MLflow
    assert reg.get_registered_model("m").tags == {"other": "3"}
    for key in ("", "../x", "a" * 251):
        with pytest.raises(LabtrackException):
            reg.set_registered_model_tag("m", key, "v")
    with pytest.raises(LabtrackException):
        reg.set_registered_model_tag("m", "big", "x" * 8001)
    with pytest.raises(LabtrackException) as exc:
        reg.set_registered_model_tag("missing", "k", "v")
    assert _code(exc) == "RESOURCE_DOES_NOT_EXIST"


def test_rename_keeps_versions_tags_and_aliases(reg: RegistryService, store: Any) -> None:
    reg.create_registered_model("old", {"t": "1"})
    reg.create_model_version("old", _source(store), tags={"vt": "x"})
    reg.create_model_version("old", _source(store))
    reg.set_registered_model_alias("old", "champion", "2")
    reg.create_registered_model("taken")

    with pytest.raises(LabtrackException) as exc:
        reg.rename_registered_model("old", "taken")
    assert _code(exc) == "RESOURCE_ALREADY_EXISTS"
    with pytest.raises(LabtrackException) as exc:
        reg.rename_registered_model("ghost", "x")
    assert _code(exc) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(LabtrackException) as exc:
        reg.rename_registered_model("old", "bad/name")
    assert _code(exc) == "INVALID_PARAMETER_VALUE"

    renamed = reg.rename_registered_model("old", "new")
    assert renamed.name == "new"
    assert renamed.tags == {"t": "1"}
    assert renamed.aliases == {"champion": "2"}
    assert [m.version for m in renamed.latest_versions] == ["2"]
    v1 = reg.get_model_version("new", "1")
    assert v1.tags == {"vt": "x"}
    assert reg.get_model_version_by_alias("new", "champion").version == "2"
    with pytest.raises(LabtrackException):
        reg.get_registered_model("old")
    # numbering continues under the new name
    assert reg.create_model_version("new", _source(store)).version == "3"


def test_delete_registered_model_cascades(reg: RegistryService, store: Any) -> None:
    reg.create_registered_model("gone", {"a": "b"})
    reg.create_model_version("gone", _source(store), tags={"x": "y"})
    reg.set_registered_model_alias("gone", "prod", 1)
    reg.create_registered_model("kept")
    reg.create_model_version("kept", _source(store), tags={"x": "y"})
    reg.delete_registered_model("gone")
    with pytest.raises(LabtrackException) as exc:
        reg.get_registered_model("gone")
    assert _code(exc) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(LabtrackException) as exc:
        reg.delete_registered_model("gone")
    assert _code(exc) == "RESOURCE_DOES_NOT_EXIST"
    assert _count(store, s.registered_models) == 1
    assert _count(store, s.model_versions) == 1
    assert _count(store, s.model_version_tags) == 1
    assert _count(store, s.registered_model_tags) == 0
    assert _count(store, s.registered_model_aliases) == 0
    # The name is free again and numbering restarts.
    reg.create_registered_model("gone")
    assert reg.create_model_version("gone", _source(store)).version == "1"


def test_search_registered_models(reg: RegistryService) -> None:
    for name in ("alpha", "beta", "gamma", "Alpine"):
        reg.create_registered_model(name)
    reg.set_registered_model_tag("beta", "stage", "dev")
    names = [m.name for m in reg.search_registered_models()]
    assert names == sorted(names)
    assert [m.name for m in reg.search_registered_models("name LIKE 'al%'")] == ["alpha"]
    assert {m.name for m in reg.search_registered_models("name ILIKE 'al%'")} == {
        "alpha",
        "Alpine",
    }
    assert [m.name for m in reg.search_registered_models("tags.stage = 'dev'")] == ["beta"]
    # What the MLflow client appends to every search:
    appended = reg.search_registered_models("tag.`mlflow.prompt.is_prompt` != 'true'")
    assert len(appended) == 4
    desc = reg.search_registered_models(order_by=["name DESC"])
    assert [m.name for m in desc] == sorted(names, reverse=True)

    first = reg.search_registered_models(max_results=3)
    assert len(first) == 3
    assert first.token
    second = reg.search_registered_models(max_results=3, page_token=first.token)
    assert len(second) == 1
    assert second.token is None
    assert [m.name for m in first] + [m.name for m in second] == names

    for bad in (0, 1001, -1):
        with pytest.raises(LabtrackException):
            reg.search_registered_models(max_results=bad)
    with pytest.raises(LabtrackException):
        reg.search_registered_models("name = ")
    with pytest.raises(LabtrackException):
        reg.search_registered_models(page_token="garbage")


# ---- model versions ---------------------------------------------------------------------


def test_create_and_get_model_versions(reg: RegistryService, store: Any) -> None:
    reg.create_registered_model("m")
    mv = reg.create_model_version(
        "m",
        _source(store),
        run_id="a" * 32,
        tags={"k": "v"},
        run_link="https://example.com/run",
        description="d",
        user_id="alice",
    )
    assert mv.version == "1"
    assert mv.status == "READY"
    assert mv.current_stage == "None"
    assert (mv.run_id, mv.user_id, mv.description) == ("a" * 32, "alice", "d")
    assert mv.run_link == "https://example.com/run"
    assert mv.tags == {"k": "v"}
    assert reg.create_model_version("m", _source(store)).version == "2"
    got = reg.get_model_version("m", 1)
    assert got.source == _source(store)
    assert got.aliases == []
    assert reg.get_model_version_download_uri("m", "1") == _source(store)
    rm = reg.get_registered_model("m")
    assert rm.last_updated_timestamp >= mv.creation_timestamp
    assert [m.version for m in rm.latest_versions] == ["2"]

    with pytest.raises(LabtrackException) as exc:
        reg.create_model_version("no-such-model", _source(store))
    assert _code(exc) == "RESOURCE_DOES_NOT_EXIST"
    for version in ("3", "0", "-1", 99999999999):
        with pytest.raises(LabtrackException) as exc:
            reg.get_model_version("m", version)
        assert _code(exc) == "RESOURCE_DOES_NOT_EXIST"
    for version in ("x", "1.5", None, True):
        with pytest.raises(LabtrackException) as exc:
            reg.get_model_version("m", version)
        assert _code(exc) == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize(
    "source",
    [
        "",
        "relative/path",
        "/etc/passwd",
        "file:///etc/passwd",
        "mlflow-artifacts:/0/../../etc",
        "mlflow-artifacts:/0/%2e%2e/%2e%2e/etc",
        "runs:/abc/../../x",
        "s3://bucket/a/../../b",
        "javascript:alert(1)",
        "C:\\models\\m",
        "mlflow-artifacts:/0/a\x00b",
    ],
)
def test_unsafe_sources_are_refused(reg: RegistryService, store: Any, source: str) -> None:
    reg.create_registered_model("m")
    with pytest.raises(LabtrackException) as exc:
        reg.create_model_version("m", source)
    assert _code(exc) == "INVALID_PARAMETER_VALUE"
    assert _count(store, s.model_versions) == 0


def _logged_model(store: Any, model_id: str, source_run_id: str | None = None) -> str:
    """A logged model row (as ``logged-models`` creates it); its artifact location."""
    from sqlalchemy import insert

    location = f"mlflow-artifacts:/0/models/{model_id}/artifacts"
    with store.engine.begin() as conn:
        conn.execute(
            insert(s.logged_models).values(
                model_id=model_id,
                experiment_id=0,
                name="clf",
                artifact_location=location,
                creation_timestamp=1,
                last_updated_timestamp=1,
                status="LOGGED_MODEL_READY",
                source_run_id=source_run_id,
            )
        )
    return location


def test_accepted_sources(reg: RegistryService, store: Any) -> None:
    reg.create_registered_model("m")
    root = store.artifact_root
    _logged_model(store, "m-0123456789abcdef0123456789abcdef")
    for source in (
        "mlflow-artifacts:/1/abc/artifacts/model",
        "models:/m-0123456789abcdef0123456789abcdef",
        "runs:/abcdef/model",
        "s3://bucket/path/model",
        f"{root}/0/abc/artifacts/model",
        f"file://{root}/0/abc/artifacts/model",
    ):
        assert reg.create_model_version("m", source).source == source


def test_other_version_fields_are_validated(reg: RegistryService, store: Any) -> None:
    reg.create_registered_model("m")
    bad: list[dict[str, Any]] = [
        {"run_id": "x" * 33},
        {"run_id": "../x"},
        {"run_link": "javascript:alert(1)"},
        {"run_link": "data:text/html,hi"},
        {"model_id": "m/../x"},
        {"tags": {"bad key!": "v"}},
        {"tags": {"k": "v" * 8001}},
        {"description": 5},
    ]
    for kwargs in bad:
        with pytest.raises(LabtrackException) as exc:
            reg.create_model_version("m", _source(store), **kwargs)
        assert _code(exc) == "INVALID_PARAMETER_VALUE", kwargs
    assert _count(store, s.model_versions) == 0
    ok = reg.create_model_version("m", _source(store), run_link="/lab/tree/x#run")
    assert ok.run_link == "/lab/tree/x#run"


def test_logged_model_version_uses_the_model_storage_location(
    reg: RegistryService, store: Any
) -> None:
    model_id = "m-" + "a" * 32
    location = _logged_model(store, model_id, "r" * 32)
    reg.create_registered_model("m")
    mv = reg.create_model_version("m", f"models:/{model_id}", model_id=model_id)
    assert mv.model_id == model_id
    assert mv.run_id == "r" * 32  # from the logged model, as MLflow's server does
    explicit = reg.create_model_version("m", f"models:/{model_id}", "e" * 32, model_id=model_id)
    assert explicit.run_id == "e" * 32
    assert mv.source == f"models:/{model_id}"
    assert reg.get_model_version_download_uri("m", mv.version) == location


def test_a_logged_model_source_names_an_existing_model(reg: RegistryService, store: Any) -> None:
    reg.create_registered_model("m")
    ghost = "m-" + "0" * 32
    for kwargs in ({}, {"model_id": ghost}):
        with pytest.raises(LabtrackException) as exc:
            reg.create_model_version("m", f"models:/{ghost}", **kwargs)
        assert _code(exc) == "RESOURCE_DOES_NOT_EXIST", kwargs
    other = "m-" + "1" * 32
    _logged_model(store, other)
    with pytest.raises(LabtrackException) as exc:
        reg.create_model_version("m", f"models:/{other}", model_id="m-" + "2" * 32)
    assert _code(exc) == "INVALID_PARAMETER_VALUE"
    assert _count(store, s.model_versions) == 0
    # The source alone names the logged model, as the model_id field would.
    assert reg.create_model_version("m", f"models:/{other}").model_id == other


def test_a_copied_version_downloads_from_the_original(reg: RegistryService, store: Any) -> None:
    """copy_model_version (source ``models:/<name>/<version>``): the copy downloads from the
    original's files, not from ``models:/`` of itself, and keeps its run (MLflow 3.17)."""
    original = _source(store)
    run_id = "r" * 32
    reg.create_registered_model("staging")
    reg.create_model_version("staging", original, run_id=run_id)
    reg.set_registered_model_alias("staging", "champion", 1)
    reg.create_registered_model("prod")
    copy = reg.create_model_version("prod", "models:/staging/1", run_id=run_id)
    assert copy.source == "models:/staging/1"
    assert copy.run_id == run_id
    assert reg.get_model_version_download_uri("prod", copy.version) == original
    # An alias or stage is resolved and stored as the version it named.
    by_alias = reg.create_model_version("prod", "models:/staging@champion")
    assert by_alias.source == "models:/staging/1"
    assert by_alias.run_id == run_id
    assert reg.get_model_version_download_uri("prod", by_alias.version) == original
    again = reg.create_model_version("prod", f"models:/prod/{copy.version}")
    assert reg.get_model_version_download_uri("prod", again.version) == original
    # A run that is not the original's is refused (the lineage would lie).
    with pytest.raises(LabtrackException) as exc:
        reg.create_model_version("prod", "models:/staging/1", run_id="e" * 32)
    assert _code(exc) == "INVALID_PARAMETER_VALUE"
    with pytest.raises(LabtrackException) as exc:
        reg.create_model_version("prod", "models:/staging/7")
    assert _code(exc) == "RESOURCE_DOES_NOT_EXIST"
    assert len(reg.search_model_versions("name = 'prod'")) == 3


def test_a_copied_logged_model_version_keeps_its_model(reg: RegistryService, store: Any) -> None:
    model_id = "m-" + "c" * 32
    location = _logged_model(store, model_id, "r" * 32)
    reg.create_registered_model("a")
    reg.create_model_version("a", f"models:/{model_id}", model_id=model_id)
    reg.create_registered_model("b")
    copy = reg.create_model_version("b", "models:/a/1")
    assert (copy.model_id, copy.run_id) == (model_id, "r" * 32)
    assert reg.get_model_version_download_uri("b", copy.version) == location


def test_update_and_delete_model_version(reg: RegistryService, store: Any) -> None:
    reg.create_registered_model("m")
    for _ in range(3):
        reg.create_model_version("m", _source(store), tags={"a": "b"})
    reg.set_registered_model_alias("m", "champ", 3)
    assert reg.update_model_version("m", "2", "better").description == "better"
    reg.delete_model_version("m", "3")
    with pytest.raises(LabtrackException) as exc:
        reg.get_model_version("m", "3")
    assert _code(exc) == "RESOURCE_DOES_NOT_EXIST"
    for call in (
        lambda: reg.delete_model_version("m", "3"),
        lambda: reg.update_model_version("m", "3", "x"),
        lambda: reg.set_model_version_tag("m", "3", "k", "v"),
        lambda: reg.get_model_version_download_uri("m", "3"),
        lambda: reg.transition_model_version_stage("m", "3", "Staging"),
        lambda: reg.set_registered_model_alias("m", "again", "3"),
        lambda: reg.get_model_version_by_alias("m", "champ"),
    ):
        with pytest.raises(LabtrackException) as exc:
            call()
        assert _code(exc) == "RESOURCE_DOES_NOT_EXIST"
    assert reg.get_registered_model("m").aliases == {}
    # The number is never handed out again.
    assert reg.create_model_version("m", _source(store)).version == "4"
    assert [m.version for m in reg.search_model_versions("name = 'm'")] == ["4", "2", "1"]
    assert [m.version for m in reg.get_latest_versions("m")] == ["4"]


def test_model_version_tags(reg: RegistryService, store: Any) -> None:
    reg.create_registered_model("m")
    reg.create_model_version("m", _source(store))
    reg.set_model_version_tag("m", "1", "k", "v")
    reg.set_model_version_tag("m", 1, "k", "w")
    assert reg.get_model_version("m", "1").tags == {"k": "w"}
    reg.delete_model_version_tag("m", "1", "k")
    reg.delete_model_version_tag("m", "1", "k")
    assert reg.get_model_version("m", "1").tags == {}
    with pytest.raises(LabtrackException) as exc:
        reg.set_model_version_tag("m", "2", "k", "v")
    assert _code(exc) == "RESOURCE_DOES_NOT_EXIST"


def test_stages_and_latest_versions(reg: RegistryService, store: Any) -> None:
    reg.create_registered_model("m")
    for _ in range(4):
        reg.create_model_version("m", _source(store))
    assert reg.transition_model_version_stage("m", "1", "production").current_stage == (
        "Production"
    )
    reg.transition_model_version_stage("m", "2", "STAGING")
    reg.transition_model_version_stage("m", "3", "Production")
    latest = {m.current_stage: m.version for m in reg.get_latest_versions("m")}
    assert latest == {"Production": "3", "Staging": "2", "None": "4"}
    assert [m.version for m in reg.get_latest_versions("m", ["production"])] == ["3"]
    assert [m.version for m in reg.get_latest_versions("m", ["Archived"])] == []
    assert [m.version for m in reg.get_registered_model("m").latest_versions] == ["2", "3", "4"]

    # archive_existing_versions moves the others in that stage to Archived.
    reg.transition_model_version_stage("m", "4", "Production", archive_existing_versions=True)
    stages = {m.version: m.current_stage for m in reg.search_model_versions("name='m'")}
    assert stages == {"1": "Archived", "2": "Staging", "3": "Archived", "4": "Production"}

    with pytest.raises(LabtrackException) as exc:
        reg.transition_model_version_stage("m", "1", "Deleted_Internal")
    assert _code(exc) == "INVALID_PARAMETER_VALUE"
    with pytest.raises(LabtrackException) as exc:
        reg.transition_model_version_stage("m", "1", "Archived", archive_existing_versions=True)
    assert _code(exc) == "INVALID_PARAMETER_VALUE"
    with pytest.raises(LabtrackException) as exc:
        reg.get_latest_versions("m", ["bogus"])
    assert _code(exc) == "INVALID_PARAMETER_VALUE"
    with pytest.raises(LabtrackException) as exc:
        reg.get_latest_versions("missing")
    assert _code(exc) == "RESOURCE_DOES_NOT_EXIST"


def test_search_model_versions(reg: RegistryService, store: Any) -> None:
    reg.create_registered_model("a")
    reg.create_registered_model("b")
    reg.create_model_version("a", _source(store, "one"), run_id="r1")
    time.sleep(0.01)  # distinct update times: the default order is newest first
    reg.create_model_version("a", _source(store, "two"), run_id="r2", tags={"good": "yes"})
    time.sleep(0.01)
    reg.create_model_version("b", _source(store, "one"), run_id="r1")
    keys = [(m.name, m.version) for m in reg.search_model_versions()]
    # MLflow 3.17's default order: last updated DESC, name ASC, version DESC.
    assert keys == [("b", "1"), ("a", "2"), ("a", "1")]
    assert [(m.name, m.version) for m in reg.search_model_versions("run_id = 'r1'")] == [
        ("b", "1"),
        ("a", "1"),
    ]
    assert [m.version for m in reg.search_model_versions("tags.good = 'yes'")] == ["2"]
    assert len(reg.search_model_versions("source_path LIKE '%/one'")) == 2
    ordered = reg.search_model_versions("name = 'a'", order_by=["version_number ASC"])
    assert [m.version for m in ordered] == ["1", "2"]
    page = reg.search_model_versions(max_results=2)
    assert len(page) == 2
    assert page.token
    rest = reg.search_model_versions(max_results=2, page_token=page.token)
    assert [(m.name, m.version) for m in rest] == [("a", "1")]
    assert rest.token is None
    with pytest.raises(LabtrackException):
        reg.search_model_versions("nonsense ~~ 1")
    with pytest.raises(LabtrackException):
        reg.search_model_versions(max_results=0)


# ---- aliases ----------------------------------------------------------------------------


def test_aliases(reg: RegistryService, store: Any) -> None:
    reg.create_registered_model("m")
    reg.create_model_version("m", _source(store))
    reg.create_model_version("m", _source(store))
    reg.set_registered_model_alias("m", "champion", "1")
    reg.set_registered_model_alias("m", "challenger", 2)
    assert reg.get_model_version_by_alias("m", "champion").version == "1"
    assert reg.get_model_version("m", "1").aliases == ["champion"]
    assert reg.get_registered_model("m").aliases == {"challenger": "2", "champion": "1"}
    # Moving an alias
    reg.set_registered_model_alias("m", "champion", "2")
    assert reg.get_model_version("m", "2").aliases == ["challenger", "champion"]
    assert reg.get_model_version("m", "1").aliases == []
    assert reg.resolve_model_uri("models:/m@champion").version == "2"
    assert reg.resolve_model_uri("models:/m/1").version == "1"
    assert reg.resolve_model_uri("models:/m/latest").version == "2"

    reg.delete_registered_model_alias("m", "champion")
    reg.delete_registered_model_alias("m", "champion")  # no-op
    with pytest.raises(LabtrackException) as exc:
        reg.get_model_version_by_alias("m", "champion")
    assert _code(exc) == "RESOURCE_DOES_NOT_EXIST"

    for alias in ("latest", "LATEST", "v1", "V12", "", "has space", "a/b", "x" * 256):
        with pytest.raises(LabtrackException) as exc:
            reg.set_registered_model_alias("m", alias, "1")
        assert _code(exc) == "INVALID_PARAMETER_VALUE", alias
    assert reg.set_registered_model_alias("m", "v1-candidate", "1") is None
    with pytest.raises(LabtrackException) as exc:
        reg.set_registered_model_alias("m", "ok", "7")
    assert _code(exc) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(LabtrackException) as exc:
        reg.set_registered_model_alias("ghost", "ok", "1")
    assert _code(exc) == "RESOURCE_DOES_NOT_EXIST"


def test_registry_writes_appear_in_the_change_feed(reg: RegistryService, store: Any) -> None:
    cursor, _ = store.changes_since(None)
    reg.create_registered_model("m")
    reg.create_model_version("m", _source(store), run_id="r1")
    _, items = store.changes_since(cursor)
    assert [c["kind"] for c in items] == ["registry", "registry"]
    assert items[-1]["run_id"] == "r1"


# ---- concurrency ------------------------------------------------------------------------


def test_concurrent_version_creation_in_threads(reg: RegistryService, store: Any) -> None:
    reg.create_registered_model("busy")
    threads, per_thread = 8, 5
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []
    made: list[str] = []

    def work() -> None:
        try:
            barrier.wait()
            for _ in range(per_thread):
                made.append(reg.create_model_version("busy", _source(store)).version)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(120)
    assert errors == []
    n = threads * per_thread
    assert sorted(int(v) for v in made) == list(range(1, n + 1))
    assert reg.store.version_numbers("busy") == list(range(1, n + 1))


_WORKER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from labtrack.service.tracking import TrackingService
    from labtrack.store.tracking_store import TrackingStore

    uri, root, go, count = sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
    reg = TrackingService(TrackingStore(uri, root)).registry
    deadline = time.time() + 60
    while not go.exists() and time.time() < deadline:
        time.sleep(0.005)
    for _ in range(count):
        print(reg.create_model_version("shared", "mlflow-artifacts:/0/x/artifacts/m").version)
    """
)


def test_concurrent_version_creation_in_processes(
    reg: RegistryService, store: Any, store_uri: str, tmp_path: Path
) -> None:
    reg.create_registered_model("shared")
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    procs, per_proc = 3, 8
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, store_uri, store.artifact_root, str(go), str(per_proc)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(procs)
    ]
    time.sleep(1.0)  # let them import and open the store
    go.touch()
    versions: list[int] = []
    for w in workers:
        out, err = w.communicate(timeout=120)
        assert w.returncode == 0, err
        versions += [int(line) for line in out.split()]
    n = procs * per_proc
    assert sorted(versions) == list(range(1, n + 1))
    assert reg.store.version_numbers("shared") == list(range(1, n + 1))
