"""The mlflow-artifacts routes on a real Jupyter server: roundtrips, headers, hostile paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from server_fixtures import *  # noqa: F403
from server_fixtures import Fetch, assert_error, json_of

ART = "api/2.0/mlflow-artifacts/artifacts"


def tree(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*")}


def test_upload_list_download_delete_roundtrip(
    fetch: Fetch, labtrack_paths: dict[str, Path]
) -> None:
    root = labtrack_paths["artifact_root"]
    big = bytes(range(256)) * 12_000  # ~3 MB: several chunks through the upload buffer
    r = fetch(
        f"{ART}/1/run1/artifacts/model/MLmodel",
        "PUT",
        b"flavors: {}\n",
        headers={"Content-Type": "application/octet-stream"},
    )
    assert r.code == 200, r.body
    assert json_of(r) == {}
    r = fetch(f"{ART}/1/run1/artifacts/weights.bin", "PUT", big)
    assert r.code == 200, r.body
    r = fetch(
        f"{ART}/1/run1/artifacts/notes.txt", "PUT", "héllo", headers={"Content-Type": "text/plain"}
    )
    assert r.code == 200, r.body
    assert (root / "1/run1/artifacts/weights.bin").read_bytes() == big

    listing = json_of(fetch(f"{ART}?path=1/run1/artifacts"))
    assert listing == {
        "files": [
            {"path": "model", "is_dir": True},
            {"path": "notes.txt", "is_dir": False, "file_size": len("héllo".encode())},
            {"path": "weights.bin", "is_dir": False, "file_size": len(big)},
        ]
    }
    assert json_of(fetch(f"{ART}?path=1/run1/artifacts/model")) == {
        "files": [{"path": "MLmodel", "is_dir": False, "file_size": 12}]
    }
    assert json_of(fetch(f"{ART}?path=1/missing")) == {}
    assert json_of(fetch(f"{ART}?path=1/run1/artifacts/notes.txt")) == {}
    assert [f["path"] for f in json_of(fetch(ART))["files"]] == ["1"]

    r = fetch(f"{ART}/1/run1/artifacts/weights.bin")
    assert r.code == 200
    assert r.body == big
    assert r.headers["Content-Type"] == "application/octet-stream"
    assert r.headers["Content-Length"] == str(len(big))

    r = fetch(f"{ART}/1/run1/artifacts/notes.txt")
    assert r.body.decode() == "héllo"

    r = fetch(f"{ART}/1/run1/artifacts/model", "DELETE")
    assert r.code == 200
    assert json_of(r) == {}
    assert not (root / "1/run1/artifacts/model").exists()
    r = fetch(f"{ART}/1/run1/artifacts/model", "DELETE")  # a retried DELETE succeeds
    assert r.code == 200

    assert_error(fetch(f"{ART}/1/run1/artifacts/gone.txt"), 404, "RESOURCE_DOES_NOT_EXIST")
    assert_error(fetch(f"{ART}/1/run1/artifacts"), 400, "INVALID_PARAMETER_VALUE")  # a dir


def test_ajax_alias(fetch: Fetch) -> None:
    r = fetch("ajax-api/2.0/mlflow-artifacts/artifacts/x/y.txt", "PUT", b"1")
    assert r.code == 200
    assert fetch(f"{ART}/x/y.txt").body == b"1"


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
    ],
)
def test_downloads_are_safe(fetch: Fetch, name: str, content_type: str) -> None:
    payload = b"<html><script>alert(1)</script></html>"
    assert fetch(f"{ART}/1/r/artifacts/{name}", "PUT", payload).code == 200
    r = fetch(f"{ART}/1/r/artifacts/{name}")
    assert r.code == 200
    assert r.body == payload
    assert r.headers["Content-Type"] == content_type
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Content-Disposition"].startswith("attachment;")
    assert name in r.headers["Content-Disposition"]
    assert "sandbox" in r.headers["Content-Security-Policy"]


def test_odd_but_legal_names(fetch: Fetch, labtrack_paths: dict[str, Path]) -> None:
    # %20 decodes to a space, %25 to a literal percent sign.
    assert fetch(f"{ART}/1/r/artifacts/my%20file%25.txt", "PUT", b"x").code == 200
    assert (labtrack_paths["artifact_root"] / "1/r/artifacts/my file%.txt").read_bytes() == b"x"
    r = fetch(f"{ART}/1/r/artifacts/my%20file%25.txt")
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


def test_planted_symlinks_are_not_followed(fetch: Fetch, labtrack_paths: dict[str, Path]) -> None:
    root, outside = labtrack_paths["artifact_root"], labtrack_paths["outside"]
    run = root / "1/r/artifacts"
    run.mkdir(parents=True)
    (run / "etc").symlink_to("/etc")
    (run / "out").symlink_to(outside)
    (run / "passwd").symlink_to("/etc/passwd")
    (run / "secret.txt").symlink_to(outside / "secret.txt")
    (run / "real.txt").write_text("fine")

    for path in ("etc/passwd", "out/secret.txt", "passwd", "secret.txt"):
        r = fetch(f"{ART}/1/r/artifacts/{path}")
        assert_error(r, 400, "INVALID_PARAMETER_VALUE")
        assert b"root:" not in r.body
        assert b"top secret" not in r.body
    for path in ("out/planted.txt", "out/new/planted.txt", "secret.txt"):
        assert_error(fetch(f"{ART}/1/r/artifacts/{path}", "PUT", b"planted"), 400)
        assert_error(fetch(f"{ART}/1/r/artifacts/{path}", "DELETE"), 400)
    assert_error(fetch(f"{ART}?path=1/r/artifacts/out"), 400)
    assert json_of(fetch(f"{ART}?path=1/r/artifacts")) == {
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
        self, fetch: Fetch, labtrack_paths: dict[str, Path]
    ) -> None:
        r = fetch(f"{ART}/1/r/artifacts/big.bin", "PUT", b"x" * 5000)
        assert_error(r, 413, "INVALID_PARAMETER_VALUE")
        assert tree(labtrack_paths["artifact_root"]) in (set(), {"1", "1/r", "1/r/artifacts"})
        assert fetch(f"{ART}/1/r/artifacts/small.bin", "PUT", b"x" * 1000).code == 200


def test_interrupted_upload_leaves_nothing(
    fetch: Fetch,
    labtrack_paths: dict[str, Path],
    jp_http_port: int,
    jp_base_url: str,
    jp_auth_header: dict[str, str],
    jp_asyncio_loop: Any,
) -> None:
    import asyncio

    root = labtrack_paths["artifact_root"]
    assert fetch(f"{ART}/1/r/artifacts/keep.bin", "PUT", b"old").code == 200

    async def partial_upload() -> None:
        _reader, writer = await asyncio.open_connection("127.0.0.1", jp_http_port)
        auth = "".join(f"{k}: {v}\r\n" for k, v in jp_auth_header.items())
        head = (
            f"PUT {jp_base_url}labtrack/{ART}/1/r/artifacts/keep.bin HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{jp_http_port}\r\n{auth}"
            f"Content-Length: {10_000_000}\r\n\r\n"
        )
        writer.write(head.encode() + b"n" * 3_000_000)
        await writer.drain()
        await asyncio.sleep(0.3)
        writer.close()
        await asyncio.sleep(0.5)  # let the server notice and clean up

    jp_asyncio_loop.run_until_complete(partial_upload())
    assert (root / "1/r/artifacts/keep.bin").read_bytes() == b"old"
    assert sorted(p.name for p in (root / "1/r/artifacts").iterdir()) == ["keep.bin"]
