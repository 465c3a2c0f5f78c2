"""``ArtifactStore`` over a real S3-compatible store (SeaweedFS): the same contract as on a
local folder, the endpoint and credentials from the environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from labtrack.artifact_store.store import ArtifactStore, remote_storage_options
from labtrack.errors import LabtrackException
from seaweed_fixtures import Seaweed

pytestmark = pytest.mark.slow


@pytest.fixture
def s3_store(seaweed: Seaweed, monkeypatch: pytest.MonkeyPatch) -> ArtifactStore:
    for key in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "MLFLOW_S3_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)
    for key, value in seaweed.env().items():
        monkeypatch.setenv(key, value)
    return ArtifactStore(f"s3://{seaweed.new_bucket()}/root/prefix")


def test_storage_options_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "MLFLOW_S3_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)
    assert remote_storage_options("/some/folder") == {}
    assert remote_storage_options("s3://b/p") == {"use_listings_cache": False}
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    assert remote_storage_options("s3://b/p")["client_kwargs"] == {
        "endpoint_url": "http://127.0.0.1:1"
    }
    monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", "http://127.0.0.1:2")  # MLflow's name wins
    assert remote_storage_options("S3://b/p")["client_kwargs"] == {
        "endpoint_url": "http://127.0.0.1:2"
    }


def test_put_list_read_delete(s3_store: ArtifactStore, seaweed: Seaweed) -> None:
    assert not s3_store.is_local
    assert s3_store.list_dir("") is None  # nothing written yet
    s3_store.put_bytes("1/run/artifacts/a.txt", b"hello")
    big = os.urandom(6 * 1024 * 1024 + 17)  # more than one multipart chunk
    with s3_store.open_writer("1/run/artifacts/deep/big.bin") as writer:
        for i in range(0, len(big), 1024 * 1024):
            writer.write(big[i : i + 1024 * 1024])
    assert s3_store.read_bytes("1/run/artifacts/a.txt") == b"hello"
    assert b"".join(s3_store.iter_chunks("1/run/artifacts/deep/big.bin")) == big
    listing = s3_store.list_dir("1/run/artifacts")
    assert listing is not None
    assert [(e.path, e.is_dir, e.file_size) for e in listing] == [
        ("a.txt", False, 5),
        ("deep", True, None),
    ]
    assert sorted(s3_store.walk_files("1/run")) == [
        ("artifacts/a.txt", 5),
        ("artifacts/deep/big.bin", len(big)),
    ]
    info = s3_store.stat("1/run/artifacts/a.txt")
    assert info is not None
    assert (info.path, info.is_dir, info.file_size) == ("a.txt", False, 5)
    assert s3_store.stat("1/run/artifacts/missing") is None
    # The objects sit under the root's prefix.
    fs = seaweed.filesystem()
    assert fs.cat(f"{s3_store.root}/1/run/artifacts/a.txt") == b"hello"

    s3_store.delete("1/run/artifacts/deep")
    assert not s3_store.exists("1/run/artifacts/deep/big.bin")
    s3_store.delete("1/run/artifacts/deep", missing_ok=True)
    with pytest.raises(LabtrackException) as err:
        s3_store.read_bytes("1/run/artifacts/deep/big.bin")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(LabtrackException):
        s3_store.delete("")  # never the root


def test_an_aborted_upload_leaves_nothing(s3_store: ArtifactStore) -> None:
    writer = s3_store.open_writer("1/r/artifacts/partial.bin")
    writer.write(os.urandom(6 * 1024 * 1024))  # a multipart upload has started
    writer.abort()
    assert not s3_store.exists("1/r/artifacts/partial.bin")

    def upload_cut_off() -> None:
        with s3_store.open_writer("1/r/artifacts/x.bin") as w:
            w.write(b"half")
            raise RuntimeError("client went away")

    with pytest.raises(RuntimeError):
        upload_cut_off()
    assert not s3_store.exists("1/r/artifacts/x.bin")


@pytest.mark.parametrize(
    "hostile",
    ["../x", "a/../../x", "%2e%2e/x", "%252e%252e/x", "/abs", "a\\b", "a\x00b", "C:/x", "a//b"],
)
def test_path_safety_is_the_same_as_on_disk(s3_store: ArtifactStore, hostile: str) -> None:
    with pytest.raises(LabtrackException) as err:
        s3_store.put_bytes(hostile, b"x")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(LabtrackException):
        s3_store.list_dir(hostile)


def test_copy_in_and_out(s3_store: ArtifactStore, tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "x.txt").write_text("x")
    (src / "sub" / "y.bin").write_bytes(b"y" * 100)
    written = s3_store.log_artifacts(src, "2/r/artifacts/tree")
    assert sorted(written) == ["2/r/artifacts/tree/sub/y.bin", "2/r/artifacts/tree/x.txt"]
    out = s3_store.download("2/r/artifacts/tree", tmp_path / "out")
    assert (Path(out) / "sub" / "y.bin").read_bytes() == b"y" * 100
    assert (Path(out) / "x.txt").read_text() == "x"
    # No temp file is left beside the downloads.
    assert sorted(p.name for p in Path(out).rglob("*")) == ["sub", "x.txt", "y.bin"]
