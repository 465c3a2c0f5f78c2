"""How labtrack widgets are displayed: a live widget view plus a static view of its state.

The display data of every labtrack widget carries the ipywidgets view *and* a static view
(``text/html``, plus the Vega-Lite bundle of its chart), so a saved notebook reopened without a
kernel, nbconvert and GitHub show the widget's last state. The static view is refreshed with
``update_display`` (same ``display_id``) when the cell that displayed the widget finishes, so it
records the final state rather than the state at display time.
"""

from __future__ import annotations

import threading
import uuid
import weakref
from typing import Any

from labtrack.widgets.charts import chart_bundle

# labtrack's lab extension renders this one: ``{"html": ..., "chart": <Vega-Lite spec>}``.
STATIC_MIME_TYPE = "application/vnd.labtrack.static+json"

STYLE = """<style>
.lt-w-card{font-family:var(--jp-ui-font-family,sans-serif);font-size:13px;
  color:var(--jp-ui-font-color1,#222)}
.lt-w-title{font-weight:600;font-size:14px}
.lt-w-badge{display:inline-block;padding:0 6px;border-radius:8px;font-size:11px;
  font-weight:600;color:#fff;background:#777;margin-left:6px}
.lt-w-badge[data-status=RUNNING]{background:#1f77b4}
.lt-w-badge[data-status=FINISHED]{background:#2ca02c}
.lt-w-badge[data-status=FAILED]{background:#d62728}
.lt-w-badge[data-status=KILLED]{background:#ff7f0e}
.lt-RunWidget-static,.lt-CompareWidget-static,.lt-RunsTable-static{
  border:1px solid var(--jp-border-color2,#ddd);padding:6px 10px}
.lt-w-muted{color:var(--jp-ui-font-color2,#666);font-size:12px}
.lt-w-table{border-collapse:collapse;margin:4px 0;font-size:12px}
.lt-w-table th,.lt-w-table td{padding:2px 10px 2px 0;text-align:left;
  border-bottom:1px solid var(--jp-border-color2,#e0e0e0);vertical-align:middle}
.lt-w-table td.lt-w-num{font-family:var(--jp-code-font-family,monospace);text-align:right}
.lt-w-best{font-weight:600}
.lt-w-error{color:var(--jp-error-color1,#d32f2f);font-family:var(--jp-code-font-family,monospace);line-height:1.4;
  white-space:pre-wrap}
</style>"""


def style_widget() -> Any:
    """An invisible HTML widget carrying the cards' CSS (theme-aware: JupyterLab variables)."""
    import ipywidgets as widgets

    return widgets.HTML(STYLE, layout=widgets.Layout(display="none"))


def kernel_shell() -> Any:
    """The IPython shell when running inside a Jupyter kernel, else ``None``."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency of ipywidgets
        return None
    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        return None
    return shell


_pending: weakref.WeakSet[Any] = weakref.WeakSet()
_pending_lock = threading.Lock()
_hooked_shells: weakref.WeakSet[Any] = weakref.WeakSet()


def _post_run_cell(*_args: Any) -> None:
    with _pending_lock:
        widgets = list(_pending)
        _pending.clear()
    for widget in widgets:
        try:
            widget._cell_finished()
        except Exception:
            import logging

            logging.getLogger("labtrack").debug("widget refresh failed", exc_info=True)


def _track(widget: Any) -> None:
    shell = kernel_shell()
    if shell is None:
        return
    if shell not in _hooked_shells:
        shell.events.register("post_run_cell", _post_run_cell)
        _hooked_shells.add(shell)
    with _pending_lock:
        _pending.add(widget)


def untrack(widget: Any) -> None:
    """Forget a widget the caller already brought up to date for this cell."""
    with _pending_lock:
        _pending.discard(widget)


class StaticViewMixin:
    """Mix into an ipywidgets ``DOMWidget`` subclass; implement ``_static_html``."""

    _display_id: str | None = None

    def _static_html(self) -> str:
        raise NotImplementedError

    def _static_chart(self) -> Any:
        return None

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        data = super()._repr_mimebundle_(**kwargs)  # type: ignore[misc]
        if data is None:  # a closed widget
            return None
        static = self.static_bundle()
        static.update(data)  # the widget's own text/plain and view win
        return static

    def static_bundle(self) -> dict[str, Any]:
        """The static view alone: labtrack's card (HTML + chart, rendered by the lab
        extension), ``text/html`` (card with sparklines), the Vega-Lite chart, ``text/plain``."""
        bundle: dict[str, Any] = {}
        html = STYLE + self._static_html()
        chart = self._static_chart()
        spec = None
        if chart is not None:
            bundle.update(chart_bundle(chart))
            spec = bundle[next(k for k in bundle if k.startswith("application/vnd.vegalite"))]
        bundle[STATIC_MIME_TYPE] = {"html": html, "chart": spec}
        bundle["text/html"] = html
        bundle["text/plain"] = f"<{type(self).__name__}>"
        return bundle

    def _ipython_display_(self) -> None:
        from IPython.display import display

        if self._display_id is None:
            self._display_id = uuid.uuid4().hex
        data = self._repr_mimebundle_()
        if data is not None:
            display(data, raw=True, display_id=self._display_id)
            _track(self)

    def update_static_view(self) -> None:
        """Re-send the display data (same display id) so saved notebooks keep this state."""
        if self._display_id is None or kernel_shell() is None:
            return
        from IPython.display import update_display

        data = self._repr_mimebundle_()
        if data is not None:
            update_display(data, raw=True, display_id=self._display_id)

    def replace_with_static_view(self) -> None:
        """Swap the displayed widget for its static view (for a widget whose state is final):
        a saved notebook then shows the same card and chart in JupyterLab without a kernel."""
        if self._display_id is None or kernel_shell() is None:
            return
        from IPython.display import update_display

        update_display(self.static_bundle(), raw=True, display_id=self._display_id)

    def _cell_finished(self) -> None:
        self.update_static_view()
