"""The artifact layer: path safety, the local store over fsspec, URIs. Real files, real links."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from labtrack.artifact_store import (
    ArtifactStore,
    clean_relpath,
    logged_model_artifact_uri,
    run_artifact_uri,
    uri_to_relpath,
)
from labtrack.artifact_store.store import TMP_PREFIX
from labtrack.errors import LabtrackException

HOSTILE = [
    "..",
    "../x",
    "a/../../x",
    "a/..",
    "%2e%2e/x",
    "%2E%2E/x",
    "a/%2e%2e/%2e%2e/x",
    "..%2fx",
    "%2e%2e%2fx",
    "%252e%252e/x",
    "%25252e%25252e/x",
    "/etc/passwd",
    "//etc/passwd",
    "%2fetc/passwd",
    "a\\b",
    "..\\x",
    "a%5c..%5cx",
    "a\x00b",
    "C:/x",
    "c:x",
    "C%3A%5Cx",
    "a//b",
    "~/x",
    "a\nb",
]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "root"
    r.mkdir()
    return r


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    o = tmp_path / "outside"
    o.mkdir()
    (o / "secret.txt").write_text("top secret")
    return o


@pytest.fixture
def store(root: Path) -> ArtifactStore:
    return ArtifactStore(str(root))


def files_under(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*")}


# -- clean_relpath -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        # the real mlflow client's log_image(key=, step=) file names: "%17..." and a uuid
        # starting "00" decode to control characters, but nothing decodes them again
        "images/loss%step%3%timestamp%1733000000000%gc0ffee-1111-2222-3333-444455556666.png",
        "images/loss%step%85%timestamp%1733000000000%hc0ffee-1111-2222-3333-444455556666.png",
        "a%17b",
    ],
)
def test_literal_percent_escapes_of_control_characters_are_file_names(path: str) -> None:
    assert clean_relpath(path) == path


@pytest.mark.parametrize("path", HOSTILE)
def test_hostile_paths_are_rejected(path: str) -> None:
    with pytest.raises(LabtrackException) as info:
        clean_relpath(path)
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert info.value.http_status == 400


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (None, ""),
        ("", ""),
        ("a", "a"),
        ("a/b/c.txt", "a/b/c.txt"),
        ("a/b/", "a/b"),
        ("./a/./b", "a/b"),
        ("my model/MLmodel", "my model/MLmodel"),
        ("100%.txt", "100%.txt"),
        ("..a/b..", "..a/b.."),
        ("ünïcode/файл.txt", "ünïcode/файл.txt"),
    ],
)
def test_good_paths_are_normalised(path: str | None, expected: str) -> None:
    assert clean_relpath(path) == expected


def test_overlong_paths_are_rejected() -> None:
    with pytest.raises(LabtrackException):
        clean_relpath("a" * 300)
    with pytest.raises(LabtrackException):
        clean_relpath("a/" * 3000)


# -- basic operations ----------------------------------------------------------------------------


def test_put_read_list_delete_roundtrip(store: ArtifactStore, root: Path) -> None:
    store.put_bytes("1/r1/artifacts/a.txt", b"hello")
    store.put_stream("1/r1/artifacts/sub/b.bin", io.BytesIO(b"x" * 3_000_000))
    store.put_stream("1/r1/artifacts/sub/c.bin", iter([b"ab", b"cd"]))
    assert (root / "1/r1/artifacts/a.txt").read_bytes() == b"hello"
    assert store.read_bytes("1/r1/artifacts/sub/c.bin") == b"abcd"
    assert b"".join(store.iter_chunks("1/r1/artifacts/sub/b.bin")) == b"x" * 3_000_000
    assert store.exists("1/r1/artifacts/a.txt")
    assert not store.exists("1/r1/artifacts/nope")

    listing = store.list_dir("1/r1/artifacts")
    assert listing is not None
    assert [e.to_json() for e in listing] == [
        {"path": "a.txt", "is_dir": False, "file_size": 5},
        {"path": "sub", "is_dir": True},
    ]
    assert store.list_dir("1/r1/artifacts/nope") is None
    assert store.list_dir("1/r1/artifacts/a.txt") is None
    assert sorted(store.walk_files("1/r1")) == [
        ("artifacts/a.txt", 5),
        ("artifacts/sub/b.bin", 3_000_000),
        ("artifacts/sub/c.bin", 4),
    ]

    store.delete("1/r1/artifacts/sub")
    assert not store.exists("1/r1/artifacts/sub/b.bin")
    store.delete("1/r1/artifacts/a.txt")
    with pytest.raises(LabtrackException) as info:
        store.delete("1/r1/artifacts/a.txt")
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    store.delete("1/r1/artifacts/a.txt", missing_ok=True)


def test_overwrite_replaces_content(store: ArtifactStore) -> None:
    store.put_bytes("f.txt", b"one")
    store.put_bytes("f.txt", b"two!")
    assert store.read_bytes("f.txt") == b"two!"


def test_missing_and_wrong_kind(store: ArtifactStore) -> None:
    with pytest.raises(LabtrackException) as info:
        store.read_bytes("nope.txt")
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    store.put_bytes("d/f.txt", b"x")
    with pytest.raises(LabtrackException) as info:
        store.read_bytes("d")
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(LabtrackException) as info:
        store.put_bytes("d", b"x")  # a directory
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(LabtrackException) as info:
        store.put_bytes("d/f.txt/g", b"x")  # a parent is a file
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(LabtrackException):
        store.put_bytes("", b"x")
    with pytest.raises(LabtrackException):
        store.delete("")


def test_root_is_created_and_may_be_a_file_uri(tmp_path: Path) -> None:
    target = tmp_path / "new" / "root"
    s = ArtifactStore(target.as_uri())
    s.put_bytes("x", b"1")
    assert (target / "x").read_bytes() == b"1"


def test_root_reached_through_a_symlink_works(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    s = ArtifactStore(str(link))
    s.put_bytes("a/b.txt", b"ok")
    assert (real / "a/b.txt").read_bytes() == b"ok"
    assert s.read_bytes("a/b.txt") == b"ok"


# -- atomic writes -------------------------------------------------------------------------------


def test_failed_stream_leaves_nothing(store: ArtifactStore, root: Path) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"partial"
        raise RuntimeError("client went away")

    with pytest.raises(RuntimeError):
        store.put_stream("run/file.bin", chunks())
    assert not store.exists("run/file.bin")
    assert not any(TMP_PREFIX in name for name in files_under(root))


def test_abort_keeps_old_version_and_hides_temp_files(store: ArtifactStore, root: Path) -> None:
    store.put_bytes("f.txt", b"old")
    writer = store.open_writer("f.txt")
    writer.write(b"new but unfinished")
    # While in progress: the old content is intact and the temp file is not listed.
    assert store.read_bytes("f.txt") == b"old"
    listing = store.list_dir("")
    assert listing is not None
    assert [e.path for e in listing] == ["f.txt"]
    assert any(TMP_PREFIX in n for n in os.listdir(root))
    writer.abort()
    assert store.read_bytes("f.txt") == b"old"
    assert not any(TMP_PREFIX in n for n in os.listdir(root))


def test_reserved_temp_names_are_refused(store: ArtifactStore) -> None:
    with pytest.raises(LabtrackException):
        store.put_bytes(f"a/{TMP_PREFIX}x", b"x")


# -- symlinks planted inside the store -----------------------------------------------------------


def test_planted_directory_symlink_is_not_followed(
    store: ArtifactStore, root: Path, outside: Path
) -> None:
    (root / "1/r/artifacts").mkdir(parents=True)
    (root / "1/r/artifacts/evil").symlink_to(outside)
    (root / "1/r/artifacts/etc").symlink_to("/etc")
    for op in (
        lambda: store.read_bytes("1/r/artifacts/evil/secret.txt"),
        lambda: store.read_bytes("1/r/artifacts/etc/passwd"),
        lambda: store.put_bytes("1/r/artifacts/evil/planted.txt", b"x"),
        lambda: store.put_bytes("1/r/artifacts/evil/new/dir/planted.txt", b"x"),
        lambda: store.list_dir("1/r/artifacts/evil"),
        lambda: store.delete("1/r/artifacts/evil/secret.txt"),
        lambda: store.exists("1/r/artifacts/evil/secret.txt"),
    ):
        with pytest.raises(LabtrackException) as info:
            op()
        assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert files_under(outside) == {"secret.txt"}
    assert (outside / "secret.txt").read_text() == "top secret"
    # Links are not listed at all (their targets' sizes would leak).
    listing = store.list_dir("1/r/artifacts")
    assert listing == []


def test_planted_file_symlink_is_not_followed(
    store: ArtifactStore, root: Path, outside: Path
) -> None:
    (root / "d").mkdir()
    (root / "d/link.txt").symlink_to(outside / "secret.txt")
    (root / "d/passwd").symlink_to("/etc/passwd")
    with pytest.raises(LabtrackException):
        store.read_bytes("d/link.txt")
    with pytest.raises(LabtrackException):
        store.read_bytes("d/passwd")
    # Writing "over" the link replaces nothing outside.
    with pytest.raises(LabtrackException):
        store.put_bytes("d/link.txt", b"overwrite")
    assert (outside / "secret.txt").read_text() == "top secret"
    assert store.list_dir("d") == []
    dest = Path(store.root).parent / "dl"
    with pytest.raises(LabtrackException):
        store.download("d/passwd", dest)


def test_download_skips_links(
    store: ArtifactStore, root: Path, outside: Path, tmp_path: Path
) -> None:
    store.put_bytes("run/a.txt", b"a")
    (root / "run/leak").symlink_to(outside)
    out = store.download("run", tmp_path / "dl")
    assert files_under(Path(out)) == {"a.txt"}


# -- copying in and out --------------------------------------------------------------------------


def test_log_artifacts_and_download(store: ArtifactStore, tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "model" / "data").mkdir(parents=True)
    (src / "model" / "MLmodel").write_text("flavors: {}")
    (src / "model" / "data" / "w.bin").write_bytes(b"\x00\x01")
    single = tmp_path / "notes.txt"
    single.write_text("hi")

    assert store.log_artifact(single, "1/r/artifacts") == "1/r/artifacts/notes.txt"
    written = store.log_artifacts(src / "model", "1/r/artifacts/model")
    assert written == ["1/r/artifacts/model/MLmodel", "1/r/artifacts/model/data/w.bin"]

    out = store.download("1/r/artifacts/model", tmp_path / "dl")
    assert out == str(tmp_path / "dl" / "model")
    assert (Path(out) / "MLmodel").read_text() == "flavors: {}"
    assert (Path(out) / "data" / "w.bin").read_bytes() == b"\x00\x01"
    one = store.download("1/r/artifacts/notes.txt", tmp_path / "dl2")
    assert Path(one).read_text() == "hi"
    with pytest.raises(LabtrackException) as info:
        store.download("1/r/artifacts/missing", tmp_path / "dl3")
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(LabtrackException):
        store.log_artifact(tmp_path / "missing.txt")
    with pytest.raises(LabtrackException):
        store.log_artifact(single, "../escape")


# -- URIs ----------------------------------------------------------------------------------------


def test_uris(store: ArtifactStore, root: Path) -> None:
    assert run_artifact_uri("1", "abc") == "mlflow-artifacts:/1/abc/artifacts"
    assert logged_model_artifact_uri("1", "m-1") == "mlflow-artifacts:/1/models/m-1/artifacts"
    assert uri_to_relpath("mlflow-artifacts:/1/abc/artifacts") == "1/abc/artifacts"
    assert uri_to_relpath("mlflow-artifacts:///1/abc/artifacts") == "1/abc/artifacts"
    assert uri_to_relpath("MLflow-Artifacts:/1/abc/artifacts") == "1/abc/artifacts"
    assert store.relpath("mlflow-artifacts:/1/abc/artifacts", "model/MLmodel") == (
        "1/abc/artifacts/model/MLmodel"
    )
    assert store.relpath((root / "1" / "abc").as_uri(), "x") == "1/abc/x"
    assert store.relpath(str(root / "1" / "abc")) == "1/abc"
    assert store.relpath(str(root)) == ""
    assert store.relpath("1/abc/artifacts") == "1/abc/artifacts"
    for bad in (
        "mlflow-artifacts:/1/../../etc",
        "mlflow-artifacts:/%2e%2e/etc",
        # A host part would send MLflow clients, with the user's token, to another server.
        "mlflow-artifacts://host:5000/1/abc/artifacts",
        "MLFLOW-ARTIFACTS://host/1/abc/artifacts",
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "File:/etc/passwd",
        "file://otherhost/share",
        "/etc/passwd",
        f"{root}/../outside",
        "s3://bucket/x",
    ):
        with pytest.raises(LabtrackException):
            store.relpath(bad)
    with pytest.raises(LabtrackException):
        store.relpath("mlflow-artifacts:/1/abc/artifacts", "../../x")


def test_crashed_upload_temp_files_are_swept(store: ArtifactStore, root: Path) -> None:
    import os
    import time

    from labtrack.artifact_store.store import TMP_PREFIX

    folder = root / "0" / "r" / "artifacts"
    folder.mkdir(parents=True)
    (folder / "kept.bin").write_bytes(b"k")
    stale = folder / f"{TMP_PREFIX}0001"
    stale.write_bytes(b"x" * 1000)
    old = time.time() - 7200
    os.utime(stale, (old, old))
    fresh = folder / f"{TMP_PREFIX}0002"  # an upload in progress
    fresh.write_bytes(b"y")
    assert store.sweep_temp_files(3600) == (1, 1000)
    assert sorted(p.name for p in folder.iterdir()) == sorted(["kept.bin", fresh.name])
    assert store.sweep_temp_files(0) == (1, 1)
