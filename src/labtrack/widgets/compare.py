"""``lt.compare(runs)``: curves of one metric across runs, their param differences, and a pick
of the best run that Python can read back (``widget.best_run``)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import ipywidgets as widgets
import traitlets

from labtrack.entities import Run
from labtrack.entities.points import CHART_POINTS
from labtrack.widgets._display import StaticViewMixin, style_widget
from labtrack.widgets.charts import chart_output, compare_chart, esc, fmt_value, series_rows
from labtrack.widgets.run import _client

_MAXIMIZE = re.compile(r"acc|auc|f1|precision|recall|score|r2|iou|map|bleu|rouge|reward", re.I)


def default_goal(metric: str) -> str:
    """``max`` for metrics that grow when better (accuracy, f1...), else ``min``."""
    return "max" if _MAXIMIZE.search(metric or "") else "min"


def _latest(run: Run, metric: str) -> str:
    value = run.data.metrics.get(metric)
    return fmt_value(value) if value is not None else ""


class CompareWidget(StaticViewMixin, widgets.VBox):
    """Compare runs: pick a metric and an x axis, see the curves and the differing params."""

    best_run_id = traitlets.Unicode("", help="The run picked as best (suggested, or the user's).")

    def __init__(
        self,
        runs: Iterable[Run | str],
        *,
        metric: str | None = None,
        x: str = "step",
        goal: str | None = None,
        client: Any = None,
        max_points: int = CHART_POINTS,
    ) -> None:
        self._client = _client(client)
        self.max_points = max_points
        tracking = self._client.backend.tracking
        self._runs: list[Run] = [
            tracking.get_run(r if isinstance(r, str) else r.info.run_id) for r in runs
        ]
        if not self._runs:
            raise ValueError("compare needs at least one run")
        self._labels = self._unique_labels()
        keys = sorted({k for r in self._runs for k in r.data.metrics})
        metric = metric if metric in keys else (keys[0] if keys else None)
        self._series_cache: dict[tuple[str, str, str], Any] = {}
        self.metric_picker = widgets.Dropdown(
            options=keys, value=metric, description="metric", layout=widgets.Layout(width="260px")
        )
        self.x_picker = widgets.ToggleButtons(
            options=[("step", "step"), ("time (s)", "relative"), ("wall time", "time")],
            value=x if x in ("step", "relative", "time") else "step",
            style={"button_width": "80px"},
        )
        self.goal_picker = widgets.ToggleButtons(
            options=[("lower is better", "min"), ("higher is better", "max")],
            value=goal or default_goal(metric or ""),
            style={"button_width": "120px"},
        )
        self.best_picker = widgets.RadioButtons(
            options=[
                (label, r.info.run_id) for label, r in zip(self._labels, self._runs, strict=True)
            ],
            description="best run",
            layout=widgets.Layout(width="max-content"),
        )
        self._chart_out = widgets.Output()
        self._table = widgets.HTML()
        self._suggestion = widgets.HTML()
        controls = widgets.HBox([self.metric_picker, self.x_picker])
        super().__init__(
            [
                style_widget(),
                controls,
                self._chart_out,
                widgets.HBox(
                    [
                        self._table,
                        widgets.VBox([self.goal_picker, self._suggestion, self.best_picker]),
                    ],
                    layout=widgets.Layout(flex_flow="row wrap", grid_gap="24px"),
                ),
            ]
        )
        self.add_class("lt-CompareWidget")
        self.metric_picker.observe(self._on_metric, "value")
        self.x_picker.observe(lambda _c: self._draw(), "value")
        self.goal_picker.observe(lambda _c: self._suggest(), "value")
        self.best_picker.observe(self._on_pick, "value")
        self._suggest()
        self._draw()

    # ---- public API ---------------------------------------------------------------------

    @property
    def runs(self) -> list[Run]:
        return list(self._runs)

    @property
    def metric(self) -> str | None:
        return self.metric_picker.value

    @property
    def best_run(self) -> Run | None:
        """The run picked as best (the suggestion until the user picks another)."""
        for run in self._runs:
            if run.info.run_id == self.best_run_id:
                return run
        return None

    @property
    def chart(self) -> Any:
        """The ``altair.Chart`` of the selected metric across runs."""
        metric = self.metric
        if metric is None:
            return None
        rows: list[dict[str, Any]] = []
        x = "time" if self.x_picker.value == "time" else "step"
        for label, run in zip(self._labels, self._runs, strict=True):
            if metric in run.data.metrics:
                rows.extend(series_rows(self._series(run, metric, x), label, run.info.start_time))
        return compare_chart(rows, metric, self.x_picker.value)

    def param_differences(self) -> dict[str, dict[str, str | None]]:
        """``{param: {run label: value}}`` for params whose values differ between the runs."""
        keys = sorted({k for r in self._runs for k in r.data.params})
        diff = {}
        for key in keys:
            values = [r.data.params.get(key) for r in self._runs]
            if len(set(values)) > 1:
                diff[key] = dict(zip(self._labels, values, strict=True))
        return diff

    # ---- internals ----------------------------------------------------------------------

    def _unique_labels(self) -> list[str]:
        names = [r.info.run_name or r.info.run_id[:8] for r in self._runs]
        return [
            f"{n} ({r.info.run_id[:6]})" if names.count(n) > 1 else n
            for n, r in zip(names, self._runs, strict=True)
        ]

    def _series(self, run: Run, metric: str, x: str) -> Any:
        key = (run.info.run_id, metric, x)
        if key not in self._series_cache:
            self._series_cache[key] = self._client.backend.tracking.get_metric_series(
                run.info.run_id,
                metric,
                max_points=self.max_points,
                x="timestamp" if x == "time" else "step",
            )
        return self._series_cache[key]

    def _on_metric(self, change: dict[str, Any]) -> None:
        self.goal_picker.value = default_goal(change["new"] or "")
        self._suggest()
        self._draw()

    def _on_pick(self, change: dict[str, Any]) -> None:
        self.best_run_id = change["new"] or ""
        self._render_table()

    def _suggest(self) -> None:
        """Pre-select the run with the best latest value of the metric."""
        metric, goal = self.metric, self.goal_picker.value
        scored = [
            (r.data.metrics[metric], r)
            for r in self._runs
            if metric in r.data.metrics and r.data.metrics[metric] == r.data.metrics[metric]
        ]
        if not scored:
            self._suggestion.value = '<span class="lt-w-muted">no values to rank</span>'
            self.best_picker.value = self._runs[0].info.run_id
            return
        value, best = (min if goal == "min" else max)(scored, key=lambda pair: pair[0])
        label = self._labels[self._runs.index(best)]
        self._suggestion.value = (
            f'<span class="lt-w-muted">suggested: <b>{esc(label)}</b> '
            f"({esc(metric)} = {esc(fmt_value(value))})</span>"
        )
        self.best_picker.value = best.info.run_id
        self.best_run_id = best.info.run_id
        self._render_table()

    def _draw(self) -> None:
        self._chart_out.outputs = chart_output(self.chart)
        self._render_table()

    def _render_table(self) -> None:
        self._table.value = self._table_html()

    def _table_html(self) -> str:
        metric = self.metric
        head = "".join(
            f'<th class="{"lt-w-best" if r.info.run_id == self.best_run_id else ""}">'
            f"{esc(label)}{' ★' if r.info.run_id == self.best_run_id else ''}</th>"
            for label, r in zip(self._labels, self._runs, strict=True)
        )
        rows = []
        if metric:
            cells = "".join(
                f'<td class="lt-w-num">{esc(_latest(r, metric))}</td>' for r in self._runs
            )
            rows.append(f"<tr><th>{esc(metric)}</th>{cells}</tr>")
        diff = self.param_differences()
        for key, values in diff.items():
            cells = "".join(
                f'<td data-param="{esc(key)}">{esc("" if v is None else v)}</td>'
                for v in values.values()
            )
            rows.append(f"<tr><th>{esc(key)}</th>{cells}</tr>")
        same = len({k for r in self._runs for k in r.data.params}) - len(diff)
        note = (
            f'<div class="lt-w-muted">{same} param(s) identical across runs</div>' if same else ""
        )
        return (
            '<div class="lt-w-card"><table class="lt-w-table lt-w-diff">'
            f"<thead><tr><th></th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
            f"{note}</div>"
        )

    def _static_html(self) -> str:
        best = self.best_run
        picked = (
            f'<div>best run: <b class="lt-w-best">{esc(best.info.run_name)}</b></div>'
            if best
            else ""
        )
        return f'<div class="lt-w-card lt-CompareWidget-static">{self._table_html()}{picked}</div>'

    def _static_chart(self) -> Any:
        return self.chart
