"""Malformed and oversized requests get a clear 4xx in MLflow's error shape, never a 500 or a
dropped connection. (Oversized bodies and hostile filters against the server's memory:
test_server_memory.py.)"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from live_server import LiveServer, read_until_closed, start_live_server
from live_server import post_json as _post

M = "api/2.0/mlflow"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    yield from start_live_server(tmp_path_factory.mktemp("bad-input"))


def _port(server: LiveServer) -> int:
    return int(server.url.split(":")[2].split("/")[0])


@pytest.mark.parametrize("depth", [100, 1000, 1030, 100_000])
@pytest.mark.parametrize(
    ("rpc", "field"),
    [("runs/log-batch", "metrics"), ("experiments/create", "name"), ("runs/search", "filter")],
)
def test_deeply_nested_json_is_a_400(server, depth, rpc, field):
    nested = b"[" * depth + b"]" * depth
    status, body = _post(
        server, f"{M}/{rpc}", b'{"run_id": "x", "%s": %s}' % (field.encode(), nested)
    )
    assert status == 400, body
    assert body["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "nested deeper" in body["message"]


def test_a_lone_surrogate_is_a_400_and_nothing_is_created(server):
    status, body = _post(server, f"{M}/experiments/create", b'{"name": "bad-\\ud800"}')
    assert status == 400, body
    assert "not valid Unicode" in body["message"]
    status, body = _post(server, f"{M}/experiments/search", b'{"max_results": 1000}')
    assert all("bad-" not in e["name"] for e in body["experiments"])


def test_a_byte_order_mark_is_skipped_and_the_last_duplicate_key_wins(server):
    """Decided as MLflow's server (Python's json) decides."""
    status, body = _post(server, f"{M}/experiments/create", b'\xef\xbb\xbf{"name": "with-bom"}')
    assert status == 200, body
    status, body = _post(server, f"{M}/experiments/create", b'{"name": "first", "name": "last"}')
    assert status == 200, body
    req = urllib.request.Request(
        f"{server.url}/{M}/experiments/get?experiment_id={body['experiment_id']}",
        headers={"Authorization": f"Bearer {server.token}"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert json.loads(resp.read())["experiment"]["name"] == "last"


def _chunked_post(server: LiveServer, path: str, megabytes: int) -> bytes:
    """POST a JSON body of ``megabytes`` MiB with chunked transfer encoding (no length)."""
    port = _port(server)
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        head = (
            f"POST /labtrack/{path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {server.token}\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        )
        sock.sendall(head.encode())
        piece = b"a" * (1 << 20)
        try:
            opening = b'{"name": "'
            sock.sendall(b"%x\r\n" % len(opening) + opening + b"\r\n")
            for _ in range(megabytes):
                sock.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
            sock.sendall(b"5\r\nsmall\r\n")
            sock.sendall(b'3\r\n"}\n\r\n0\r\n\r\n')
        except OSError:
            pass  # the server answered and closed while we were still sending
        return read_until_closed(sock)


def test_a_body_within_the_limit_still_arrives_chunked(server):
    answer = _chunked_post(server, f"{M}/experiments/create", 0)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:300]


def _new_run(server: LiveServer) -> str:
    status, body = _post(server, f"{M}/runs/create", b'{"experiment_id": "0"}')
    assert status == 200, body
    return body["run"]["info"]["run_id"]


def _metrics_of(server: LiveServer, run_id: str) -> list:
    req = urllib.request.Request(
        f"{server.url}/{M}/runs/get?run_id={run_id}",
        headers={"Authorization": f"Bearer {server.token}"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())["run"]["data"].get("metrics", [])


@pytest.mark.parametrize(
    "point",
    [
        {"value": "nan"},
        {"value": "1_000"},
        {"value": " 1 "},
        {"value": "0x10"},
        {"value": []},
        {"step": []},
        {"step": {}},
        {"step": ""},
        {"step": "1.5"},
    ],
)
def test_wrongly_typed_metric_fields_are_refused_and_nothing_is_stored(server, point):
    run_id = _new_run(server)
    good = {"key": "ok", "value": 1.0, "timestamp": 1, "step": 0}
    bad = {"key": "m", "value": 1.0, "timestamp": 1, "step": 1, **point}
    body = json.dumps({"run_id": run_id, "metrics": [good, bad]}).encode()
    status, answer = _post(server, f"{M}/runs/log-batch", body)
    assert status == 400, answer
    assert answer["error_code"] == "INVALID_PARAMETER_VALUE"
    assert _metrics_of(server, run_id) == []


def test_proto3_json_spellings_of_numbers_are_accepted(server):
    run_id = _new_run(server)
    points = [
        {"key": "a", "value": "NaN", "timestamp": 1, "step": "3"},
        {"key": "b", "value": "-Infinity", "timestamp": 1},
        {"key": "c", "value": "1.5e2", "timestamp": 1},
    ]
    body = json.dumps({"run_id": run_id, "metrics": points}).encode()
    assert _post(server, f"{M}/runs/log-batch", body)[0] == 200
    got = {m["key"]: (m["value"], m["step"]) for m in _metrics_of(server, run_id)}
    assert got == {"a": ("NaN", 3), "b": ("-Infinity", 0), "c": (150.0, 0)}


@pytest.mark.parametrize(
    ("rpc", "body", "field"),
    [
        ("experiments/create", {"name": 123}, "name"),
        ("runs/log-parameter", {"run_id": 31, "key": "a", "value": "v"}, "run_id"),
        ("runs/log-parameter", {"run_id": "RID", "key": 31, "value": "v"}, "key"),
        ("runs/log-parameter", {"run_id": "RID", "key": "a", "value": 5}, "value"),
        ("runs/set-tag", {"run_id": "RID", "key": "a", "value": 41}, "value"),
        ("runs/log-batch", {"run_id": "RID", "tags": [{"key": "t", "value": 41}]}, "value"),
        ("runs/log-batch", {"run_id": "RID", "params": [{"key": "p", "value": 1.5}]}, "value"),
        ("registered-models/create", {"name": 7}, "name"),
    ],
)
def test_wrongly_typed_string_fields_are_400s_that_name_the_field(server, rpc, body, field):
    run_id = _new_run(server)
    payload = {k: (run_id if v == "RID" else v) for k, v in body.items()}
    status, answer = _post(server, f"{M}/{rpc}", json.dumps(payload).encode())
    assert status == 400, answer
    assert answer["error_code"] == "INVALID_PARAMETER_VALUE"
    assert field in answer["message"]


def test_an_empty_param_value_is_a_value(server):
    run_id = _new_run(server)
    body = json.dumps({"run_id": run_id, "key": "note", "value": ""}).encode()
    assert _post(server, f"{M}/runs/log-parameter", body)[0] == 200
    req = urllib.request.Request(
        f"{server.url}/{M}/runs/get?run_id={run_id}",
        headers={"Authorization": f"Bearer {server.token}"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        params = json.loads(resp.read())["run"]["data"]["params"]
    assert params == [{"key": "note", "value": ""}]


def test_references_mlflow_does_not_check_are_not_checked(server):
    """A parent-run tag or a logged model's source run naming an unknown run is accepted, as
    MLflow accepts it (clients may create runs in any order)."""
    ghost = "f" * 32
    body = {"experiment_id": "0", "tags": [{"key": "mlflow.parentRunId", "value": ghost}]}
    status, answer = _post(server, f"{M}/runs/create", json.dumps(body).encode())
    assert status == 200, answer
    tags = {t["key"]: t["value"] for t in answer["run"]["data"]["tags"]}
    assert tags["mlflow.parentRunId"] == ghost
    body = {"experiment_id": "0", "source_run_id": ghost}
    status, answer = _post(server, f"{M}/logged-models", json.dumps(body).encode())
    assert status == 200, answer
    assert answer["model"]["info"]["source_run_id"] == ghost


@pytest.mark.parametrize(
    "path",
    [
        f"{M}/runs/get?run_id=" + "a" * 1024 * 1024,  # a served route, a long query
        f"{M}/" + "x" * 1024 * 1024,  # a long path
        f"{M}/experiments/get?experiment_id=0&pad=" + "%41" * 100_000,
    ],
)
def test_a_url_of_a_megabyte_is_a_414_in_mlflows_error_shape(server, path):
    """Tornado used to drop the connection (a reset) once the header block passed 64 KiB."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", _port(server), timeout=60)
    prefix = server.url.split(str(_port(server)), 1)[1]
    conn.request("GET", f"{prefix}/{path}", headers={"Authorization": f"Bearer {server.token}"})
    resp = conn.getresponse()
    body = json.loads(resp.read())
    assert resp.status == 414, body
    assert body["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "at most 65536" in body["message"]
    conn.close()


def test_a_url_just_under_the_limit_is_served(server):
    status_url = f"{server.url}/{M}/experiments/get?experiment_id=0&pad=" + "b" * 60_000
    req = urllib.request.Request(status_url, headers={"Authorization": f"Bearer {server.token}"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        assert resp.status == 200


@pytest.mark.parametrize(
    ("method", "path", "token", "length", "status"),
    [
        ("POST", f"{M}/runs/create", "not-the-token", 22, 403),  # refused, body unread
        ("GET", f"{M}/experiments/get?experiment_id=0", "not-the-token", None, 403),
        ("POST", f"{M}/runs/create", None, 64 << 20, 413),  # refused by its declared length
    ],
)
def test_a_keep_alive_client_can_go_on_after_a_refusal(server, method, path, token, length, status):
    """Refusals come before the (streamed) body is read, and tornado then closes the
    connection. The answer must say so (``Connection: close``): the hub's proxy keeps
    connections to the service alive and, told nothing, sent its next request on the closing
    one, got a reset and answered that request 503 (seen in CI under load)."""
    import http.client

    port = _port(server)
    prefix = server.url.split(str(port), 1)[1]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.putrequest(method, f"{prefix}/{path}")
    conn.putheader("Authorization", f"Bearer {token or server.token}")
    if length is not None:
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(length))
    conn.endheaders()
    if length == 22:
        conn.send(b'{"experiment_id": "0"}')
    refused = conn.getresponse()
    assert refused.status == status, refused.read()[:300]
    refused.read()
    # http.client, like any keep-alive client, reuses the connection unless told it closes.
    conn.request(
        "GET",
        f"{prefix}/{M}/experiments/get?experiment_id=0",
        headers={"Authorization": f"Bearer {server.token}"},
    )
    served = conn.getresponse()
    assert served.status == 200, served.read()[:300]
    conn.close()
