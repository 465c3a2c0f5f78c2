"""IPython magics: ``%%labtrack [run name] [--param key=value ...]`` makes a cell a run;
``%labtrack`` shows the active run.

Loaded by ``%load_ext labtrack`` and registered automatically when labtrack is imported inside
IPython. The cell runs in the user's namespace like any cell (its last expression is the
result); the run is started before it, gets the cell's source as the artifact ``cell.py``, and is
ended after it: FINISHED, or FAILED if the cell raised (KILLED on an interrupt). The live run
widget is displayed under the cell while it runs.
"""

from __future__ import annotations

import argparse
import ast
import shlex
from typing import Any

from IPython.core.magic import Magics, line_cell_magic, magics_class

CELL_ARTIFACT = "cell.py"

# The widget of the last %%labtrack cell (handy for tests and for reading values back).
last_widget: Any = None


class _ArgumentError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # no SystemExit inside a kernel
        raise _ArgumentError(f"%%labtrack: {message}\n{self.format_usage()}")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="%%labtrack", add_help=False)
    p.add_argument("name", nargs="*", help="the run name")
    p.add_argument(
        "--param", "-p", action="append", default=[], metavar="KEY=VALUE", help="log a param"
    )
    p.add_argument("--tag", "-t", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--experiment", "-e", default=None, help="experiment name")
    p.add_argument("--no-widget", action="store_true", help="do not display the run widget")
    return p


def _pairs(items: list[str], what: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise _ArgumentError(f"%%labtrack: --{what} expects KEY=VALUE, got {item!r}")
        out[key] = value
    return out


@magics_class
class LabtrackMagics(Magics):
    @line_cell_magic
    def labtrack(self, line: str = "", cell: str | None = None) -> Any:
        """``%%labtrack [name] [--param k=v] [--tag k=v] [--experiment e] [--no-widget]``
        runs the cell as a labtrack run; ``%labtrack [run_id]`` shows a run (default: the
        active one)."""
        if cell is None:
            return self._show(line.strip())
        try:
            args = _parser().parse_args(shlex.split(line))
            params = _pairs(args.param, "param")
            tags = _pairs(args.tag, "tag")
        except _ArgumentError as exc:
            print(exc)
            return None
        return self._run_cell(cell, " ".join(args.name) or None, params, tags, args)

    def _show(self, run_id: str) -> None:
        import labtrack as lt
        from labtrack.widgets import show

        if run_id:
            show(run_id)
            return
        run = lt.active_run() or lt.last_active_run()
        if run is None:
            print("No active labtrack run.")
            return
        show(run)

    def _run_cell(
        self, cell: str, name: str | None, params: dict[str, str], tags: dict[str, str], args: Any
    ) -> Any:
        global last_widget
        import labtrack as lt

        if args.experiment:
            lt.set_experiment(args.experiment)
        run = lt.start_run(run_name=name, nested=lt.active_run() is not None, tags=tags or None)
        run_id = run.info.run_id
        widget = None
        try:
            if params:
                lt.log_params(params)
            lt.MlflowClient().log_bytes(run_id, cell.encode(), CELL_ARTIFACT)
            if not args.no_widget:
                from IPython.display import display

                from labtrack.widgets import RunWidget

                widget = RunWidget(run_id)
                last_widget = widget
                display(widget)
        except BaseException:
            _end(run_id, "FAILED")
            raise
        status = "FAILED"
        try:
            result = self._execute(cell)
            status = "FINISHED"
            return result
        except KeyboardInterrupt:
            status = "KILLED"
            raise
        finally:
            _end(run_id, status)
            if widget is not None:
                widget.stop()
                from labtrack.widgets._display import untrack

                untrack(widget)
                widget._cell_finished()  # final state; the card becomes the static view

    def _execute(self, cell: str) -> Any:
        """Run the cell's code in the user namespace; return its last expression's value."""
        shell = self.shell
        assert shell is not None
        source = shell.transform_cell(cell)
        filename = shell.compile.cache(source, shell.execution_count, raw_code=cell)
        tree = ast.parse(source, filename)
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        namespace = shell.user_ns
        exec(compile(tree, filename, "exec"), namespace)  # noqa: S102 - the user's own cell
        if last is not None:
            return eval(compile(last, filename, "eval"), namespace)  # noqa: S307 - ditto
        return None


def _end(run_id: str, status: str) -> None:
    """End ``run_id`` (and any runs the cell left open inside it) with ``status``."""
    import labtrack as lt
    from labtrack.client import fluent

    if not any(r.info.run_id == run_id for r in fluent._run_stack):
        return  # the cell ended it itself
    while (active := lt.active_run()) is not None:
        lt.end_run(status)
        if active.info.run_id == run_id:
            break


def register(ipython: Any) -> None:
    """Register the magics with an IPython shell (idempotent)."""
    if ipython is None:
        return
    ipython.register_magics(LabtrackMagics)
