"""Notebook widgets: a live run card, run comparison and a runs table (ipywidgets + Altair).

``lt.show(run)``, ``lt.compare(runs)`` and ``lt.runs_table(experiment)`` are the entry points;
importing this package loads ipywidgets (never done by ``import labtrack``).
"""

from __future__ import annotations

from typing import Any

from labtrack.entities import Run
from labtrack.widgets.charts import chart_bundle
from labtrack.widgets.compare import CompareWidget
from labtrack.widgets.run import RunWidget
from labtrack.widgets.table import RunsTable

__all__ = [
    "CompareWidget",
    "RunWidget",
    "RunsTable",
    "chart_bundle",
    "compare",
    "run_widget",
    "runs_table",
    "show",
]


def run_widget(run: Run | str, **kwargs: Any) -> RunWidget:
    """A live ``RunWidget`` for a run or run id (display it, or keep it to read its values)."""
    return RunWidget(run, **kwargs)


def show(obj: Any = None, **kwargs: Any) -> None:
    """Display ``obj`` under the cell: a run or run id (a live card; the active run when
    omitted), a list of runs (a comparison), or an Altair chart (rendered offline)."""
    from IPython.display import display

    if obj is None:
        from labtrack.client.fluent import active_run, last_active_run

        obj = active_run() or last_active_run()
        if obj is None:
            raise ValueError("No active run to show: pass a run or a run id.")
    if hasattr(obj, "to_dict") and hasattr(obj, "mark_line"):  # an Altair chart
        display(chart_bundle(obj), raw=True)
        return
    if isinstance(obj, (list, tuple)):
        display(CompareWidget(obj, **kwargs))
        return
    display(RunWidget(obj, **kwargs))


def compare(runs_or_ids: Any, **kwargs: Any) -> CompareWidget:
    """A ``CompareWidget`` for these runs (or run ids, or a ``search_runs`` DataFrame)."""
    if hasattr(runs_or_ids, "columns") and "run_id" in getattr(runs_or_ids, "columns", ()):
        runs_or_ids = list(runs_or_ids["run_id"])
    return CompareWidget(list(runs_or_ids), **kwargs)


def runs_table(experiment: Any = None, **kwargs: Any) -> RunsTable:
    """A ``RunsTable`` of an experiment (name, id or ``Experiment``; the active one if omitted)."""
    return RunsTable(experiment, **kwargs)
