"""``import labtrack as mlflow``: MLflow 3.17's non-GenAI public names, checked one by one.

``mlflow_compat/mlflow_api_names.txt`` lists them (written by ``list_mlflow_api.py`` from a real
mlflow 3.17.2); ``mlflow_compat/known_api_gaps.txt`` lists the ones labtrack does not have yet.
A name missing from labtrack and not listed as a known gap fails (a new gap); a listed gap that
labtrack now has fails too, so the list only shrinks and the coverage figure stays true.
"""

from __future__ import annotations

import importlib
from pathlib import Path

HERE = Path(__file__).parent / "mlflow_compat"


def _lines(name: str) -> list[str]:
    text = (HERE / name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def _has(entry: str) -> bool:
    namespace, name = entry.split(":", 1)
    if namespace == "MlflowClient":
        import labtrack

        return callable(getattr(labtrack.MlflowClient, name, None))
    module_name = "labtrack" + namespace[len("mlflow") :]
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return False
    return hasattr(module, name)


def test_mlflow_public_names_exist_in_labtrack() -> None:
    names = _lines("mlflow_api_names.txt")
    gaps = set(_lines("known_api_gaps.txt"))
    missing = {entry for entry in names if not _has(entry)}
    new_gaps = sorted(missing - gaps)
    closed = sorted(gaps - missing)
    covered = len(names) - len(missing)
    print(f"labtrack has {covered} of {len(names)} MLflow 3.17 non-GenAI public names")
    assert not new_gaps, f"labtrack lost or lacks these MLflow names: {new_gaps}"
    assert not closed, f"these are no longer gaps; remove them from known_api_gaps.txt: {closed}"
