"""hatch_build.py: building from source says "install Node.js" in one line, and a
TypeScript change is rebuilt instead of the old lab bundle being reused (issue #18)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load_hook(monkeypatch: pytest.MonkeyPatch) -> Any:
    """hatch_build.py with hatchling's base class (a build dependency, not installed here)
    stood in by a plain class: what is tested is the hook's own decision."""

    class BuildHookInterface:
        def __init__(self, root: str, target_name: str) -> None:
            self.root = root
            self.target_name = target_name

    for name in ("hatchling", "hatchling.builders", "hatchling.builders.hooks"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    plugin = types.ModuleType("hatchling.builders.hooks.plugin")
    interface = types.ModuleType("hatchling.builders.hooks.plugin.interface")
    interface.BuildHookInterface = BuildHookInterface  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "hatchling.builders.hooks.plugin", plugin)
    monkeypatch.setitem(sys.modules, "hatchling.builders.hooks.plugin.interface", interface)
    spec = importlib.util.spec_from_file_location("hatch_build", ROOT / "hatch_build.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_tree(root: Path, *, bundle_age: float, source_age: float) -> Path:
    """A checkout with a built bundle and a TypeScript source of the given ages (s)."""
    now = time.time()
    source = root / "lab-extension" / "src" / "index.ts"
    source.parent.mkdir(parents=True)
    source.write_text("export {};\n")
    os.utime(source, (now - source_age, now - source_age))
    marker = root / "src" / "labtrack" / "labextension" / "static" / "style.js"
    marker.parent.mkdir(parents=True)
    for path in (marker, marker.parents[1] / "package.json"):
        path.write_text("{}")
        os.utime(path, (now - bundle_age, now - bundle_age))
    return marker


def test_a_newer_typescript_source_rebuilds_the_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = load_hook(monkeypatch)
    marker = make_tree(tmp_path, bundle_age=60, source_age=5)
    assert hook.bundle_is_stale(tmp_path)
    monkeypatch.setattr(hook.shutil, "which", lambda name: f"/usr/bin/{name}")
    hook.LabExtensionCheck(str(tmp_path), "wheel").initialize("standard", {})
    # hatch-jupyter-builder's skip-if-exists file is gone: it builds again.
    assert not marker.exists()


def test_an_up_to_date_bundle_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hook = load_hook(monkeypatch)
    marker = make_tree(tmp_path, bundle_age=5, source_age=60)
    assert not hook.bundle_is_stale(tmp_path)
    monkeypatch.setattr(hook.shutil, "which", lambda name: None)  # no Node needed
    hook.LabExtensionCheck(str(tmp_path), "wheel").initialize("standard", {})
    assert marker.exists()


def test_a_stale_bundle_without_node_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    hook = load_hook(monkeypatch)
    marker = make_tree(tmp_path, bundle_age=60, source_age=5)
    monkeypatch.setattr(hook.shutil, "which", lambda name: None)
    with pytest.raises(SystemExit):
        hook.LabExtensionCheck(str(tmp_path), "wheel").initialize("standard", {})
    assert marker.exists()  # the old bundle is not removed when it cannot be rebuilt
    assert "install Node.js" in capsys.readouterr().err


@pytest.mark.skipif(
    shutil.which("git") is None or not (ROOT / ".git").exists(),
    reason="copies the checkout with git",
)
def test_pip_install_without_node_says_install_node_in_one_line(tmp_path: Path) -> None:
    """A real `pip wheel` of a fresh clone (no built bundle) with no node on PATH."""
    checkout = tmp_path / "checkout"
    subprocess.run(["git", "clone", "-q", "--depth=1", f"file://{ROOT}", str(checkout)], check=True)
    # The working tree's hook and config (the clone has the last commit's).
    for name in ("hatch_build.py", "pyproject.toml"):
        shutil.copy(ROOT / name, checkout / name)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    env = {**os.environ, "PATH": str(bin_dir)}
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), "."],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if "install Node.js" in line]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
