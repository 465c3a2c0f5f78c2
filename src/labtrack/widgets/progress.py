"""Progress bars for long artifact transfers from a notebook.

``progress_bar`` is the factory ``labtrack`` registers with ``labtrack.client.progress`` inside
a Jupyter kernel; it gives a bar for payloads over ``THRESHOLD`` bytes: ``tqdm.auto`` when
installed, else an ipywidgets ``IntProgress``.
"""

from __future__ import annotations

from typing import Any

THRESHOLD = 5 * 1024 * 1024


def wanted(total: int) -> bool:
    """A bar is shown inside a Jupyter kernel, for payloads over ``THRESHOLD``."""
    if total <= THRESHOLD:
        return False
    from labtrack.widgets._display import kernel_shell

    return kernel_shell() is not None


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


class Bar:
    """One progress bar: ``update(done)`` with bytes done so far; ``close()`` when over."""

    def __init__(self, total: int, label: str) -> None:
        self.total = max(total, 1)
        self.label = label
        self.done = 0
        self._tqdm: Any = None
        self._widget: Any = None
        try:
            from tqdm.auto import tqdm

            self._tqdm = tqdm(total=self.total, desc=label, unit="B", unit_scale=True)
        except ImportError:
            import ipywidgets as widgets
            from IPython.display import display

            self._widget = widgets.IntProgress(
                value=0, min=0, max=self.total, description=label[:20], bar_style="info"
            )
            self._text = widgets.Label(f"0 / {_mb(self.total)}")
            box = widgets.HBox([self._widget, self._text])
            box.add_class("lt-Progress")
            self._box = box
            display(box)

    def update(self, done: int) -> None:
        done = min(max(done, 0), self.total)
        if done == self.done:
            return
        if self._tqdm is not None:
            self._tqdm.update(done - self.done)
        elif self._widget is not None:
            self._widget.value = done
            self._text.value = f"{_mb(done)} / {_mb(self.total)}"
        self.done = done

    def close(self, ok: bool = True) -> None:
        if ok:
            self.update(self.total)
        if self._tqdm is not None:
            self._tqdm.close()
        elif self._widget is not None:
            self._widget.bar_style = "success" if ok else "danger"


def progress_bar(total: int, label: str) -> Bar | None:
    """The ``labtrack.client.progress`` factory of notebooks: a bar for a big transfer made
    inside a Jupyter kernel, nothing otherwise."""
    return Bar(total, label) if wanted(total) else None
