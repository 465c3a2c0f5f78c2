"""The ``labtrack`` command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
from importlib import resources
from pathlib import Path
from typing import Any

DEMO_NOTEBOOK = "labtrack-demo.ipynb"


def kernel_metadata() -> dict[str, Any]:
    """The notebook metadata ipykernel reports for this interpreter (python3 kernel)."""
    return {
        "kernelspec": {
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
            "name": "python3",
        },
        # As ipykernel's IPythonKernel.language_info has it.
        "language_info": {
            "codemirror_mode": {"name": "ipython", "version": sys.version_info[0]},
            "file_extension": ".py",
            "mimetype": "text/x-python",
            "name": "python",
            "nbconvert_exporter": "python",
            "pygments_lexer": "ipython3",
            "version": sys.version.split()[0],
        },
    }


def demo_notebook() -> dict[str, Any]:
    """The packaged demo notebook with the kernel metadata JupyterLab sets on opening it
    (ipykernel's ``language_info`` for this interpreter, its kernelspec name): without it
    the kernel's first reply changes the metadata and the demo opens marked as modified."""
    source = resources.files("labtrack.demo") / DEMO_NOTEBOOK
    notebook: dict[str, Any] = json.loads(source.read_text(encoding="utf-8"))
    notebook["metadata"] = {**notebook.get("metadata", {}), **kernel_metadata()}
    return notebook


def _copy_demo(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / DEMO_NOTEBOOK
    if not target.exists():
        # As JupyterLab writes a notebook (indent 1, final newline).
        text = json.dumps(demo_notebook(), indent=1, ensure_ascii=False) + "\n"
        target.write_text(text, encoding="utf-8")
    return target


def cmd_lab(args: argparse.Namespace) -> int:
    """Launch JupyterLab with labtrack on its embedded store (and the demo notebook)."""
    workdir = Path(args.notebook_dir).resolve()
    extra = list(args.jupyter_args)
    if args.demo:
        demo = _copy_demo(workdir)
        extra.append(f"--LabApp.default_url=/lab/tree/{demo.name}")
    argv = [sys.executable, "-m", "jupyterlab", f"--notebook-dir={workdir}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        argv.append("--allow-root")
    os.execv(sys.executable, argv + extra)  # noqa: S606 - replaces this process on purpose
    return 0


def cmd_info(_: argparse.Namespace) -> int:
    from labtrack.config import ARTIFACT_ROOT_ENV, default_artifact_root, resolve_tracking_uri

    uri = resolve_tracking_uri()
    print(f"tracking URI:  {uri}")
    print(f"artifact root: {os.environ.get(ARTIFACT_ROOT_ENV) or default_artifact_root(uri)}")
    return 0


def cmd_models_serve(args: argparse.Namespace) -> int:
    """Serve a model over HTTP (MLflow's scoring protocol) in this process."""
    import logging

    from labtrack.models.serving import serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # One line per request costs more than scoring a small model; errors are still logged.
    logging.getLogger("tornado.access").setLevel(logging.WARNING)
    if args.workers < 1:
        print("labtrack: --workers must be at least 1", file=sys.stderr)
        return 2
    try:
        serve(args.model_uri, host=args.host, port=args.port, workers=args.workers)
    except KeyboardInterrupt:
        return 0
    return 0


def cmd_gc(args: argparse.Namespace) -> int:
    """Remove what crashes left in the store: upload temp files no listing shows."""
    from labtrack.artifact_store.store import ArtifactStore
    from labtrack.config import ARTIFACT_ROOT_ENV, default_artifact_root, resolve_tracking_uri

    root = args.artifact_root or os.environ.get(ARTIFACT_ROOT_ENV)
    root = root or default_artifact_root(resolve_tracking_uri(args.backend_store_uri))
    files, size = ArtifactStore(root).sweep_temp_files(args.older_than)
    print(f"removed {files} upload temp files ({size} bytes) under {root}")
    return 0


def _parse_params(pairs: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"-P expects key=value, got {pair!r}")
        params[key] = value
    return params


def cmd_run(args: argparse.Namespace) -> int:
    """Run a project's entry point as a tracked run; exit with the project's exit status."""
    from labtrack.errors import LabtrackException
    from labtrack.projects.runner import ProjectRunFailed, run

    try:
        params = _parse_params(args.param)
        run(
            args.uri,
            entry_point=args.entry_point,
            parameters=params,
            env_manager=args.env_manager,
            experiment_name=args.experiment_name,
            experiment_id=args.experiment_id,
            run_name=args.run_name,
            backend=args.backend,
            backend_config=args.backend_config,
            version=args.version,
            run_id=args.run_id,
        )
    except ProjectRunFailed as exc:
        return exc.exit_code or 1
    except KeyboardInterrupt:
        print("labtrack run: interrupted", file=sys.stderr)
        return 130
    except (LabtrackException, ValueError, OSError) as exc:
        # Every mistake the user can fix is one line, never a traceback.
        message = getattr(exc, "message", None) or str(exc)
        print(f"labtrack run: error: {message}", file=sys.stderr)
        return 2
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    """Scaffold a project from a template (chained steps in an MLproject + workflow.py)."""
    from labtrack.projects.templates import TemplateError, scaffold

    try:
        target = scaffold(args.template, Path(args.directory), force=args.force)
    except TemplateError as exc:
        print(f"labtrack init: error: {exc}", file=sys.stderr)
        return 2
    print(f"created {args.template} project in {target}")
    print(f"run it with: labtrack run {target} --env-manager local")
    return 0


def cmd_service(args: argparse.Namespace) -> int:
    """Serve one team's labtrack as a JupyterHub service (see labtrack.server.hub_service)."""
    from labtrack.server.hub_service import main as service_main

    return service_main(args.jupyter_args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="labtrack", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    lab = sub.add_parser("lab", help="launch JupyterLab with labtrack")
    lab.add_argument("--demo", action="store_true", help="open the labtrack demo notebook")
    lab.add_argument("--notebook-dir", default=".", help="where JupyterLab starts (default: .)")
    lab.set_defaults(jupyter_args=[])
    lab.set_defaults(func=cmd_lab)

    info = sub.add_parser("info", help="show where runs are stored")
    info.set_defaults(func=cmd_info)

    gc = sub.add_parser("gc", help="remove what crashes left in the store")
    gc.add_argument("--backend-store-uri", default=None, help="the store (default: as clients)")
    gc.add_argument(
        "--artifact-root", default=None, help="the artifact root (default: the store's)"
    )
    gc.add_argument(
        "--older-than",
        type=float,
        default=3600.0,
        help="seconds since a temp file was last written (default: 3600)",
    )
    gc.set_defaults(func=cmd_gc)

    service = sub.add_parser(
        "service",
        help="serve a team's labtrack as a JupyterHub service",
        description="Reads JUPYTERHUB_SERVICE_URL, JUPYTERHUB_SERVICE_PREFIX, "
        "JUPYTERHUB_API_TOKEN and JUPYTERHUB_API_URL (set by the hub for a managed service), "
        "the store from LABTRACK_STORE_URI (or LABTRACK_TRACKING_URI) and artifacts from "
        "LABTRACK_ARTIFACT_ROOT. Other --Class.trait=value options go to the server.",
    )
    service.set_defaults(jupyter_args=[])
    service.set_defaults(func=cmd_service)

    models = sub.add_parser("models", help="serve models")
    models_sub = models.add_subparsers(dest="models_command", required=True)
    serve = models_sub.add_parser(
        "serve",
        help="serve a model as a REST endpoint (/invocations, /ping, /health, /version)",
        description="Loading a model runs its code (pickle): serve only models you trust.",
    )
    serve.add_argument(
        "-m",
        "--model-uri",
        required=True,
        help="a path, runs:/<run>/<path>, models:/<name>/<version|stage>, models:/<name>@<alias>",
    )
    serve.add_argument("-p", "--port", type=int, default=5000, help="port (default: 5000)")
    serve.add_argument("--host", default="127.0.0.1", help="address (default: 127.0.0.1)")
    serve.add_argument("-w", "--workers", type=int, default=1, help="processes (default: 1)")
    serve.set_defaults(func=cmd_models_serve)

    run = sub.add_parser(
        "run",
        help="run a project (MLproject folder, repo#subdir or git URL) as a tracked run",
        description="Run an entry point of a project as a tracked run (MLflow's `mlflow run`). "
        "The exit status is the project's.",
    )
    run.add_argument("uri", help="a folder, a git repository (path#subdir) or a git URL")
    run.add_argument("-e", "--entry-point", default="main", help="entry point (default: main)")
    run.add_argument(
        "-P",
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a parameter (repeatable); undeclared ones are passed as --key value",
    )
    run.add_argument(
        "--env-manager",
        choices=["local", "virtualenv", "uv", "conda"],
        default=None,
        help="environment (default: from the project: python_env -> virtualenv, "
        "conda_env -> conda, none -> local)",
    )
    exp = run.add_mutually_exclusive_group()
    exp.add_argument("--experiment-name", default=None, help="experiment (created if missing)")
    exp.add_argument("--experiment-id", default=None, help="experiment id")
    run.add_argument("--run-name", default=None, help="name of the run")
    run.add_argument("--run-id", default=None, help="resume this run instead of creating one")
    run.add_argument("-v", "--version", default=None, help="git commit or branch to run")
    run.add_argument("-b", "--backend", choices=["local", "ray"], default="local")
    run.add_argument(
        "-c", "--backend-config", default=None, help="JSON string or file, e.g. Ray's address"
    )
    run.set_defaults(func=cmd_run)

    init = sub.add_parser("init", help="scaffold a project from a template")
    init.add_argument(
        "--template", choices=["classification", "regression"], default="classification"
    )
    init.add_argument("--force", action="store_true", help="write into a non-empty folder")
    init.add_argument("directory", help="the folder to create")
    init.set_defaults(func=cmd_init)

    # Options labtrack does not know (e.g. --port 8889, --no-browser) go to JupyterLab.
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        if args.command not in ("lab", "service"):
            parser.error(f"unrecognized arguments: {' '.join(unknown)}")
        args.jupyter_args = unknown
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
