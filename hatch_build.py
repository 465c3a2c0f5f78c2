"""Build hook run before hatch-jupyter-builder's (pyproject.toml orders them).

Two first-minutes problems of building from source (issue #18):

- Without Node.js the lab extension cannot be built, and jlpm's failure is a
  long traceback with "install Node.js" buried in it: say it in one line.
- `pip install .` skips the lab build when an earlier bundle exists
  (`skip-if-exists`), so a TypeScript change was silently not installed:
  when a source is newer than the bundle, the bundle's marker file is
  removed and the extension is rebuilt.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

BUNDLE = Path("src/labtrack/labextension")
# hatch-jupyter-builder skips the build when this exists (pyproject.toml).
MARKER = BUNDLE / "static" / "style.js"
SOURCES = (
    "lab-extension/src",
    "lab-extension/style",
    "lab-extension/schema",
    "package.json",
    "tsconfig.json",
    "yarn.lock",
)
NODE_MISSING = (
    "labtrack: building the JupyterLab extension from source needs Node.js: "
    "install Node.js 20 or newer (https://nodejs.org) and retry, "
    "or install labtrack from a wheel, which ships the built extension."
)


def _files(paths: Iterable[Path]) -> Iterable[Path]:
    for path in paths:
        if path.is_dir():
            yield from (p for p in path.rglob("*") if p.is_file())
        elif path.is_file():
            yield path


def _newest(paths: Iterable[Path]) -> float:
    return max((p.stat().st_mtime for p in _files(paths)), default=0.0)


def bundle_is_stale(root: Path) -> bool:
    """True when a lab-extension source is newer than the built bundle."""
    bundle = root / BUNDLE
    if not (root / MARKER).exists():
        return False
    return _newest(root / s for s in SOURCES) > _newest([bundle])


def lab_build_needed(root: Path, version: str) -> bool:
    """Whether hatch-jupyter-builder will run jlpm (editable builds always do)."""
    return version == "editable" or not (root / MARKER).exists()


class LabExtensionCheck(BuildHookInterface):  # type: ignore[misc]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name not in ("wheel", "sdist") or os.getenv("SKIP_JUPYTER_BUILDER"):
            return
        root = Path(self.root)
        if not (root / "lab-extension" / "src").is_dir():
            return  # an unpacked sdist without sources: nothing to rebuild
        if version == "standard" and bundle_is_stale(root):
            if shutil.which("node") is not None:
                (root / MARKER).unlink()
            else:
                self._node_missing()
        if lab_build_needed(root, version) and shutil.which("node") is None:
            self._node_missing()

    @staticmethod
    def _node_missing() -> None:
        print(NODE_MISSING, file=sys.stderr)
        raise SystemExit(1)
