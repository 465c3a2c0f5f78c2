"""The widgets demo notebook runs headless (nbclient) and its saved outputs are right: the
magic's runs (FINISHED and FAILED), live values while a cell trains, Vega-Lite v6 charts, and
a readable static view next to every widget view."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).parent / "notebooks" / "widgets_demo.ipynb"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
VEGALITE_V6 = "application/vnd.vegalite.v6+json"
STATIC = "application/vnd.labtrack.static+json"


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> tuple[nbformat.NotebookNode, str]:
    tmp = tmp_path_factory.mktemp("widgets-nb")
    store = f"sqlite:///{tmp / 'labtrack.db'}"
    mp = pytest.MonkeyPatch()
    mp.setenv("LABTRACK_TRACKING_URI", store)
    mp.setenv("LABTRACK_ARTIFACT_ROOT", str(tmp / "artifacts"))
    mp.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[1] / "src"))
    try:
        nb = nbformat.read(NOTEBOOK, as_version=4)
        NotebookClient(
            nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp)}}
        ).execute()
    finally:
        mp.undo()
    # What a user reopens: the saved file.
    saved = tmp / "widgets_demo.ipynb"
    nbformat.write(nb, saved)
    return nbformat.read(saved, as_version=4), store


def _cell(nb: nbformat.NotebookNode, marker: str) -> nbformat.NotebookNode:
    return next(c for c in nb.cells if c.cell_type == "code" and marker in c.source)


def _text(cell: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def _widget_outputs(cell: nbformat.NotebookNode) -> list[dict]:
    return [o.data for o in cell.outputs if "data" in o and WIDGET_VIEW in o.data]


def _static_outputs(cell: nbformat.NotebookNode) -> list[dict]:
    """Display data that is a finished widget's static view (the live view was swapped)."""
    outs = [o.data for o in cell.outputs if "data" in o and STATIC in o.data]
    assert all(WIDGET_VIEW not in d for d in outs)
    return outs


def _html(data: dict) -> str:
    return re.sub(r"<style>.*?</style>", "", data["text/html"], flags=re.S)


def test_magic_cell_is_a_run_with_a_live_widget_and_final_static_view(executed):
    nb, store = executed
    [data] = _static_outputs(_cell(nb, "%%labtrack train-a"))
    # Saved next to the widget view: a readable card with the run's *final* state...
    html = _html(data)
    assert 'data-status="FINISHED"' in html
    assert 'data-metric="loss">0.125<' in html
    assert 'data-metric="accuracy">0.85<' in html
    assert 'data-param="lr">0.1<' in html
    assert "<svg" in html  # sparklines
    # ...and the chart as Vega-Lite v6 with every point logged.
    spec = data[VEGALITE_V6]
    assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/v6")
    # labtrack's own static view: the same card and chart, rendered by the lab extension.
    assert data[STATIC]["chart"] == spec
    assert 'data-metric="loss">0.125<' in data[STATIC]["html"]
    values = spec["data"]["values"]
    assert sorted({v["key"] for v in values}) == ["accuracy", "loss"]
    assert len([v for v in values if v["key"] == "loss"]) == 8

    from labtrack.client.tracking_client import TrackingClient

    client = TrackingClient(store)
    exp = client.get_experiment_by_name("widgets-demo")
    [run] = client.search_runs([exp.experiment_id], "attributes.run_name = 'train-a'").items
    assert run.info.status == "FINISHED"
    assert run.data.params == {"lr": "0.1", "layers": "2"}
    assert len(client.get_metric_history(run.info.run_id, "loss")) == 8
    source = Path(client.download_artifacts(run.info.run_id, "cell.py")).read_text()
    assert source.startswith('for step in range(8):\n    lt.log_metric("loss"')


def test_magic_marks_a_raising_cell_failed(executed):
    nb, store = executed
    cell = _cell(nb, "%%labtrack broken-run")
    errors = [o for o in cell.outputs if o.output_type == "error"]
    assert [(e.ename, e.evalue) for e in errors] == [("ValueError", "diverged")]
    [data] = _static_outputs(cell)
    assert 'data-status="FAILED"' in _html(data)
    assert "magic-widget FAILED {'loss': 3.0}" in _text(_cell(nb, "magics.last_widget"))

    from labtrack.client.tracking_client import TrackingClient

    client = TrackingClient(store)
    exp = client.get_experiment_by_name("widgets-demo")
    [run] = client.search_runs([exp.experiment_id], "attributes.run_name = 'broken-run'").items
    assert run.info.status == "FAILED"
    assert run.info.end_time is not None


def test_widget_values_update_while_the_cell_is_still_running(executed):
    nb, _ = executed
    cell = _cell(nb, 'run_name="live-b"')
    text = _text(cell)
    seen = eval(re.search(r"seen-while-running (\[.*\])", text).group(1))
    # Read from the widget during the loop: the background thread kept it current.
    assert seen[-1] == pytest.approx(2.0 / 6)
    assert len(set(seen)) >= 4
    assert "live-final FINISHED False" in text  # the run ended: final state, thread stopped
    [data] = _static_outputs(cell)
    assert 'data-metric="loss">0.333333<' in _html(data)
    # The comm traffic of those updates is in the saved widget state.
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    htmls = [m["state"].get("value", "") for m in state.values() if m["model_name"] == "HTMLModel"]
    assert any('data-metric="loss">0.333333<' in h for h in htmls)


def test_run_as_last_expression_shows_the_widget(executed):
    nb, _ = executed
    [data] = _static_outputs(_cell(nb, 'run_name="ctx-c"'))
    html = _html(data)
    assert "ctx-c" in html
    assert 'data-status="FINISHED"' in html
    assert 'data-metric="loss">0.5<' in html


def test_compare_widget_and_best_run(executed):
    nb, _ = executed
    [data] = _widget_outputs(_cell(nb, "lt.compare(runs"))
    spec = data[VEGALITE_V6]
    assert {v["run"] for v in spec["data"]["values"]} == {"train-a", "live-b", "ctx-c"}
    assert "best run" in _html(data)
    text = _text(_cell(nb, "cmp.best_run"))
    assert "best train-a Chart" in text
    assert "diff ['layers', 'lr']" in text


def test_runs_table_filter_sort_selection_and_inline_errors(executed):
    nb, _ = executed
    [data] = _widget_outputs(_cell(nb, "lt.runs_table("))
    html = _html(data)
    assert "filter: <code>metrics.loss &lt; 0.5</code>" in html
    assert html.index("train-a") < html.index("live-b")  # sorted by loss ascending
    assert "ctx-c" not in html
    text = _text(_cell(nb, "table.select"))
    assert "table ['train-a', 'live-b']" in text
    assert "selected ['train-a']" in text
    assert "error Invalid filter 'metrics.loss <<< 1'" in text


def test_line_magic_shows_the_last_run(executed):
    nb, _ = executed
    [line_magic] = [c for c in nb.cells if c.cell_type == "code" and c.source == "%labtrack"]
    [data] = _static_outputs(line_magic)
    assert "ctx-c" in _html(data)


def test_large_artifact_transfers_show_progress_bars(executed):
    nb, _ = executed
    cell = _cell(nb, "weights.bin")
    assert "roundtrip True" in _text(cell)
    bars = [o.data for o in cell.outputs if "data" in o and WIDGET_VIEW in o.data]
    assert len(bars) == 2  # one upload, one download
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    # ipywidgets' IntProgress, or tqdm's FloatProgress when tqdm is installed
    bar_models = ("IntProgressModel", "FloatProgressModel")
    progress = [m["state"] for m in state.values() if m["model_name"] in bar_models]
    size = 6 * 1024 * 1024
    assert [(p["value"], p["max"], p["bar_style"]) for p in progress] == [
        (size, size, "success"),
        (size, size, "success"),
    ]
