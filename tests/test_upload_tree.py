"""Uploading a local folder (``log_artifacts``, model packages), in-process and over REST, with
and without a progress hook: every file below it lands at its relative path, folder by folder
in name order; a file symlink is uploaded as a file, a folder symlink is not followed; the
hook sees the bytes done grow to the folder's size."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# `transport`: the fluent API in-process or over a live server (the `server` fixture).
from test_models_registry import lt as transport  # noqa: F401
from test_models_registry import server  # noqa: F401

FILES = {"a.txt": b"a", "link_to_a": b"a", "sub/b.txt": b"bb", "sub/deeper/c.bin": b"cccc"}


def _tree(root: Path) -> Path:
    (root / "sub" / "deeper").mkdir(parents=True)
    for rel, data in FILES.items():
        if rel != "link_to_a":
            (root / rel).write_bytes(data)
    (root / "link_to_a").symlink_to(root / "a.txt")
    (root / "link_to_sub").symlink_to(root / "sub", target_is_directory=True)
    return root


def _uploaded(client, run_id: str, path: str) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for entry in client.list_artifacts(run_id, path):
        if entry.is_dir:
            out.update(_uploaded(client, run_id, entry.path))
        else:
            with open(client.download_artifacts(run_id, entry.path), "rb") as f:
                out[entry.path] = f.read()
    return out


@pytest.mark.parametrize("with_progress", [False, True])
def test_a_folder_uploads_file_by_file(
    transport,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
    with_progress: bool,
) -> None:
    local = _tree(tmp_path / "tree")
    client = transport.MlflowClient()
    run_id = client.create_run(client.create_experiment(f"tree-{with_progress}")).info.run_id
    seen: list[int] = []
    root = client.backend.artifacts.relpath(client.get_run(run_id).info.artifact_uri)
    client.backend.artifacts.upload_dir(
        str(local), f"{root}/up", seen.append if with_progress else None
    )
    assert _uploaded(client, run_id, "up") == {f"up/{k}": v for k, v in FILES.items()}
    if with_progress:
        # Files go in name order (sizes 1, 1, 2, 4); in-process also reports while reading.
        assert sorted(set(seen)) == [1, 2, 4, 8]
        assert seen == sorted(seen)
        assert seen[-1] == sum(os.path.getsize(local / rel) for rel in FILES)
