"""The notebook widgets, driven in-process (no kernel): values, charts, selection, progress."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import altair as alt
import pytest

from labtrack.client.tracking_client import TrackingClient
from labtrack.widgets import CompareWidget, RunsTable, RunWidget, chart_bundle
from labtrack.widgets.charts import vegalite_mimetype

SRC = str(Path(__file__).resolve().parents[1] / "src")
VEGALITE_V6 = "application/vnd.vegalite.v6+json"


@pytest.fixture
def client(tmp_path) -> TrackingClient:
    return TrackingClient(f"sqlite:///{tmp_path / 'labtrack.db'}", str(tmp_path / "artifacts"))


def _run(client: TrackingClient, exp: str, name: str, params: dict, losses: list[float]) -> str:
    run_id = client.create_run(exp, run_name=name).info.run_id
    for key, value in params.items():
        client.log_param(run_id, key, value)
    for step, loss in enumerate(losses):
        client.log_metric(run_id, "loss", loss, step=step)
        client.log_metric(run_id, "accuracy", 1 - loss / 2, step=step)
    client.set_terminated(run_id)
    return run_id


@pytest.fixture
def three_runs(client: TrackingClient) -> tuple[str, list[str]]:
    exp = client.create_experiment("w")
    ids = [
        _run(client, exp, "a", {"lr": "0.1", "layers": "2"}, [1.0, 0.5, 0.25]),
        _run(client, exp, "b", {"lr": "0.01", "layers": "2"}, [1.0, 0.8, 0.6, 0.4]),
        _run(client, exp, "c", {"lr": "0.5", "layers": "3"}, [2.0, 1.5]),
    ]
    return exp, ids


def test_finished_run_widget_shows_final_state_without_a_thread(client, three_runs):
    _, (a, _b, _c) = three_runs
    w = RunWidget(a, client=client)
    assert w.status == "FINISHED"
    assert not w.is_live
    assert w.metrics == {"loss": 0.25, "accuracy": 0.875}
    assert w.params == {"lr": "0.1", "layers": "2"}
    assert isinstance(w.chart, alt.Chart)
    bundle = w._repr_mimebundle_()
    assert set(bundle) >= {
        VEGALITE_V6,
        "text/html",
        "text/plain",
        "application/vnd.jupyter.widget-view+json",
        "application/vnd.labtrack.static+json",
    }
    assert 'data-metric="loss">0.25<' in bundle["text/html"]
    static = bundle["application/vnd.labtrack.static+json"]
    assert static["chart"] == bundle[VEGALITE_V6]
    assert "application/vnd.jupyter.widget-view+json" not in w.static_bundle()
    assert bundle[VEGALITE_V6]["$schema"].startswith("https://vega.github.io/schema/vega-lite/v6")
    # The chart shown inside the widget is the same v6 bundle, in an Output widget.
    [output] = w._charts_out.outputs
    assert VEGALITE_V6 in output["data"]
    w.close()


def test_run_widget_follows_an_active_run_from_a_background_thread(client):
    exp = client.create_experiment("live")
    run_id = client.create_run(exp, run_name="live").info.run_id
    w = RunWidget(run_id, client=client, poll_interval=0.05, chart_interval=0.1)
    assert w.status == "RUNNING"
    assert w.is_live
    seen = []
    for step in range(4):
        client.log_metric(run_id, "loss", 1.0 / (step + 1), step=step)
        deadline = time.monotonic() + 5
        while w.metrics.get("loss") != 1.0 / (step + 1) and time.monotonic() < deadline:
            time.sleep(0.02)
        seen.append(w.metrics.get("loss"))
    assert seen == [1.0, 0.5, 1 / 3, 0.25]
    client.set_terminated(run_id, "KILLED")
    deadline = time.monotonic() + 5
    while w.is_live and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not w.is_live
    assert w.status == "KILLED"
    assert 'data-status="KILLED"' in w._header.value
    assert len(w.series["loss"].values) == 4
    w.close()


def test_compare_picks_metric_axis_and_best_run(client, three_runs):
    _, ids = three_runs
    w = CompareWidget(ids, client=client)
    assert w.metric == "accuracy"
    assert w.goal_picker.value == "max"  # accuracy: higher is better
    assert w.best_run.info.run_name == "a"
    w.metric_picker.value = "loss"
    assert w.goal_picker.value == "min"
    assert w.best_run.info.run_name == "a"
    w.goal_picker.value = "max"
    assert w.best_run.info.run_name == "c"
    # The user's own pick wins and is readable from Python.
    w.best_picker.value = ids[1]
    assert w.best_run.info.run_name == "b"
    assert w.best_run_id == ids[1]
    assert w.param_differences() == {
        "layers": {"a": "2", "b": "2", "c": "3"},
        "lr": {"a": "0.1", "b": "0.01", "c": "0.5"},
    }
    chart = w.chart
    assert isinstance(chart, alt.Chart)
    assert chart.to_dict()["encoding"]["x"]["field"] == "step"
    w.x_picker.value = "relative"
    assert w.chart.to_dict()["encoding"]["x"]["field"] == "seconds"
    w.x_picker.value = "time"
    assert w.chart.to_dict()["encoding"]["x"]["type"] == "temporal"
    [output] = w._chart_out.outputs
    assert VEGALITE_V6 in output["data"]
    # The chart is the user's to restyle and save.
    restyled = w.chart.properties(width=800).configure_axis(grid=False)
    assert restyled.to_dict()["width"] == 800
    w.close()


def test_runs_table_filter_sort_select(client, three_runs):
    exp, (a, _b, c) = three_runs
    t = RunsTable(exp, client=client)
    assert [r.info.run_name for r in t.runs] == ["c", "b", "a"]  # newest first
    t.sort("metrics.loss")
    assert t.order_by == "metrics.loss ASC"
    assert [r.info.run_name for r in t.runs] == ["a", "b", "c"]
    t.sort("metrics.loss")  # the same column again flips the direction
    assert [r.info.run_name for r in t.runs] == ["c", "b", "a"]
    t.select([a, c])
    assert {r.info.run_name for r in t.selected_runs} == {"a", "c"}
    t._checkboxes[c].value = False  # the user unticks a row
    assert [r.info.run_name for r in t.selected_runs] == ["a"]
    t.filter_box.value = "params.layers = '2'"
    assert {r.info.run_name for r in t.runs} == {"a", "b"}
    assert t.error == ""
    t.filter_box.value = "params.layers === 2"
    assert "Invalid filter" in t.error
    assert "lt-FilterError" in t._error_html.value
    assert {r.info.run_name for r in t.runs} == {"a", "b"}  # the last good result stays
    assert "filter: <code>" in t._repr_mimebundle_()["text/html"]
    t.close()


def test_chart_bundle_uses_the_spec_version():
    chart = alt.Chart(alt.Data(values=[{"x": 1}])).mark_point().encode(x="x:Q")
    bundle = chart_bundle(chart)
    assert set(bundle) == {VEGALITE_V6, "text/plain"}
    assert vegalite_mimetype(
        {"$schema": "https://vega.github.io/schema/vega-lite/v5.20.1.json"}
    ) == ("application/vnd.vegalite.v5+json")


def test_large_uploads_and_downloads_report_progress(client, tmp_path):
    from labtrack.client.progress import set_progress_factory
    from labtrack.widgets import progress

    exp = client.create_experiment("p")
    run_id = client.create_run(exp).info.run_id
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(6 * 1024 * 1024))
    updates: list[int] = []
    totals: list[tuple[int, str]] = []

    class Recorder(progress.Bar):
        def __init__(self, total: int, label: str) -> None:
            self.total, self.label, self.done = total, label, 0
            self._tqdm = self._widget = None
            totals.append((total, label))

        def update(self, done: int) -> None:
            updates.append(done)
            super().update(done)

    # What the notebook integration registers in a kernel, minus the kernel check.
    previous = set_progress_factory(Recorder)
    try:
        client.log_artifact(run_id, str(big), "data")
        assert updates[-1] == big.stat().st_size
        assert len(updates) > 2  # chunk by chunk
        folder = tmp_path / "folder"
        (folder / "sub").mkdir(parents=True)
        (folder / "sub" / "x.bin").write_bytes(b"x" * 1000)
        (folder / "y.bin").write_bytes(b"y" * 500)
        client.log_artifacts(run_id, str(folder), "dir")
        assert updates[-1] == 1500
        back = client.download_artifacts(run_id, "", str(tmp_path / "dl"))
        assert totals[-1] == (6 * 1024 * 1024 + 1500, "download artifacts")
    finally:
        set_progress_factory(previous)
    assert Path(back, "data", "big.bin").read_bytes() == big.read_bytes()
    names = sorted(f.path for f in client.list_artifacts(run_id, "dir"))
    assert names == ["dir/sub", "dir/y.bin"]
    assert Path(client.download_artifacts(run_id, "data/big.bin")).read_bytes() == big.read_bytes()
    assert progress.progress_bar(10**9, "big") is None  # no kernel here: never a bar


def test_import_in_ipython_registers_the_magic_and_stays_cheap():
    code = """
        import sys
        from IPython.core.interactiveshell import InteractiveShell
        shell = InteractiveShell.instance()
        import labtrack
        print(shell.find_cell_magic("labtrack") is not None,
              shell.find_line_magic("labtrack") is not None)
        heavy = ("ipywidgets", "altair", "pandas", "numpy", "sqlalchemy")
        print([m for m in heavy if m in sys.modules])
    """
    res = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**os.environ, "PYTHONPATH": SRC},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.split("\n")[:2] == ["True True", "[]"]
