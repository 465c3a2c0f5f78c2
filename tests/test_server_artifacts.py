"""The mlflow-artifacts routes on a real Jupyter server: roundtrips, headers, hostile paths."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from server_fixtures import *  # noqa: F403
from server_fixtures import Fetch, assert_error, json_of

ART = "api/2.0/mlflow-artifacts/artifacts"


def tree(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*")}


@pytest.fixture
def d(fetch: Fetch) -> str:
    """A live run's artifact folder, relative to the artifact root: uploads go inside one."""
    r = fetch("api/2.0/mlflow/runs/create", "POST", json_body={"experiment_id": "0"})
    return f"0/{json_of(r)['run']['info']['run_id']}/artifacts"


def test_upload_list_download_delete_roundtrip(
    fetch: Fetch, d: str, labtrack_paths: dict[str, Path]
) -> None:
    root = labtrack_paths["artifact_root"]
    big = bytes(range(256)) * 12_000  # ~3 MB: several chunks through the upload buffer
    r = fetch(
        f"{ART}/{d}/model/MLmodel",
        "PUT",
        b"flavors: {}\n",
        headers={"Content-Type": "application/octet-stream"},
    )
    assert r.code == 200, r.body
    assert json_of(r) == {}
    r = fetch(f"{ART}/{d}/weights.bin", "PUT", big)
    assert r.code == 200, r.body
    r = fetch(f"{ART}/{d}/notes.txt", "PUT", "héllo", headers={"Content-Type": "text/plain"})
    assert r.code == 200, r.body
    assert (root / d / "weights.bin").read_bytes() == big

    listing = json_of(fetch(f"{ART}?path={d}"))
    assert listing == {
        "files": [
            {"path": "model", "is_dir": True},
            {"path": "notes.txt", "is_dir": False, "file_size": len("héllo".encode())},
            {"path": "weights.bin", "is_dir": False, "file_size": len(big)},
        ]
    }
    assert json_of(fetch(f"{ART}?path={d}/model")) == {
        "files": [{"path": "MLmodel", "is_dir": False, "file_size": 12}]
    }
    assert json_of(fetch(f"{ART}?path=1/missing")) == {}
    assert json_of(fetch(f"{ART}?path={d}/notes.txt")) == {}
    assert [f["path"] for f in json_of(fetch(ART))["files"]] == ["0"]

    r = fetch(f"{ART}/{d}/weights.bin")
    assert r.code == 200
    assert r.body == big
    assert r.headers["Content-Type"] == "application/octet-stream"
    assert r.headers["Content-Length"] == str(len(big))

    r = fetch(f"{ART}/{d}/notes.txt")
    assert r.body.decode() == "héllo"

    r = fetch(f"{ART}/{d}/model", "DELETE")
    assert r.code == 200
    assert json_of(r) == {}
    assert not (root / d / "model").exists()
    r = fetch(f"{ART}/{d}/model", "DELETE")  # a retried DELETE succeeds
    assert r.code == 200

    assert_error(fetch(f"{ART}/{d}/gone.txt"), 404, "RESOURCE_DOES_NOT_EXIST")
    assert_error(fetch(f"{ART}/{d}"), 400, "INVALID_PARAMETER_VALUE")  # a dir


def test_ajax_alias(fetch: Fetch, d: str) -> None:
    r = fetch(f"ajax-api/2.0/mlflow-artifacts/artifacts/{d}/y.txt", "PUT", b"1")
    assert r.code == 200
    assert fetch(f"{ART}/{d}/y.txt").body == b"1"


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("page.html", "application/octet-stream"),
        ("page.HTM", "application/octet-stream"),
        ("image.svg", "application/octet-stream"),
        ("script.js", "application/octet-stream"),
        ("data.xml", "application/octet-stream"),
        ("noext", "application/octet-stream"),
        ("plot.png", "image/png"),
        ("notes.txt", "text/plain; charset=utf-8"),
        ("metrics.json", "application/json"),
        ("MLmodel", "text/plain; charset=utf-8"),
        ("report.pdf", "application/pdf"),
        ("REPORT.PDF", "application/pdf"),
        ("clip.mp4", "video/mp4"),
        ("train.py", "text/plain; charset=utf-8"),
    ],
)
def test_downloads_are_safe(fetch: Fetch, d: str, name: str, content_type: str) -> None:
    payload = b"<html><script>alert(1)</script></html>"
    assert fetch(f"{ART}/{d}/{name}", "PUT", payload).code == 200
    r = fetch(f"{ART}/{d}/{name}")
    assert r.code == 200
    assert r.body == payload
    assert r.headers["Content-Type"] == content_type
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Content-Disposition"].startswith("attachment;")
    assert name in r.headers["Content-Disposition"]
    assert "sandbox" in r.headers["Content-Security-Policy"]


def test_odd_but_legal_names(fetch: Fetch, d: str, labtrack_paths: dict[str, Path]) -> None:
    # %20 decodes to a space, %25 to a literal percent sign.
    assert fetch(f"{ART}/{d}/my%20file%25.txt", "PUT", b"x").code == 200
    assert (labtrack_paths["artifact_root"] / d / "my file%.txt").read_bytes() == b"x"
    r = fetch(f"{ART}/{d}/my%20file%25.txt")
    assert r.body == b"x"
    assert "filename*=UTF-8''my%20file%25.txt" in r.headers["Content-Disposition"]


HOSTILE_SUFFIXES = [
    "../../outside/pwned.txt",
    "1/../../outside/pwned.txt",
    "%2e%2e/%2e%2e/outside/pwned.txt",
    "%2E%2E%2F%2E%2E%2Foutside%2Fpwned.txt",
    "%252e%252e/%252e%252e/outside/pwned.txt",
    "%25252e%25252e/outside/pwned.txt",
    "/etc/passwd",
    "%2Fetc%2Fpasswd",
    "..%5C..%5Coutside%5Cpwned.txt",
    "a%5Cb.txt",
    "a%00b.txt",
    "C:/outside/pwned.txt",
    "C%3A%5Coutside%5Cpwned.txt",
    "a//b.txt",
    "",
]


@pytest.mark.parametrize("suffix", HOSTILE_SUFFIXES)
def test_hostile_paths_are_refused(
    fetch: Fetch, labtrack_paths: dict[str, Path], tmp_path: Path, suffix: str
) -> None:
    before = tree(tmp_path)
    for method, body in (("PUT", b"PAYLOAD-XYZ"), ("GET", None), ("DELETE", None)):
        r = fetch(f"{ART}/{suffix}", method, body)
        assert_error(r, 400, "INVALID_PARAMETER_VALUE")
        assert b"root:" not in r.body
        assert b"top secret" not in r.body
    assert tree(tmp_path) == before
    assert (labtrack_paths["outside"] / "secret.txt").read_text() == "top secret"


@pytest.mark.parametrize(
    "query", ["path=..", "path=%2e%2e", "path=%252e%252e", "path=/etc", "path=a%5Cb", "path=a%00"]
)
def test_hostile_list_paths_are_refused(fetch: Fetch, query: str) -> None:
    assert_error(fetch(f"{ART}?{query}"), 400, "INVALID_PARAMETER_VALUE")


def test_planted_symlinks_are_not_followed(
    fetch: Fetch, d: str, labtrack_paths: dict[str, Path]
) -> None:
    root, outside = labtrack_paths["artifact_root"], labtrack_paths["outside"]
    run = root / d
    run.mkdir(parents=True)
    (run / "etc").symlink_to("/etc")
    (run / "out").symlink_to(outside)
    (run / "passwd").symlink_to("/etc/passwd")
    (run / "secret.txt").symlink_to(outside / "secret.txt")
    (run / "real.txt").write_text("fine")

    for path in ("etc/passwd", "out/secret.txt", "passwd", "secret.txt"):
        r = fetch(f"{ART}/{d}/{path}")
        assert_error(r, 400, "INVALID_PARAMETER_VALUE")
        assert b"root:" not in r.body
        assert b"top secret" not in r.body
    for path in ("out/planted.txt", "out/new/planted.txt", "secret.txt"):
        assert_error(fetch(f"{ART}/{d}/{path}", "PUT", b"planted"), 400)
        assert_error(fetch(f"{ART}/{d}/{path}", "DELETE"), 400)
    assert_error(fetch(f"{ART}?path={d}/out"), 400)
    assert json_of(fetch(f"{ART}?path={d}")) == {
        "files": [{"path": "real.txt", "is_dir": False, "file_size": 4}]
    }
    assert {p.name for p in outside.iterdir()} == {"secret.txt"}
    assert (outside / "secret.txt").read_text() == "top secret"


def test_multipart_upload_routes_are_not_found(fetch: Fetch) -> None:
    for path in ("mpu/create/1/r/artifacts/x", "mpu/complete/1/r/artifacts/x"):
        r = fetch(f"api/2.0/mlflow-artifacts/{path}", "POST", json_body={"path": "x"})
        assert_error(r, 404, "ENDPOINT_NOT_FOUND")


class TestUploadLimit:
    @pytest.fixture
    def labtrack_config(self) -> dict[str, Any]:
        return {"max_upload_bytes": 1000}

    def test_too_large_upload_is_refused(
        self, fetch: Fetch, labtrack_paths: dict[str, Path], d: str
    ) -> None:
        r = fetch(f"{ART}/{d}/big.bin", "PUT", b"x" * 5000)
        assert_error(r, 413, "INVALID_PARAMETER_VALUE")
        parts = d.split("/")
        folders = {"/".join(parts[: i + 1]) for i in range(len(parts))}
        assert tree(labtrack_paths["artifact_root"]) in (set(), folders)
        assert fetch(f"{ART}/{d}/small.bin", "PUT", b"x" * 1000).code == 200


def test_interrupted_upload_leaves_nothing(
    fetch: Fetch,
    d: str,
    labtrack_paths: dict[str, Path],
    jp_http_port: int,
    jp_base_url: str,
    jp_auth_header: dict[str, str],
    jp_asyncio_loop: Any,
) -> None:
    import asyncio

    root = labtrack_paths["artifact_root"]
    assert fetch(f"{ART}/{d}/keep.bin", "PUT", b"old").code == 200

    async def partial_upload() -> None:
        _reader, writer = await asyncio.open_connection("127.0.0.1", jp_http_port)
        auth = "".join(f"{k}: {v}\r\n" for k, v in jp_auth_header.items())
        head = (
            f"PUT {jp_base_url}labtrack/{ART}/{d}/keep.bin HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{jp_http_port}\r\n{auth}"
            f"Content-Length: {10_000_000}\r\n\r\n"
        )
        writer.write(head.encode() + b"n" * 3_000_000)
        await writer.drain()
        await asyncio.sleep(0.3)
        writer.close()
        await asyncio.sleep(0.5)  # let the server notice and clean up

    jp_asyncio_loop.run_until_complete(partial_upload())
    assert (root / d / "keep.bin").read_bytes() == b"old"
    assert sorted(p.name for p in (root / d).iterdir()) == ["keep.bin"]


BAD_VALUE = "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize(
    "path",
    [
        "0",  # the experiment's own folder (a file named 0 used to block experiment 0)
        "0/x.txt",
        "0/{run}",
        "0/{run}/artifacts",  # the run's folder itself
        "0/{run}/notes.txt",  # beside the run's artifacts
        "0/{other}/artifacts/x.txt",  # a run that does not exist
        "7/{run}/artifacts/x.txt",  # the run, under another experiment's folder
        "0/models/m-0123456789abcdef0123456789abcdef/artifacts/x",
        "elsewhere/artifacts/x.txt",
    ],
)
def test_uploads_cannot_create_or_replace_the_stores_own_layout(
    fetch: Fetch, d: str, labtrack_paths: dict[str, Path], path: str
) -> None:
    root = labtrack_paths["artifact_root"]
    run = d.split("/")[1]
    target = path.format(run=run, other="f" * 32)
    before = tree(root)
    # A path of the layout's form whose run or model is not there is 404 (the request is
    # well formed; the owner is missing); any other path is 400.
    missing_owner = re.fullmatch(r"[0-9]+/(models/m-[0-9a-f]{32}|\w+)/artifacts/.+", target)
    status, code = (404, "RESOURCE_DOES_NOT_EXIST") if missing_owner else (400, BAD_VALUE)
    assert_error(fetch(f"{ART}/{target}", "PUT", b"x"), status, code)
    assert_error(fetch(f"{ART}/{target}", "DELETE"), status, code)
    assert tree(root) == before
    # Experiment 0 and its runs still work afterwards.
    assert fetch(f"{ART}/{d}/ok.txt", "PUT", b"ok").code == 200
    assert [f["path"] for f in json_of(fetch(f"{ART}?path={d}"))["files"]] == ["ok.txt"]


def _end_run(fetch: Fetch, d: str, status: str = "FINISHED") -> None:
    body = {"run_id": d.split("/")[1], "status": status}
    assert fetch("api/2.0/mlflow/runs/update", "POST", json_body=body).code == 200


def test_a_finished_runs_artifacts_are_not_silently_replaced(
    fetch: Fetch, d: str, labtrack_paths: dict[str, Path]
) -> None:
    root = labtrack_paths["artifact_root"]
    assert fetch(f"{ART}/{d}/model.pkl", "PUT", b"v1").code == 200
    assert fetch(f"{ART}/{d}/model.pkl", "PUT", b"v2").code == 200  # a running run: fine
    _end_run(fetch, d)
    r = fetch(f"{ART}/{d}/model.pkl", "PUT", b"v3")
    assert_error(r, 400, "RESOURCE_ALREADY_EXISTS")
    assert "overwrite=true" in json_of(r)["message"]
    assert (root / d / "model.pkl").read_bytes() == b"v2"
    assert_error(fetch(f"{ART}/{d}/model.pkl", "DELETE"), 400, "INVALID_STATE")
    assert (root / d / "model.pkl").read_bytes() == b"v2"
    # New files may still be added (MLflow logs to finished runs), and replacing is explicit.
    assert fetch(f"{ART}/{d}/eval.json", "PUT", b"{}").code == 200
    assert fetch(f"{ART}/{d}/model.pkl?overwrite=true", "PUT", b"v3").code == 200
    assert (root / d / "model.pkl").read_bytes() == b"v3"


def test_a_deleted_run_takes_no_artifact_writes(fetch: Fetch, d: str) -> None:
    assert fetch(f"{ART}/{d}/a.txt", "PUT", b"a").code == 200
    body = {"run_id": d.split("/")[1]}
    assert fetch("api/2.0/mlflow/runs/delete", "POST", json_body=body).code == 200
    r = fetch(f"{ART}/{d}/b.txt", "PUT", b"b")
    assert_error(r, 400, "INVALID_PARAMETER_VALUE")
    assert "deleted" in json_of(r)["message"]
    assert_error(fetch(f"{ART}/{d}/a.txt", "DELETE"), 400, "INVALID_PARAMETER_VALUE")


def test_a_finalized_logged_models_files_are_not_replaced(fetch: Fetch) -> None:
    r = fetch("api/2.0/mlflow/logged-models", "POST", json_body={"experiment_id": "0"})
    model = json_of(r)["model"]["info"]
    folder = model["artifact_uri"].split(":", 1)[1].lstrip("/")
    assert fetch(f"{ART}/{folder}/MLmodel", "PUT", b"flavors: {}").code == 200
    r = fetch(
        f"api/2.0/mlflow/logged-models/{model['model_id']}",
        "PATCH",
        json_body={"model_id": model["model_id"], "status": "LOGGED_MODEL_READY"},
    )
    assert r.code == 200, r.body
    assert_error(fetch(f"{ART}/{folder}/MLmodel", "PUT", b"x"), 400, "RESOURCE_ALREADY_EXISTS")
    assert fetch(f"{ART}/{folder}/MLmodel").body == b"flavors: {}"


def test_the_server_sweeps_temp_files_a_crash_left(
    fetch: Fetch, labtrack_paths: dict[str, Path]
) -> None:
    import os
    import time

    from labtrack.artifact_store.store import TMP_PREFIX

    root = labtrack_paths["artifact_root"]
    left = root / "0" / "f" / "artifacts" / f"{TMP_PREFIX}crashed"
    left.parent.mkdir(parents=True)
    left.write_bytes(b"half an upload")
    os.utime(left, (time.time() - 7200,) * 2)
    assert fetch(f"{ART}?path=0").code == 200  # the first artifact request opens the store
    deadline = time.monotonic() + 10
    while left.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not left.exists()
