"""No credential goes to another host: artifact locations and model sources cannot name one.

A "foreign" HTTP server on this machine records every request it gets. The tests try to make
labtrack's server hand out URIs that point MLflow clients (which send the user's token with
artifact requests) or labtrack's own client at it, and check it never hears from anyone.
"""

from __future__ import annotations

import http.server
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from labtrack.client.tracking_client import TrackingClient
from labtrack.errors import LabtrackException
from live_server import LiveServer, start_live_server
from live_server import post_json as _post

M = "api/2.0/mlflow"


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[tuple[str, str, str | None]]

    def _record(self) -> None:
        self.seen.append((self.command, self.path, self.headers.get("Authorization")))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_PUT = do_POST = _record

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def foreign() -> Iterator[tuple[str, list]]:
    seen: list = []
    handler = type("Recorder", (_Recorder,), {"seen": seen})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{httpd.server_address[1]}", seen
    finally:
        httpd.shutdown()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    yield from start_live_server(tmp_path_factory.mktemp("creds"))


def _location_variants(host: str) -> list[str]:
    return [
        f"mlflow-artifacts://{host}/stolen",
        f"MLFLOW-ARTIFACTS://{host}/stolen",
        f"Mlflow-Artifacts://{host}/stolen",
        f"mlflow-artifacts://user:pw@{host}/stolen",
        "mlflow-artifacts://localhost/stolen",
        f"http://{host}/stolen",
        f"HTTPS://{host}/stolen",
        "file:///tmp/stolen",
        "File:///tmp/stolen",
        "fIlE:/tmp/stolen",
        "/tmp/stolen",
        "s3://bucket/stolen",
        "mlflow-artifacts:/../../stolen",
        "mlflow-artifacts:/%2e%2e/stolen",
        "mlflow-artifacts:/",
        "mlflow-artifacts:/ok?x=1",
        # Relative paths name folders inside the root: none may climb out of it.
        "../stolen",
        "ok/../../stolen",
        "%2e%2e/stolen",
        "%252e%252e/stolen",
        "..\\stolen",
        "~/stolen",
        "C:stolen",
        "./",
    ]


def test_experiment_locations_cannot_name_another_host_or_leave_the_root(server, foreign):
    host, seen = foreign
    for i, location in enumerate(_location_variants(host)):
        status, body = _post(
            server, f"{M}/experiments/create", {"name": f"bad-{i}", "artifact_location": location}
        )
        assert status == 400, (location, status, body)
        assert body["error_code"] == "INVALID_PARAMETER_VALUE", (location, body)
    assert seen == []


def test_a_location_inside_the_root_is_kept_in_canonical_form(server):
    status, body = _post(
        server,
        f"{M}/experiments/create",
        {"name": "upper-case-scheme", "artifact_location": "MLFLOW-ARTIFACTS:/team/exp"},
    )
    assert status == 200, body
    req = urllib.request.Request(
        f"{server.url}/api/2.0/mlflow/experiments/get?experiment_id={body['experiment_id']}",
        headers={"Authorization": f"Bearer {server.token}"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        exp = json.loads(resp.read())["experiment"]
    assert exp["artifact_location"] == "mlflow-artifacts:/team/exp"


@pytest.mark.parametrize(
    "source",
    [
        "File:/etc/passwd",
        "FILE:///etc/passwd",
        "fIlE:///etc/passwd",
        "file://otherhost/share/model",
        "MLFLOW-ARTIFACTS://{host}/0/abc/artifacts/model",
        "mlflow-artifacts://{host}/0/abc/artifacts/model",
        "http://{host}/model",
        "HTTPS://{host}/model",
    ],
)
def test_model_version_sources_cannot_point_clients_elsewhere(server, foreign, source):
    host, seen = foreign
    name = "src-" + str(abs(hash(source)))
    assert _post(server, f"{M}/registered-models/create", {"name": name})[0] == 200
    status, body = _post(
        server, f"{M}/model-versions/create", {"name": name, "source": source.format(host=host)}
    )
    assert status == 400, (source, body)
    assert body["error_code"] == "INVALID_PARAMETER_VALUE"
    assert seen == []


def test_labtrack_client_never_follows_a_foreign_artifact_host(
    server, foreign, tmp_path, monkeypatch
):
    """Even a run whose stored URI names another host (written before these checks, or by
    hand) does not make labtrack's client send the token there."""
    from labtrack.store.tracking_store import TrackingStore

    host, seen = foreign
    store = TrackingStore(server.store_uri, server.artifact_root)
    try:
        exp_id = store.create_experiment("planted", f"mlflow-artifacts://{host}/planted", {})
    finally:
        store.dispose()
    monkeypatch.setenv("LABTRACK_TRACKING_TOKEN", server.token)
    client = TrackingClient(server.url)
    run = client.create_run(exp_id)
    assert host in run.info.artifact_uri
    payload = tmp_path / "weights.bin"
    payload.write_bytes(b"secret weights")
    with pytest.raises(LabtrackException, match="another server"):
        client.log_artifact(run.info.run_id, str(payload))
    with pytest.raises(LabtrackException, match="another server"):
        client.list_artifacts(run.info.run_id)
    with pytest.raises(LabtrackException, match="another server"):
        client.download_artifacts(run.info.run_id, "", str(tmp_path / "out"))
    assert seen == []
