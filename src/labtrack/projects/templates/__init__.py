"""``labtrack init --template classification|regression DIR``: a project with chained steps.

Both templates share one set of files (``project/``); the task decides the data, the model and
the metric, through placeholders filled in when the files are copied.
"""

from __future__ import annotations

import re
import sys
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

TEMPLATES = ("classification", "regression")


class TemplateError(Exception):
    """A scaffold could not be written (unknown template, folder not empty...)."""


def _files(root: Traversable, prefix: str = "") -> list[tuple[str, Traversable]]:
    out = []
    for item in root.iterdir():
        if item.name == "__pycache__":
            continue
        name = f"{prefix}{item.name}"
        if item.is_dir():
            out.extend(_files(item, f"{name}/"))
        else:
            out.append((name, item))
    return out


def scaffold(template: str, target: Path, force: bool = False) -> Path:
    if template not in TEMPLATES:
        raise TemplateError(f"unknown template {template!r} (choose one of {', '.join(TEMPLATES)})")
    target = target.resolve()
    if target.exists() and not target.is_dir():
        raise TemplateError(f"{target} exists and is not a folder")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise TemplateError(f"{target} is not empty (use --force to write into it)")
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", target.name).strip("-") or "project"
    values = {
        "__TASK__": template,
        "__NAME__": name,
        "__PYTHON__": ".".join(map(str, sys.version_info[:2])),
    }
    root = resources.files("labtrack.projects.templates") / "project"
    for relative, source in _files(root):
        text = source.read_text(encoding="utf-8")
        for placeholder, value in values.items():
            text = text.replace(placeholder, value)
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return target
