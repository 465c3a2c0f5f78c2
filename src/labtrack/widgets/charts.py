"""Altair charts for the widgets, and how they reach the notebook.

Every chart a widget shows is a plain ``altair.Chart`` (``widget.chart``) built from the store's
downsampled series (the same ``get_metric_series`` the lab UI's charts use). Charts are sent as
the Vega-Lite mimebundle (``application/vnd.vegalite.v6+json`` for Altair 6), which labtrack's lab
extension renders offline; Altair's global renderer setting is left alone.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import altair as alt

# Field names of the long-form rows every chart is built from.
X_FIELDS = {
    "step": ("step", "Q", "step"),
    "relative": ("seconds", "Q", "time since start (s)"),
    "time": ("time", "T", "wall time"),
}


def vegalite_mimetype(spec: Mapping[str, Any]) -> str:
    """``application/vnd.vegalite.v<major>+json`` from the spec's ``$schema``."""
    schema = str(spec.get("$schema", ""))
    major = "6"
    marker = "/v"
    if marker in schema:
        version = schema.rsplit(marker, 1)[1]
        major = version.split(".", 1)[0] or major
    return f"application/vnd.vegalite.v{major}+json"


def chart_bundle(chart: alt.TopLevelMixin) -> dict[str, Any]:
    """The display data for ``chart``: its Vega-Lite spec plus a text fallback."""
    spec = chart.to_dict(validate=False)
    return {vegalite_mimetype(spec): spec, "text/plain": f"<{type(chart).__name__} (Vega-Lite)>"}


def chart_output(chart: alt.TopLevelMixin | None) -> tuple[dict[str, Any], ...]:
    """``Output.outputs`` showing ``chart`` (empty for no chart)."""
    if chart is None:
        return ()
    return ({"output_type": "display_data", "data": chart_bundle(chart), "metadata": {}},)


def series_rows(series: Any, run: str, start_time: int | None = None) -> list[dict[str, Any]]:
    """Long-form rows (one per point) of a ``MetricSeries`` for an Altair chart."""
    t0 = start_time if start_time is not None else (series.timestamps[:1] or [0])[0]
    rows = []
    for step, ts, value in zip(series.steps, series.timestamps, series.values, strict=True):
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            continue
        rows.append(
            {
                "run": run,
                "key": series.key,
                "step": step,
                "time": ts,
                "seconds": round((ts - t0) / 1000.0, 3),
                "value": value,
            }
        )
    return rows


def metrics_chart(rows: Sequence[dict[str, Any]], columns: int = 3) -> alt.Chart:
    """Small multiples: one small line chart per metric key (a single ``alt.Chart``)."""
    import altair as alt

    return (
        alt.Chart(alt.Data(values=list(rows)))
        .mark_line(point=alt.OverlayMarkDef(size=12, filled=True), strokeWidth=1.5)
        .encode(
            x=alt.X("step:Q", title="step"),
            y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
            facet=alt.Facet("key:N", columns=columns, title=None),
            tooltip=["key:N", "step:Q", alt.Tooltip("value:Q", format=".6g")],
        )
        .properties(width=200, height=110)
        .resolve_scale(x="independent", y="independent")
    )


def compare_chart(rows: Sequence[dict[str, Any]], metric: str, x: str = "step") -> alt.Chart:
    """One line per run for ``metric`` against ``x`` (``step``, ``relative`` or ``time``)."""
    import altair as alt

    field, kind, title = X_FIELDS.get(x, X_FIELDS["step"])
    return (
        alt.Chart(alt.Data(values=list(rows)), title=metric)
        .mark_line(strokeWidth=1.5)
        .encode(
            x=alt.X(f"{field}:{kind}", title=title),
            y=alt.Y("value:Q", title=metric, scale=alt.Scale(zero=False)),
            color=alt.Color("run:N", title="run"),
            tooltip=["run:N", "step:Q", alt.Tooltip("value:Q", format=".6g")],
        )
        .properties(width=520, height=260)
    )


# ---- static (saved-notebook) views -----------------------------------------------------------


def fmt_value(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return f"{value:.6g}"
    return str(value)


def sparkline_svg(values: Iterable[float], width: int = 140, height: int = 30) -> str:
    """An inline SVG polyline: the static view's chart when no Vega renderer is around."""
    vals = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    if len(vals) < 2:
        return ""
    lo, hi = min(vals), max(vals)
    span = (hi - lo) or 1.0
    n = len(vals) - 1
    points = " ".join(
        f"{i * (width - 2) / n + 1:.1f},{height - 1 - (v - lo) / span * (height - 2):.1f}"
        for i, v in enumerate(vals)
    )
    return (
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'xmlns="http://www.w3.org/2000/svg" role="img">'
        f'<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="{points}"/></svg>'
    )


def html_table(
    header: Sequence[str], rows: Iterable[Sequence[str]], css_class: str = "lt-w-table"
) -> str:
    """A small HTML table; cells are already-escaped HTML."""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{css_class}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)
