"""The demo notebook the README's launch command opens runs top to bottom and logs real runs."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def test_demo_notebook_runs_and_logs_three_runs(tmp_path, monkeypatch):
    store = tmp_path / "store"
    monkeypatch.setenv("LABTRACK_TRACKING_URI", str(store))
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[1] / "src"))
    # jupyter_server tells each kernel its notebook path this way.
    monkeypatch.setenv("JPY_SESSION_NAME", str(tmp_path / "labtrack-demo.ipynb"))
    source = resources.files("labtrack.demo") / "labtrack-demo.ipynb"
    nb = nbformat.reads(source.read_text(), as_version=4)
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()

    printed = "".join(
        out.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
    )
    assert "tracking to sqlite:///" in printed
    assert "lr=0.1 ->" in printed
    table = nb.cells[-1].outputs[0]["data"]["text/plain"]
    assert "lr=0.1" in table
    assert "metrics.mse" in table

    from labtrack.client.tracking_client import TrackingClient

    client = TrackingClient(str(store))
    exp = client.get_experiment_by_name("demo-regression")
    runs = client.search_runs([exp.experiment_id], order_by=["metrics.mse ASC"]).items
    assert [r.info.run_name for r in runs] == ["lr=0.1", "lr=0.05", "lr=0.01"]
    assert all(len(client.get_metric_history(r.info.run_id, "mse")) == 100 for r in runs)
    assert runs[0].data.tags["mlflow.source.type"] == "NOTEBOOK"
    assert runs[0].data.tags["mlflow.source.name"] == str(tmp_path / "labtrack-demo.ipynb")


def test_demo_copy_carries_the_kernel_metadata_jupyterlab_sets(tmp_path):
    """JupyterLab writes the kernel's language_info into an opened notebook; if the copy
    lacks it (or names the kernelspec differently) the demo opens marked as modified."""
    import json
    import sys

    from labtrack.cli import _copy_demo

    written = json.loads(_copy_demo(tmp_path).read_text())
    meta = written["metadata"]
    assert meta["kernelspec"] == {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }
    assert meta["language_info"]["version"] == sys.version.split()[0]
    assert meta["language_info"]["name"] == "python"
    # An existing copy (maybe edited by the user) is left alone.
    (tmp_path / "labtrack-demo.ipynb").write_text("{}")
    assert _copy_demo(tmp_path).read_text() == "{}"
