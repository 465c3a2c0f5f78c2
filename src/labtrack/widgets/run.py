"""The live run widget: status, params, latest metrics and small charts of one run.

While a cell trains, the kernel's main thread is busy, so a background thread polls the store's
change feed (``changes_since``, one indexed range scan) and, when the run changed, re-reads the run
and its downsampled series (``get_metric_series``, what the lab UI charts use) and sets the widget
values; ipywidgets sends trait changes from any thread over the kernel's iopub channel. The
thread stops once the run has ended (after showing its final state) or the widget is closed.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from typing import Any

import ipywidgets as widgets
import traitlets

from labtrack.entities import Run
from labtrack.entities.points import CHART_POINTS
from labtrack.widgets._display import StaticViewMixin, style_widget
from labtrack.widgets.charts import (
    chart_output,
    esc,
    fmt_value,
    html_table,
    metrics_chart,
    series_rows,
    sparkline_svg,
)

logger = logging.getLogger("labtrack")

TERMINAL = ("FINISHED", "FAILED", "KILLED")


def _client(client: Any) -> Any:
    if client is not None:
        return client
    from labtrack.client.fluent import current_client

    return current_client()


def _run_id(run: Run | str) -> str:
    return run if isinstance(run, str) else run.info.run_id


class RunWidget(StaticViewMixin, widgets.VBox):
    """A card for one run that keeps itself current while the run is active."""

    status = traitlets.Unicode("", help="The run's status (RUNNING, FINISHED, FAILED...).")
    metrics = traitlets.Dict(help="Latest value of each metric key.")
    params = traitlets.Dict(help="The run's params.")

    def __init__(
        self,
        run: Run | str,
        *,
        client: Any = None,
        poll_interval: float = 0.5,
        chart_interval: float = 2.0,
        max_points: int = CHART_POINTS,
        live: bool = True,
    ) -> None:
        self._client = _client(client)
        self.run_id = _run_id(run)
        self.poll_interval = poll_interval
        self.chart_interval = chart_interval
        self.max_points = max_points
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._series: dict[str, Any] = {}
        self._chart_key: tuple[Any, ...] | None = None
        self._chart_sent = 0.0
        self._run: Run | None = None
        self._header = widgets.HTML(layout=widgets.Layout(margin="0"))
        self._params_html = widgets.HTML()
        self._metrics_html = widgets.HTML()
        self._charts_out = widgets.Output(layout=widgets.Layout(min_height="0"))
        tables = widgets.HBox(
            [self._params_html, self._metrics_html],
            layout=widgets.Layout(flex_flow="row wrap", grid_gap="24px"),
        )
        super().__init__(
            [style_widget(), self._header, tables, self._charts_out],
            layout=widgets.Layout(
                border="1px solid var(--jp-border-color2, #ddd)", padding="6px 10px"
            ),
        )
        self.add_class("lt-RunWidget")
        self.refresh(charts=True)
        if live and self.status not in TERMINAL:
            self.start()

    # ---- public API ---------------------------------------------------------------------

    @property
    def run(self) -> Run | None:
        """The run as last read from the store."""
        return self._run

    @property
    def series(self) -> dict[str, Any]:
        """The downsampled ``MetricSeries`` per metric key, as last read."""
        return dict(self._series)

    @property
    def chart(self) -> Any:
        """An ``altair.Chart`` of every metric (small multiples), ready to restyle or save."""
        run = self._run
        rows: list[dict[str, Any]] = []
        name = run.info.run_name if run else self.run_id
        start = run.info.start_time if run else None
        for series in self._series.values():
            rows.extend(series_rows(series, name, start))
        return metrics_chart(rows) if rows else None

    @property
    def is_live(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def refresh(self, charts: bool = True) -> None:
        """Read the run and its series from the store and update the view (any thread)."""
        tracking = self._client.backend.tracking
        run = tracking.get_run(self.run_id)
        series = {}
        for key in sorted(run.data.metrics):
            series[key] = tracking.get_metric_series(self.run_id, key, max_points=self.max_points)
        with self._lock:
            self._run = run
            self._series = series
            self._render(charts)

    def start(self) -> None:
        """Start following the run (done automatically for an active run)."""
        if self.is_live:
            return
        self._stop.clear()
        # The thread inherits this cell's context, so its messages belong to this cell.
        context = contextvars.copy_context()
        self._thread = threading.Thread(
            target=context.run, args=(self._follow,), name="labtrack-run-widget", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop following the run."""
        self._stop.set()

    def close(self) -> None:
        self.stop()
        super().close()

    # ---- internals ----------------------------------------------------------------------

    def _follow(self) -> None:
        tracking = self._client.backend.tracking
        errors = 0
        try:
            cursor, _ = tracking.changes_since(None)
        except Exception:
            cursor = None
        # Catch up once: the run may have changed between the first read and the cursor.
        changed = True
        while not self._stop.is_set():
            try:
                if cursor is not None:
                    cursor, changes = tracking.changes_since(cursor)
                    changed = changed or any(c.get("run_id") == self.run_id for c in changes)
                else:
                    changed = True
                if changed:
                    started = time.monotonic()
                    self.refresh(charts=False)
                    changed = False
                    took = time.monotonic() - started
                else:
                    took = 0.0
                self._maybe_send_chart()
                errors = 0
                if self.status in TERMINAL:
                    self.refresh(charts=True)  # the final state, charts included
                    break
            except Exception as exc:
                errors += 1
                logger.debug("labtrack run widget poll failed", exc_info=True)
                self._header.value = self._header_html(error=str(exc))
                took = min(30.0, 2.0**errors)
            self._stop.wait(max(self.poll_interval, 3 * took))
        self._thread = None

    def _maybe_send_chart(self, force: bool = False) -> None:
        key = tuple((k, s.total_points, tuple(s.values[-1:])) for k, s in self._series.items())
        if key == self._chart_key:
            return
        now = time.monotonic()
        if not force and now - self._chart_sent < self.chart_interval:
            return
        self._chart_key = key
        self._chart_sent = now
        self._charts_out.outputs = chart_output(self.chart)

    def _render(self, charts: bool) -> None:
        run = self._run
        assert run is not None
        latest = dict(run.data.metrics)
        # Trait changes are synced to the browser; skip identical values to save messages.
        if self.status != run.info.status:
            self.status = run.info.status
        if self.metrics != latest:
            self.metrics = latest
        if self.params != run.data.params:
            self.params = dict(run.data.params)
        header = self._header_html()
        if self._header.value != header:
            self._header.value = header
        params = self._params_table()
        if self._params_html.value != params:
            self._params_html.value = params
        metrics = self._metrics_table(sparklines=False)
        if self._metrics_html.value != metrics:
            self._metrics_html.value = metrics
        if charts:
            self._maybe_send_chart(force=True)

    def _header_html(self, error: str | None = None) -> str:
        run = self._run
        if run is None:
            return f'<div class="lt-w-title">run {esc(self.run_id)}</div>'
        info = run.info
        elapsed = ""
        if info.start_time:
            end = info.end_time or int(time.time() * 1000)
            elapsed = f" · {max(0, end - info.start_time) / 1000:.1f} s"
        problem = f'<div class="lt-w-error">{esc(error)}</div>' if error else ""
        return (
            '<div class="lt-w-card">'
            f'<span class="lt-w-title lt-w-run-name">{esc(info.run_name)}</span>'
            f'<span class="lt-w-badge lt-w-status" data-status="{esc(info.status)}">'
            f"{esc(info.status)}</span>"
            f'<div class="lt-w-muted">run {esc(info.run_id)} · experiment '
            f"{esc(info.experiment_id)}{elapsed}</div>{problem}</div>"
        )

    def _params_table(self) -> str:
        run = self._run
        if run is None or not run.data.params:
            return '<div class="lt-w-card lt-w-muted">no params</div>'
        rows = [
            (esc(k), f'<span data-param="{esc(k)}">{esc(v)}</span>')
            for k, v in sorted(run.data.params.items())
        ]
        return '<div class="lt-w-card">' + html_table(["param", "value"], rows) + "</div>"

    def _metrics_table(self, sparklines: bool) -> str:
        run = self._run
        if run is None or not run.data.metrics:
            return '<div class="lt-w-card lt-w-muted">no metrics yet</div>'
        rows = []
        for key, metric in sorted(run.data.latest_metrics.items()):
            row = [
                esc(key),
                f'<span class="lt-w-metric-value" data-metric="{esc(key)}">'
                f"{esc(fmt_value(metric.value))}</span>",
                f'<span class="lt-w-metric-step" data-metric="{esc(key)}">{metric.step}</span>',
            ]
            if sparklines:
                series = self._series.get(key)
                row.append(sparkline_svg(series.values) if series else "")
            rows.append(row)
        header = ["metric", "latest", "step"] + (["history"] if sparklines else [])
        return '<div class="lt-w-card">' + html_table(header, rows) + "</div>"

    # ---- static view --------------------------------------------------------------------

    def _static_html(self) -> str:
        return (
            '<div class="lt-w-card lt-RunWidget-static">'
            + self._header_html()
            + self._params_table()
            + self._metrics_table(sparklines=True)
            + "</div>"
        )

    def _static_chart(self) -> Any:
        return self.chart

    def _cell_finished(self) -> None:
        # The cell that displayed the widget is done: record the run's state at this point.
        # A run that has ended will not change again: its card becomes the static view.
        try:
            self.refresh(charts=True)
        finally:
            if self.status in TERMINAL:
                self.stop()
                self.replace_with_static_view()
            else:
                self.update_static_view()
