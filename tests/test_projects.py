"""``labtrack run``: real MLproject folders run as real processes against a temp SQLite store."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from projects_helpers import (
    all_runs,
    clean_env,
    labtrack_run,
    run_script,
    start_labtrack,
    store_client,
    write_project,
)

TRAIN = """
import sys
import labtrack as lt

args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
with lt.start_run() as run:
    lt.log_metric("alpha_seen", float(args["--alpha"]))
    lt.log_metric("loss", 0.25, step=1)
    print("child run", run.info.run_id)
"""

MLPROJECT = """
name: tiny
entry_points:
  main:
    parameters:
      alpha: {type: float, default: 0.5}
      epochs: {type: int, default: 3}
      label: string
    command: "python train.py --alpha {alpha} --epochs {epochs} --label {label}"
  fail:
    parameters:
      code: {type: int, default: 3}
    command: "exit {code}"
  sleep:
    command: "python sleeper.py"
"""

SLEEPER = """
import os, sys, time
from pathlib import Path
Path(sys.argv[1] if len(sys.argv) > 1 else "child.pid").write_text(str(os.getpid()))
time.sleep(120)
"""


def _git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    out = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(
        tmp_path / "tiny",
        {"MLproject": MLPROJECT, "train.py": TRAIN, "sleeper.py": SLEEPER},
    )


def test_run_records_params_tags_status_and_the_childs_metrics(tmp_path, project):
    _git(project, "init", "-q")
    _git(project, "add", ".")
    _git(project, "commit", "-q", "-m", "first")
    commit = _git(project, "rev-parse", "HEAD")

    res = labtrack_run(
        tmp_path,
        str(project),
        "-P",
        "alpha=0.75",
        "-P",
        "label=first try",
        "-P",
        "extra=7",
        "--experiment-name",
        "proj",
        "--run-name",
        "r1",
    )
    assert res.returncode == 0, res.stderr
    runs = all_runs(tmp_path)
    assert len(runs) == 1  # the child resumed the run it was handed, it did not make its own
    run = runs[0]
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "r1"
    assert f"child run {run.info.run_id}" in res.stdout
    # Declared parameters (defaults too) and the undeclared extra one.
    assert run.data.params == {"alpha": "0.75", "epochs": "3", "label": "first try", "extra": "7"}
    tags = run.data.tags
    assert tags["mlflow.source.type"] == "PROJECT"
    assert tags["mlflow.source.name"] == str(project)
    assert tags["mlflow.source.git.commit"] == commit
    assert tags["mlflow.project.entryPoint"] == "main"
    assert tags["mlflow.project.env"] == "local"
    assert tags["mlflow.project.backend"] == "local"
    assert tags["labtrack.project.exitCode"] == "0"
    assert run.data.metrics == {"alpha_seen": 0.75, "loss": 0.25}
    client = store_client(tmp_path)
    assert client.get_experiment(run.info.experiment_id).name == "proj"


def test_a_failing_project_is_failed_with_its_exit_code(tmp_path, project):
    res = labtrack_run(tmp_path, str(project), "-e", "fail", "-P", "code=3")
    assert res.returncode == 3
    (run,) = all_runs(tmp_path)
    assert run.info.status == "FAILED"
    assert run.data.tags["labtrack.project.exitCode"] == "3"
    assert "FAILED (exit code 3)" in res.stderr
    assert "Traceback" not in res.stderr


def _wait_for(path: Path, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while not (path.is_file() and path.read_text()):
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.1)
    return path.read_text()


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state == "Z"  # reaped by nobody yet, but no longer running


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_kills_the_child_group_and_marks_the_run_killed(tmp_path, project, sig):
    proc = start_labtrack(
        project, "run", str(project), "-e", "sleep", env=clean_env(tmp_path), terminal=True
    )
    try:
        child = int(_wait_for(project / "child.pid"))
        proc.send_signal(sig)
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + sig, err
    assert "Traceback" not in err
    deadline = time.monotonic() + 10
    while not _gone(child):
        assert time.monotonic() < deadline, "the project's process survived"
        time.sleep(0.1)
    (run,) = all_runs(tmp_path)
    assert run.info.status == "KILLED"
    assert run.info.end_time is not None


INJECTIONS = ["x; touch {m}", "$(touch {m})", "`touch {m}`", "a' ; touch {m}; '", '{m}"; touch {m}']


def test_parameter_values_are_data_never_shell_code(tmp_path):
    marker = tmp_path / "pwned"
    values = [v.format(m=marker) for v in INJECTIONS]
    project = write_project(
        tmp_path / "echo",
        {
            "MLproject": """
                entry_points:
                  main:
                    parameters:
                      msg: string
                    command: "python echo.py {msg}"
            """,
            "echo.py": """
                import json, sys
                from pathlib import Path
                Path("argv.json").write_text(json.dumps(sys.argv[1:]))
            """,
        },
    )
    # The declared parameter carries one value, undeclared ones (appended as --key value,
    # the key quoted too) the others.
    extra = {f"p{i}": v for i, v in enumerate(values[1:])}
    extra["k;touch " + str(marker)] = "v"
    args = ["-P", f"msg={values[0]}"]
    for key, value in extra.items():
        args += ["-P", f"{key}={value}"]
    res = labtrack_run(tmp_path, str(project), *args)
    assert res.returncode == 2  # a key that is not a name is refused before anything runs
    assert "invalid parameter name" in res.stderr
    del extra["k;touch " + str(marker)]
    args = args[:-2]
    res = labtrack_run(tmp_path, str(project), *args)
    assert res.returncode == 0, res.stderr
    import json

    expected = [values[0]]
    for key, value in extra.items():
        expected += [f"--{key}", value]
    assert json.loads((project / "argv.json").read_text()) == expected
    assert not marker.exists()
    (run,) = all_runs(tmp_path)
    assert run.data.params == {"msg": values[0], **extra}


@pytest.mark.parametrize(
    ("mlproject", "args", "message"),
    [
        (
            MLPROJECT,
            ["-P", "label=x", "-P", "alpha=abc"],
            "parameter 'alpha': 'abc' is not a float",
        ),
        (MLPROJECT, ["-P", "label=x", "-P", "epochs=1.5"], "'1.5' is not a int"),
        (MLPROJECT, [], "no value given for required parameter(s) 'label'"),
        (
            "entry_points:\n  main: {command: 'x {d}', parameters: {d: uri}}",
            ["-P", "d=relative/dir"],
            "parameter 'd': expected a URI",
        ),
        (
            "entry_points:\n  main: {command: 'x {d}', parameters: {d: path}}",
            ["-P", "d=no/such/file"],
            "parameter 'd': no such file or directory: 'no/such/file'",
        ),
        (MLPROJECT, ["-e", "nope"], "unknown entry point 'nope'"),
        ("entry_points: [oops", [], "MLproject: invalid YAML (line"),
        ("nmae: x\nentry_points: {}", [], "MLproject: unknown key 'nmae'"),
        ("entry_points:\n  main: {command: 'x', parameters: {a: decimal}}", [], "unknown type"),
        ("entry_points:\n  main: {command: 'python {b}.py'}", [], "{b}, which is not a parameter"),
        ("entry_points:\n  main: {parameters: {}}", [], "'command' must be a non-empty string"),
        ("entry_points:\n  main: {command: 'x', parameters: {a: {default: []}}}", [], "one value"),
        ("docker_env: {image: python:3.11}\nentry_points: {main: {command: 'x'}}", [], "Docker"),
    ],
)
def test_mistakes_are_one_line_errors_and_leave_no_run(
    tmp_path, capsys, monkeypatch, mlproject, args, message
):
    # In-process (cli.main): these are refused before any store is opened or process started.
    from labtrack.cli import main

    monkeypatch.setenv("LABTRACK_TRACKING_URI", f"sqlite:///{tmp_path / 'store' / 'labtrack.db'}")
    monkeypatch.setenv("LABTRACK_HOME", str(tmp_path / "home"))
    project = write_project(tmp_path / "bad", {"MLproject": mlproject, "train.py": TRAIN})
    assert main(["run", str(project), *args]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("labtrack run: error: ")
    assert message in lines[0]
    assert not (tmp_path / "store" / "labtrack.db").exists()


def test_a_mistake_in_a_real_process_is_one_line_without_traceback(tmp_path, project):
    res = labtrack_run(tmp_path, str(project), "-P", "alpha=abc")
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        "labtrack run: error: entry point 'main': no value given for required parameter(s) 'label'"
    ]


def test_conda_without_conda_names_the_alternatives(tmp_path):
    project = write_project(
        tmp_path / "c",
        {
            "MLproject": "conda_env: conda.yaml\nentry_points: {main: {command: 'true'}}",
            "conda.yaml": "dependencies: [python=3.11, {pip: []}]",
        },
    )
    env = clean_env(tmp_path)
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if "conda" not in p)
    env.pop("CONDA_EXE", None)
    res = labtrack_run(tmp_path, str(project), env=env)
    assert res.returncode == 2
    assert "needs conda, which is not installed; use --env-manager virtualenv" in res.stderr


def test_a_folder_without_mlproject_runs_its_scripts(tmp_path):
    project = write_project(
        tmp_path / "scripts",
        {
            "hello.py": """
                import sys
                import labtrack as lt
                lt.log_param("argv", " ".join(sys.argv[1:]))
            """,
            "hello.sh": 'echo "sh got $*" > sh.out\n',
        },
    )
    res = labtrack_run(tmp_path, str(project), "-e", "hello.py", "-P", "a=1")
    assert res.returncode == 0, res.stderr
    res = labtrack_run(tmp_path, str(project), "-e", "hello.sh", "-P", "b=two words")
    assert res.returncode == 0, res.stderr
    assert (project / "sh.out").read_text() == "sh got --b two words\n"
    runs = sorted(all_runs(tmp_path), key=lambda r: r.info.start_time)
    assert runs[0].data.params == {"a": "1", "argv": "--a 1"}
    assert runs[0].data.tags["mlflow.project.entryPoint"] == "hello.py"
    assert runs[1].data.params == {"b": "two words"}


def _git_project(repo: Path, step: str) -> str:
    """A git repository (branch main) with a project in ``sub/`` whose command runs ``step``;
    the commit."""
    write_project(
        repo,
        {
            "sub/MLproject": "entry_points: {main: {command: 'python step.py'}}",
            "sub/step.py": step,
        },
    )
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "one")
    return _git(repo, "rev-parse", "HEAD")


@pytest.mark.slow
def test_git_urls_subdirectories_and_versions(tmp_path):
    repo = tmp_path / "repo"
    first = _git_project(repo, "import labtrack as lt\nlt.log_param('version', 'one')\n")
    (repo / "sub" / "step.py").write_text("import labtrack as lt\nlt.log_param('version', 'two')\n")
    _git(repo, "commit", "-q", "-am", "two")
    second = _git(repo, "rev-parse", "HEAD")

    url = f"file://{repo}#sub"
    assert labtrack_run(tmp_path, url).returncode == 0
    assert labtrack_run(tmp_path, url, "--version", first).returncode == 0
    assert labtrack_run(tmp_path, f"{repo}#sub", "--version", "main").returncode == 0
    runs = sorted(all_runs(tmp_path), key=lambda r: r.info.start_time)
    seen = [(r.data.params["version"], r.data.tags["mlflow.source.git.commit"][:12]) for r in runs]
    two, one = ("two", second[:12]), ("one", first[:12])
    assert seen == [two, one, two]
    assert runs[0].data.tags["mlflow.source.git.repoURL"] == f"file://{repo}"
    assert runs[0].data.tags["mlflow.source.name"] == url
    assert runs[2].data.tags["mlflow.source.git.branch"] == "main"
    # Clones are temporary and the user's repository is left as it was.
    assert _git(repo, "rev-parse", "HEAD") == second
    bad = labtrack_run(tmp_path, url, "--version", "no-such-ref")
    assert bad.returncode == 2
    assert "git checkout failed" in bad.stderr


@pytest.mark.slow
def test_resuming_a_run_with_run_id(tmp_path, project):
    first = labtrack_run(tmp_path, str(project), "-P", "label=a")
    assert first.returncode == 0, first.stderr
    (run,) = all_runs(tmp_path)
    again = labtrack_run(tmp_path, str(project), "-P", "label=a", "--run-id", run.info.run_id)
    assert again.returncode == 0, again.stderr
    assert [r.info.run_id for r in all_runs(tmp_path)] == [run.info.run_id]
    changed = labtrack_run(tmp_path, str(project), "-P", "label=b", "--run-id", run.info.run_id)
    assert changed.returncode == 2
    assert len(changed.stderr.strip().splitlines()) == 1


def test_python_api_nests_under_the_active_run_and_runs_asynchronously(tmp_path, project):
    script = tmp_path / "driver.py"
    script.write_text(
        f"""
import time
import labtrack as lt

with lt.start_run(run_name="parent") as parent:
    done = lt.projects.run({str(project)!r}, parameters={{"label": "x"}}, env_manager="local")
    assert done.wait() and done.get_status() == "FINISHED"
    bg = lt.projects.run({str(project)!r}, entry_point="sleep", synchronous=False)
    while bg.get_status() != "RUNNING":
        time.sleep(0.05)
    bg.cancel()
    assert bg.get_status() == "KILLED", bg.get_status()
    assert not bg.wait()
    try:
        lt.projects.run({str(project)!r}, entry_point="fail")
    except lt.projects.ExecutionException as exc:
        print("failed:", exc)
print("parent", parent.info.run_id)
"""
    )
    res = run_script(script, clean_env(tmp_path), project)
    assert res.returncode == 0, res.stderr
    assert "FAILED (exit code 3)" in res.stdout
    runs = {r.info.run_name: r for r in all_runs(tmp_path)}
    parent = runs.pop("parent")
    assert parent.info.status == "FINISHED"
    assert sorted(r.info.status for r in runs.values()) == ["FAILED", "FINISHED", "KILLED"]
    assert {r.data.tags["mlflow.parentRunId"] for r in runs.values()} == {parent.info.run_id}


def test_import_labtrack_stays_cheap_and_projects_load_on_first_use():
    code = (
        "import sys, labtrack as lt\n"
        "assert 'labtrack.projects' not in sys.modules\n"
        "assert callable(lt.projects.run)\n"
        "heavy = [m for m in ('pandas', 'numpy', 'sqlalchemy', 'yaml') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"


def test_path_and_uri_parameters_and_literal_braces(tmp_path):
    from labtrack.projects import load_project

    project = write_project(
        tmp_path / "p",
        {
            "MLproject": """
                entry_points:
                  main:
                    parameters:
                      data: {type: path, default: data}
                      out: uri
                    command: "echo {{literal}} {data} {out}"
            """,
            "data/x.csv": "a\n",
            "mine.csv": "b\n",
        },
    )
    entry = load_project(project).entry_point("main")
    declared, extra = entry.resolve_parameters({"out": "s3://bucket/key x"}, project.resolve())
    # A default path is the project's; a path the user gives is taken from where they are.
    assert declared == {"data": str(project.resolve() / "data"), "out": "s3://bucket/key x"}
    assert extra == {}
    command = entry.command_line(declared, extra)
    assert command == f"echo {{literal}} {project.resolve() / 'data'} 's3://bucket/key x'"
    given, _ = entry.resolve_parameters(
        {"data": "mine.csv", "out": "file:///tmp"}, project, cwd=project
    )
    assert given["data"] == str(project / "mine.csv")


def test_a_bare_repository_by_file_url_and_no_credentials_in_the_tags(tmp_path):
    repo = tmp_path / "repo"
    commit = _git_project(repo, "import labtrack as lt\nlt.log_param('ran', 'yes')\n")
    bare = tmp_path / "bare.git"
    _git(tmp_path, "clone", "-q", "--bare", str(repo), str(bare))
    # What `git clone https://<token>@host/...` leaves behind as the origin.
    _git(repo, "remote", "add", "origin", "https://ghp_s3cret@github.example/team/repo.git")

    from_bare = labtrack_run(tmp_path, f"file://{bare}#sub", "--version", "main")
    assert from_bare.returncode == 0, from_bare.stderr
    from_folder = labtrack_run(tmp_path, f"{repo}#sub")
    assert from_folder.returncode == 0, from_folder.stderr
    first, second = sorted(all_runs(tmp_path), key=lambda r: r.info.start_time)
    assert first.data.params == {"ran": "yes"}
    assert first.data.tags["mlflow.source.git.repoURL"] == f"file://{bare}"
    assert first.data.tags["mlflow.source.git.commit"] == commit
    assert first.data.tags["mlflow.source.git.branch"] == "main"
    assert second.data.tags["mlflow.source.git.repoURL"] == "https://github.example/team/repo.git"
    for run in (first, second):
        assert not [v for v in run.data.tags.values() if "s3cret" in v]


@pytest.mark.parametrize(
    ("url", "recorded"),
    [
        ("https://ghp_tok@github.com/o/r.git", "https://github.com/o/r.git"),
        ("git+https://u:pw@host.example/r.git#sub", "git+https://host.example/r.git#sub"),
        ("ssh://git:pw@host.example:22/r.git", "ssh://git@host.example:22/r.git"),
        ("git@github.com:o/r.git", "git@github.com:o/r.git"),
        ("file:///srv/r.git#a/b", "file:///srv/r.git#a/b"),
    ],
)
def test_git_urls_are_recorded_without_credentials(url, recorded):
    from labtrack.projects.sources import without_credentials

    assert without_credentials(url) == recorded


def test_experiment_id_picks_the_experiment_and_an_unknown_one_is_refused(tmp_path, project):
    exp_id = store_client(tmp_path).create_experiment("picked")
    res = labtrack_run(tmp_path, str(project), "-P", "label=x", "--experiment-id", exp_id)
    assert res.returncode == 0, res.stderr
    (run,) = all_runs(tmp_path)
    assert run.info.experiment_id == exp_id
    res = labtrack_run(tmp_path, str(project), "-P", "label=x", "--experiment-id", "424242")
    assert res.returncode == 2
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "424242" in res.stderr
    assert len(all_runs(tmp_path)) == 1


def test_docker_env_without_docker_or_its_daemon_is_a_clear_error(tmp_path, capsys, monkeypatch):
    """The real ``docker`` client when there is one (this machine has no daemon); a PATH
    without it for the other case."""
    from labtrack.cli import main

    monkeypatch.setenv("LABTRACK_TRACKING_URI", f"sqlite:///{tmp_path / 'store' / 'labtrack.db'}")
    mlproject = "docker_env: {image: python:3.11}\nentry_points: {main: {command: 'x'}}"
    project = write_project(tmp_path / "d", {"MLproject": mlproject})
    docker = shutil.which("docker")
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    assert main(["run", str(project)]) == 2
    assert "the 'docker' command is not installed" in capsys.readouterr().err
    if docker is None:
        pytest.skip("no docker client on this machine for the daemon case")
    monkeypatch.setenv("PATH", str(Path(docker).parent))
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'no-daemon.sock'}")
    assert main(["run", str(project)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "no Docker daemon is reachable" in err[0]
    assert not (tmp_path / "store" / "labtrack.db").exists()


def test_a_relative_sqlite_uri_names_the_same_store_inside_the_project(tmp_path, project):
    # The project runs in its own folder: sqlite:///rel.db there would be another file.
    env = clean_env(tmp_path, LABTRACK_TRACKING_URI="sqlite:///store/labtrack.db")
    res = labtrack_run(tmp_path, str(project), "-P", "label=rel", env=env)
    assert res.returncode == 0, res.stderr
    (run,) = all_runs(tmp_path)
    assert run.info.status == "FINISHED"
    assert run.data.metrics["alpha_seen"] == 0.5  # logged by the project itself
    assert not (project / "store").exists()
