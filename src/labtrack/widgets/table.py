"""``lt.runs_table(experiment)``: the runs of an experiment with a filter box (MLflow's search
language, errors shown inline), sorting (the server's ``order_by``), and a selection Python reads
back (``table.selected_runs``)."""

from __future__ import annotations

import datetime as _dt
from collections import Counter
from typing import Any

import ipywidgets as widgets
import traitlets

from labtrack.entities import Experiment, Run
from labtrack.widgets._display import StaticViewMixin, style_widget
from labtrack.widgets.charts import esc, fmt_value, html_table
from labtrack.widgets.run import _client


def _experiment_ids(client: Any, experiment: Any) -> list[str]:
    if experiment is None:
        from labtrack.client.fluent import _experiment_id

        return [_experiment_id()]
    items = experiment if isinstance(experiment, (list, tuple)) else [experiment]
    ids = []
    for item in items:
        if isinstance(item, Experiment):
            ids.append(item.experiment_id)
            continue
        text = str(item)
        found = client.get_experiment_by_name(text)
        if found is not None:
            ids.append(found.experiment_id)
        else:
            ids.append(client.get_experiment(text).experiment_id)
    return ids


def _when(ms: int | None) -> str:
    if not ms:
        return ""
    return _dt.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


class RunsTable(StaticViewMixin, widgets.VBox):
    """A sortable, filterable table of runs with checkboxes; read ``selected_runs``."""

    selected_run_ids = traitlets.List(traitlets.Unicode(), help="Ids of the checked runs.")
    filter_string = traitlets.Unicode("", help="The current filter (MLflow search syntax).")
    order_by = traitlets.Unicode("attributes.start_time DESC", help="The current sort.")
    error = traitlets.Unicode("", help="The last filter error, if any.")

    def __init__(
        self,
        experiment: Any = None,
        *,
        filter_string: str = "",
        order_by: str = "attributes.start_time DESC",
        max_rows: int = 100,
        max_metric_columns: int = 4,
        max_param_columns: int = 4,
        client: Any = None,
    ) -> None:
        self._client = _client(client)
        self.experiment_ids = _experiment_ids(self._client, experiment)
        self.max_rows = max_rows
        self.max_metric_columns = max_metric_columns
        self.max_param_columns = max_param_columns
        self._runs: list[Run] = []
        self._checkboxes: dict[str, widgets.Checkbox] = {}
        self.filter_box = widgets.Text(
            value=filter_string,
            placeholder="metrics.loss < 0.5 and params.lr = '0.01'   (Enter to apply)",
            description="filter",
            continuous_update=False,
            layout=widgets.Layout(width="560px"),
        )
        self._error_html = widgets.HTML()
        self._count = widgets.HTML()
        self._grid = widgets.GridBox(layout=widgets.Layout(grid_gap="2px 14px"))
        super().__init__(
            [
                style_widget(),
                widgets.HBox([self.filter_box, self._count]),
                self._error_html,
                self._grid,
            ]
        )
        self.add_class("lt-RunsTable")
        self.filter_string = filter_string
        self.order_by = order_by
        self.filter_box.observe(self._on_filter, "value")
        self.refresh()

    # ---- public API ---------------------------------------------------------------------

    @property
    def runs(self) -> list[Run]:
        """The runs currently listed (filtered and sorted)."""
        return list(self._runs)

    @property
    def selected_runs(self) -> list[Run]:
        chosen = set(self.selected_run_ids)
        return [r for r in self._runs if r.info.run_id in chosen]

    def select(self, runs: Any) -> None:
        """Check these runs (runs or ids) in the table."""
        ids = {r if isinstance(r, str) else r.info.run_id for r in runs}
        for run_id, box in self._checkboxes.items():
            box.value = run_id in ids

    def sort(self, column: str, ascending: bool | None = None) -> None:
        """Sort by a column (``metrics.loss``, ``params.lr``, ``attributes.start_time``...)."""
        current, _, direction = self.order_by.partition(" ")
        if ascending is None:
            ascending = not (current == column and direction.upper() == "ASC")
        self.order_by = f"{column} {'ASC' if ascending else 'DESC'}"
        self.refresh()

    def refresh(self) -> None:
        """Run the search again (filter and sort on the server) and redraw."""
        from labtrack.errors import LabtrackException

        try:
            page = self._client.backend.tracking.search_runs(
                self.experiment_ids,
                self.filter_string,
                None,
                self.max_rows,
                [self.order_by] if self.order_by else None,
                None,
            )
        except LabtrackException as exc:
            self.error = exc.message if hasattr(exc, "message") else str(exc)
            self._error_html.value = (
                f'<div class="lt-w-error lt-FilterError">{esc(self.error)}</div>'
            )
            return
        self.error = ""
        self._error_html.value = ""
        self._runs = list(page.items)
        more = " (more not shown)" if page.token else ""
        self._count.value = (
            f'<span class="lt-w-muted lt-RunsCount">{len(self._runs)} runs{more}</span>'
        )
        self._draw()

    # ---- internals ----------------------------------------------------------------------

    def _on_filter(self, change: dict[str, Any]) -> None:
        self.filter_string = change["new"].strip()
        self.refresh()

    def _columns(self) -> list[tuple[str, str]]:
        metric_counts = Counter(k for r in self._runs for k in r.data.metrics)
        param_counts = Counter(k for r in self._runs for k in r.data.params)
        cols = [("attributes.status", "status"), ("attributes.start_time", "start")]
        cols += [
            (f"metrics.`{k}`" if not k.isidentifier() else f"metrics.{k}", k)
            for k, _ in metric_counts.most_common(self.max_metric_columns)
        ]
        cols += [
            (f"params.`{k}`" if not k.isidentifier() else f"params.{k}", k)
            for k, _ in param_counts.most_common(self.max_param_columns)
        ]
        return cols

    @staticmethod
    def _cell(run: Run, column: str) -> str:
        kind, _, key = column.partition(".")
        key = key.strip("`")
        if column == "attributes.status":
            return run.info.status
        if column == "attributes.start_time":
            return _when(run.info.start_time)
        if kind == "metrics":
            value = run.data.metrics.get(key)
            return fmt_value(value) if value is not None else ""
        return run.data.params.get(key, "")

    def _draw(self) -> None:
        old = list(self._grid.children)
        columns = self._columns()
        current, _, direction = self.order_by.partition(" ")
        header: list[widgets.Widget] = []
        name_button = widgets.Button(description="run", layout=widgets.Layout(width="auto"))
        name_button.on_click(lambda _b: self.sort("attributes.run_name"))
        header.append(name_button)
        for column, title in columns:
            arrow = ""
            if column == current:
                arrow = " ▲" if direction.upper() == "ASC" else " ▼"
            button = widgets.Button(
                description=title + arrow,
                tooltip=f"sort by {column}",
                layout=widgets.Layout(width="auto"),
            )
            button.add_class("lt-SortButton")
            button.on_click(lambda _b, c=column: self.sort(c))
            header.append(button)
        if current == "attributes.run_name":
            name_button.description = "run" + (" ▲" if direction.upper() == "ASC" else " ▼")
        cells: list[widgets.Widget] = list(header)
        selected = set(self.selected_run_ids)
        self._checkboxes = {}
        for run in self._runs:
            box = widgets.Checkbox(
                value=run.info.run_id in selected,
                description=run.info.run_name or run.info.run_id[:8],
                indent=False,
                layout=widgets.Layout(width="auto"),
            )
            box.observe(self._on_check, "value")
            self._checkboxes[run.info.run_id] = box
            cells.append(box)
            cells.extend(widgets.Label(self._cell(run, column)) for column, _ in columns)
        self._grid.layout.grid_template_columns = f"repeat({len(columns) + 1}, max-content)"
        self._grid.children = cells
        # Runs filtered out stay deselected.
        self.selected_run_ids = [i for i in self.selected_run_ids if i in self._checkboxes]
        for widget in old:
            widget.close()

    def _on_check(self, _change: dict[str, Any]) -> None:
        self.selected_run_ids = [i for i, box in self._checkboxes.items() if box.value]

    def _static_html(self) -> str:
        columns = self._columns()
        chosen = set(self.selected_run_ids)
        rows = [
            [("☑ " if r.info.run_id in chosen else "☐ ") + esc(r.info.run_name)]
            + [esc(self._cell(r, c)) for c, _ in columns]
            for r in self._runs
        ]
        title = f"filter: <code>{esc(self.filter_string)}</code> · " if self.filter_string else ""
        return (
            f'<div class="lt-w-card lt-RunsTable-static"><div class="lt-w-muted">{title}'
            f"{len(self._runs)} runs, sorted by {esc(self.order_by)}</div>"
            + html_table(["run"] + [t for _, t in columns], rows)
            + "</div>"
        )
