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
    if args.env_manager != "local":
        print(
            f"labtrack: --env-manager {args.env_manager}: models are served in this environment; "
            "use --env-manager local (labtrack models prepare-env installs the requirements)",
            file=sys.stderr,
        )
        return 2
    try:
        serve(args.model_uri, host=args.host, port=args.port, workers=args.workers)
    except KeyboardInterrupt:
        return 0
    return 0


def cmd_gc(args: argparse.Namespace) -> int:
    """MLflow's ``gc``: permanently delete what is in the deleted stage (runs, logged models,
    experiments) with its artifacts; also remove the upload temp files crashes left and mark
    runs whose writer died (no heartbeat) KILLED."""
    from labtrack.config import is_http_uri, normalize_uri, resolve_tracking_uri
    from labtrack.errors import invalid
    from labtrack.service.gc import collect_garbage, split_ids
    from labtrack.service.tracking import TrackingService

    if args.heartbeat_timeout is None:
        from labtrack.config import DEFAULT_HEARTBEAT_TIMEOUT, HEARTBEAT_TIMEOUT_ENV, env_seconds

        args.heartbeat_timeout = env_seconds(HEARTBEAT_TIMEOUT_ENV, DEFAULT_HEARTBEAT_TIMEOUT)
    explicit = args.backend_store_uri or args.tracking_uri
    uri = resolve_tracking_uri(normalize_uri(explicit) if explicit else None)
    if is_http_uri(uri):
        # Permanent deletes are no REST operation: gc opens the server's store itself.
        raise invalid(
            f"gc needs the store itself, not the server {uri}: "
            "give --backend-store-uri (the server's store URI)"
        )
    service = TrackingService.open(uri)
    try:
        killed = (
            service.kill_silent_runs(args.heartbeat_timeout) if args.heartbeat_timeout > 0 else []
        )
        result = collect_garbage(
            service,
            older_than=args.older_than,
            run_ids=split_ids(args.run_ids),
            experiment_ids=split_ids(args.experiment_ids),
            logged_model_ids=split_ids(args.logged_model_ids),
            artifact_root=args.artifacts_destination,
            report=print,
        )
    finally:
        service.store.dispose()
    print(
        f"removed {result.temp_files} upload temp files ({result.temp_bytes} bytes) "
        f"under {args.artifacts_destination or service.artifact_root}"
    )
    if args.heartbeat_timeout > 0:
        print(
            f"marked {len(killed)} silent runs KILLED (no heartbeat for "
            f"{args.heartbeat_timeout:g} s)"
        )
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


# ---- MLflow's tracking commands (experiments, runs, artifacts) ---------------------------------


def _client() -> Any:
    """The client for $LABTRACK_TRACKING_URI / $MLFLOW_TRACKING_URI (or the default store)."""
    from labtrack.client.tracking_client import TrackingClient

    return TrackingClient()


def _view_type(view: str) -> Any:
    from labtrack.entities import ViewType

    return {"active_only": ViewType.ACTIVE_ONLY, "deleted_only": ViewType.DELETED_ONLY}.get(
        view, ViewType.ALL
    )


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


def cmd_experiments_create(args: argparse.Namespace) -> int:
    exp_id = _client().create_experiment(args.experiment_name, args.artifact_location)
    print(f"Created experiment '{args.experiment_name}' with id {exp_id}")
    return 0


def cmd_experiments_search(args: argparse.Namespace) -> int:
    c = _client()
    experiments, token = [], None
    while True:
        page = c.search_experiments(_view_type(args.view), 1000, None, None, token)
        experiments.extend(page.items)
        token = page.token
        if not token:
            break
    rows = [[e.experiment_id, e.name, e.artifact_location] for e in experiments]
    print(_table(["Experiment Id", "Name", "Artifact Location"], rows))
    return 0


def cmd_experiments_delete(args: argparse.Namespace) -> int:
    _client().delete_experiment(args.experiment_id)
    print(f"Experiment with ID {args.experiment_id} has been deleted.")
    return 0


def cmd_experiments_restore(args: argparse.Namespace) -> int:
    _client().restore_experiment(args.experiment_id)
    print(f"Experiment with id {args.experiment_id} has been restored.")
    return 0


def cmd_experiments_rename(args: argparse.Namespace) -> int:
    _client().rename_experiment(args.experiment_id, args.new_name)
    print(f"Experiment with id {args.experiment_id} has been renamed to '{args.new_name}'.")
    return 0


def cmd_runs_list(args: argparse.Namespace) -> int:
    import datetime

    c = _client()
    runs, token = [], None
    while True:
        page = c.search_runs([args.experiment_id], "", _view_type(args.view), 1000, None, token)
        runs.extend(page.items)
        token = page.token
        if not token:
            break
    rows = []
    for run in runs:
        start = run.info.start_time
        when = (
            datetime.datetime.fromtimestamp(start / 1000).strftime("%Y-%m-%d %H:%M:%S")
            if start
            else ""
        )
        rows.append([when, run.info.run_name or "", run.info.run_id])
    print(_table(["Date", "Name", "ID"], rows))
    return 0


def cmd_runs_describe(args: argparse.Namespace) -> int:
    import json

    from labtrack.entities import wire

    print(json.dumps(wire.run_to_json(_client().get_run(args.run_id)), indent=4))
    return 0


def cmd_runs_delete(args: argparse.Namespace) -> int:
    _client().delete_run(args.run_id)
    print(f"Run with ID {args.run_id} has been deleted.")
    return 0


def cmd_runs_restore(args: argparse.Namespace) -> int:
    _client().restore_run(args.run_id)
    print(f"Run with id {args.run_id} has been restored.")
    return 0


def cmd_artifacts_list(args: argparse.Namespace) -> int:
    import json

    entries = _client().list_artifacts(args.run_id, args.artifact_path)
    infos = [
        {"path": e.path, "is_dir": e.is_dir, **({} if e.is_dir else {"file_size": e.file_size})}
        for e in entries
    ]
    print(json.dumps(infos, indent=2))
    return 0


def cmd_artifacts_download(args: argparse.Namespace) -> int:
    from labtrack.artifacts import download_artifacts

    if args.artifact_uri and (args.run_id or args.artifact_path):
        raise _usage("give either --artifact-uri, or --run-id (and --artifact-path)")
    if not args.artifact_uri and not args.run_id:
        raise _usage("give --run-id or --artifact-uri")
    local = download_artifacts(
        artifact_uri=args.artifact_uri,
        run_id=args.run_id,
        artifact_path=args.artifact_path,
        dst_path=args.dst_path,
    )
    print(local)
    return 0


def cmd_artifacts_log_artifact(args: argparse.Namespace) -> int:
    _client().log_artifact(args.run_id, args.local_file, args.artifact_path)
    print(
        f"Logged artifact from local file {args.local_file} to artifact_path={args.artifact_path}"
    )
    return 0


def cmd_artifacts_log_artifacts(args: argparse.Namespace) -> int:
    _client().log_artifacts(args.run_id, args.local_dir, args.artifact_path)
    print(f"Logged artifact from local dir {args.local_dir} to artifact_path={args.artifact_path}")
    return 0


def cmd_models_predict(args: argparse.Namespace) -> int:
    from labtrack.models.flavor_backend import get_flavor_backend

    # MLflow reads the payload from stdin when no input file is given.
    backend = get_flavor_backend(args.model_uri, args.env_manager)
    backend.predict(args.model_uri, args.input_path, args.output_path, args.content_type)
    return 0


def cmd_models_prepare_env(args: argparse.Namespace) -> int:
    """Install the model's requirements.txt into this environment (``--env-manager local``)."""
    from labtrack.models.flavor_backend import LocalPyFuncBackend, get_flavor_backend

    backend = get_flavor_backend(args.model_uri, args.env_manager)
    assert isinstance(backend, LocalPyFuncBackend)
    status = backend.prepare_env(args.model_uri, dry_run=args.dry_run)
    if status == 0:
        print(f"The environment has what the model at {args.model_uri} lists.")
    return status


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    """Upgrade a store's schema to the newest revision (``mlflow db upgrade <url>``)."""
    from labtrack.config import normalize_uri
    from labtrack.store.engine import (
        HEAD_REVISION,
        create_store_engine,
        current_revision,
        ensure_schema,
    )

    engine = create_store_engine(normalize_uri(args.url))
    try:
        before = current_revision(engine)
        ensure_schema(engine)
        after = current_revision(engine)
    finally:
        engine.dispose()
    if before == after:
        print(f"The database is already at the newest revision ({HEAD_REVISION}).")
    else:
        print(f"Upgraded the database from revision {before or '(empty)'} to {after}.")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from labtrack._doctor import doctor

    doctor(mask_envs=args.mask_envs)
    return 0


class _UsageError(Exception):
    pass


def _usage(message: str) -> _UsageError:
    return _UsageError(message)


def _add_view(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-v",
        "--view",
        choices=["active_only", "deleted_only", "all"],
        default="active_only",
        help="which lifecycle stage to show (default: active_only)",
    )


def _add_tracking_commands(sub: Any) -> None:
    experiments = sub.add_parser("experiments", help="manage experiments")
    exp_sub = experiments.add_subparsers(dest="experiments_command", required=True)
    create = exp_sub.add_parser("create", help="create an experiment")
    create.add_argument("-n", "--experiment-name", required=True)
    create.add_argument("-l", "--artifact-location", default=None)
    create.set_defaults(func=cmd_experiments_create)
    search = exp_sub.add_parser("search", help="list experiments")
    _add_view(search)
    search.set_defaults(func=cmd_experiments_search)
    for name, func, text in (
        ("delete", cmd_experiments_delete, "mark an experiment deleted"),
        ("restore", cmd_experiments_restore, "restore a deleted experiment"),
        ("rename", cmd_experiments_rename, "rename an experiment"),
    ):
        p = exp_sub.add_parser(name, help=text)
        p.add_argument("-x", "--experiment-id", required=True)
        if name == "rename":
            p.add_argument("--new-name", required=True)
        p.set_defaults(func=func)

    runs = sub.add_parser("runs", help="manage runs")
    runs_sub = runs.add_subparsers(dest="runs_command", required=True)
    listing = runs_sub.add_parser("list", help="list the runs of an experiment")
    listing.add_argument("--experiment-id", required=True)
    _add_view(listing)
    listing.set_defaults(func=cmd_runs_list)
    for name, func, text in (
        ("describe", cmd_runs_describe, "print a run as JSON"),
        ("delete", cmd_runs_delete, "mark a run deleted"),
        ("restore", cmd_runs_restore, "restore a deleted run"),
    ):
        p = runs_sub.add_parser(name, help=text)
        p.add_argument("--run-id", required=True)
        p.set_defaults(func=func)

    artifacts = sub.add_parser("artifacts", help="list, download and upload run artifacts")
    art_sub = artifacts.add_subparsers(dest="artifacts_command", required=True)
    ls = art_sub.add_parser("list", help="list a run's artifacts (JSON)")
    ls.add_argument("-r", "--run-id", required=True)
    ls.add_argument("-a", "--artifact-path", default=None)
    ls.set_defaults(func=cmd_artifacts_list)
    dl = art_sub.add_parser("download", help="download artifacts; prints the local path")
    dl.add_argument("-r", "--run-id", default=None)
    dl.add_argument("-a", "--artifact-path", default=None)
    dl.add_argument("-u", "--artifact-uri", default=None)
    dl.add_argument("-d", "--dst-path", default=None)
    dl.set_defaults(func=cmd_artifacts_download)
    one = art_sub.add_parser("log-artifact", help="upload a local file to a run")
    one.add_argument("-l", "--local-file", required=True)
    one.add_argument("-r", "--run-id", required=True)
    one.add_argument("-a", "--artifact-path", default=None)
    one.set_defaults(func=cmd_artifacts_log_artifact)
    many = art_sub.add_parser("log-artifacts", help="upload a local folder to a run")
    many.add_argument("-l", "--local-dir", required=True)
    many.add_argument("-r", "--run-id", required=True)
    many.add_argument("-a", "--artifact-path", default=None)
    many.set_defaults(func=cmd_artifacts_log_artifacts)

    db = sub.add_parser("db", help="store schema")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_sub.add_parser("upgrade", help="upgrade a store's schema to the newest revision")
    upgrade.add_argument("url", help="the store: sqlite:///path.db, postgresql://... or a path")
    upgrade.set_defaults(func=cmd_db_upgrade)

    doctor = sub.add_parser("doctor", help="versions, tracking URI, whether the store answers")
    doctor.add_argument("--mask-envs", action="store_true", help="hide environment values")
    doctor.set_defaults(func=cmd_doctor)


def _add_model_commands(models_sub: Any) -> None:
    pred = models_sub.add_parser(
        "predict",
        help="score a file (JSON serving payload or CSV) with a model",
        description="Loading a model runs its code (pickle): use only models you trust.",
    )
    pred.add_argument("-m", "--model-uri", required=True)
    pred.add_argument("-i", "--input-path", default=None, help="input file (default: stdin)")
    pred.add_argument("-o", "--output-path", default=None, help="output file (default: stdout)")
    pred.add_argument("-t", "--content-type", choices=["json", "csv"], default="json")
    pred.add_argument("--env-manager", default="local", help="only 'local' is supported")
    pred.set_defaults(func=cmd_models_predict)
    prep = models_sub.add_parser(
        "prepare-env", help="install a model's requirements.txt into this environment"
    )
    prep.add_argument("-m", "--model-uri", required=True)
    prep.add_argument("--env-manager", default="local", help="only 'local' is supported")
    prep.add_argument("--dry-run", action="store_true", help="show what pip would install")
    prep.set_defaults(func=cmd_models_prepare_env)


def _version() -> str:
    try:
        from labtrack._version import __version__
    except ImportError:  # a source tree that was never built
        return "0.0.0+unknown"
    return __version__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="labtrack", description=__doc__)
    parser.add_argument("--version", action="version", version=f"labtrack, version {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_tracking_commands(sub)

    lab = sub.add_parser("lab", help="launch JupyterLab with labtrack")
    lab.add_argument("--demo", action="store_true", help="open the labtrack demo notebook")
    lab.add_argument("--notebook-dir", default=".", help="where JupyterLab starts (default: .)")
    lab.set_defaults(jupyter_args=[])
    lab.set_defaults(func=cmd_lab)

    info = sub.add_parser("info", help="show where runs are stored")
    info.set_defaults(func=cmd_info)

    gc = sub.add_parser(
        "gc",
        help="permanently delete deleted runs, experiments and logged models (and crashed "
        "uploads' temp files)",
        description="MLflow's gc: runs, logged models and experiments in the deleted "
        "lifecycle stage lose their rows and artifacts for good. Upload temp files idle for "
        "an hour are removed too.",
    )
    gc.add_argument(
        "--older-than",
        default=None,
        help="only what was deleted longer ago than this (#d#h#m#s, e.g. 30d, 1d2h3m4s, 1.5h)",
    )
    gc.add_argument("--backend-store-uri", default=None, help="the store (default: as clients)")
    gc.add_argument(
        "--tracking-uri",
        default=None,
        help="the store, when it is a database URI or path (a server's http URL cannot gc)",
    )
    gc.add_argument(
        "--artifacts-destination",
        "--artifact-root",
        dest="artifacts_destination",
        default=None,
        help="the artifact root (default: the store's)",
    )
    gc.add_argument("--run-ids", default=None, help="comma-separated deleted runs to remove")
    gc.add_argument(
        "--experiment-ids", default=None, help="comma-separated deleted experiments to remove"
    )
    gc.add_argument(
        "--logged-model-ids", default=None, help="comma-separated deleted logged models to remove"
    )
    gc.add_argument(
        "--heartbeat-timeout",
        type=float,
        default=None,
        help="mark RUNNING runs KILLED whose writer sent no heartbeat for this many seconds "
        "(default: $LABTRACK_HEARTBEAT_TIMEOUT, else 600; 0: leave runs alone)",
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

    models = sub.add_parser("models", help="serve models, score files, install requirements")
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
    serve.add_argument("--env-manager", default="local", help="only 'local' is supported")
    serve.set_defaults(func=cmd_models_serve)
    _add_model_commands(models_sub)

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
    if args.command in _TRACKING_COMMANDS or getattr(args, "models_command", None) in (
        "predict",
        "prepare-env",
    ):
        return _run_reporting_errors(parser, args)
    return int(args.func(args))


_TRACKING_COMMANDS = ("experiments", "runs", "artifacts", "db", "doctor", "gc")


def _run_reporting_errors(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Mistakes the user can fix are one line on stderr and exit status 1, never a traceback."""
    from labtrack.errors import LabtrackException

    try:
        return int(args.func(args))
    except _UsageError as exc:
        parser.error(str(exc))
    except LabtrackException as exc:
        print(f"labtrack: error: {exc.message}", file=sys.stderr)
    except OSError as exc:
        print(f"labtrack: error: {exc}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
