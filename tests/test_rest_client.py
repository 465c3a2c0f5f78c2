"""labtrack's own client over HTTP (the REST transport) against a real Jupyter server."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from labtrack.client.tracking_client import TrackingClient
from labtrack.errors import LabtrackException
from live_server import LiveServer, start_live_server

SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    yield from start_live_server(tmp_path_factory.mktemp("rest"))


@pytest.fixture
def http_client(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> TrackingClient:
    monkeypatch.setenv("LABTRACK_TRACKING_TOKEN", server.token)
    return TrackingClient(server.url)


def test_fluent_api_over_http_lands_in_the_servers_store(server: LiveServer, tmp_path) -> None:
    (tmp_path / "out.txt").write_text("artifact body")
    code = f"""
        import labtrack as lt
        lt.set_experiment("over-http")
        with lt.start_run(run_name="remote") as run:
            lt.log_params({{"lr": 0.1}})
            for i in range(2500):
                lt.log_metric("loss", 1 / (i + 1), step=i)
            lt.set_tag("via", "http")
            lt.log_artifact({str(tmp_path / "out.txt")!r}, "files")
            lt.log_text("hi", "notes/hi.txt")
        print(run.info.run_id)
    """
    env = {
        **os.environ,
        "PYTHONPATH": SRC,
        "LABTRACK_TRACKING_URI": server.url,
        "LABTRACK_TRACKING_TOKEN": server.token,
    }
    res = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    run_id = res.stdout.strip()
    # Read back in-process from the server's own database: the same data.
    local = TrackingClient(server.store_uri, artifact_root=server.artifact_root)
    run = local.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params == {"lr": "0.1"}
    assert run.data.tags["via"] == "http"
    assert len(local.get_metric_history(run_id, "loss")) == 2500
    paths = sorted(f.path for f in local.list_artifacts(run_id, "files"))
    assert paths == ["files/out.txt"]


def test_rest_client_reads_search_and_downloads(http_client: TrackingClient, tmp_path) -> None:
    exp = http_client.create_experiment("rest-read")
    run = http_client.create_run(exp, run_name="r1", tags={"k": "v"})
    rid = run.info.run_id
    http_client.log_param(rid, "p", 1)
    http_client.log_metric(rid, "m", float("nan"), step=0, synchronous=True)
    http_client.log_metric(rid, "m", 2.0, step=1, synchronous=True)
    http_client.log_bytes(rid, b"hello", "dir/a.txt")
    found = http_client.search_runs([exp], "params.p = '1'")
    assert [r.info.run_id for r in found] == [rid]
    history = http_client.get_metric_history(rid, "m")
    assert [m.step for m in history] == [0, 1]
    assert history[0].value != history[0].value  # NaN survives the wire
    listing = http_client.list_artifacts(rid, "dir")
    assert [(f.path, f.file_size) for f in listing] == [("dir/a.txt", 5)]
    out = http_client.download_artifacts(rid, "dir", str(tmp_path / "dl"))
    assert (Path(out) / "a.txt").read_bytes() == b"hello"
    assert http_client.get_experiment_by_name("no-such-experiment") is None
    with pytest.raises(LabtrackException) as err:
        http_client.log_param(rid, "p", 2)
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"


def test_a_wrong_token_is_refused(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABTRACK_TRACKING_TOKEN", "wrong")
    with pytest.raises(LabtrackException) as err:
        TrackingClient(server.url).search_experiments()
    assert err.value.error_code in ("PERMISSION_DENIED", "UNAUTHENTICATED")


def test_view_types_in_any_case_mean_the_same_over_http(http_client: TrackingClient) -> None:
    """The server takes only the enum's names on the wire (as MLflow's does); the REST client
    sends the Python API's ``"all"`` or ``""`` as in-process code reads them."""
    exp = http_client.create_experiment("rest-view-types")
    run = http_client.create_run(exp)
    http_client.delete_run(run.info.run_id)
    for view_type in ("all", "ALL", "deleted_only"):
        found = http_client.search_runs([exp], run_view_type=view_type)
        assert [r.info.run_id for r in found] == [run.info.run_id], view_type
    assert list(http_client.search_runs([exp], run_view_type="")) == []
    names = {e.name for e in http_client.search_experiments(view_type="all")}
    assert "rest-view-types" in names
