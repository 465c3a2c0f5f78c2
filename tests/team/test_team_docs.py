"""The team deployment guide (``docs/team-deployment.md``) works as written (issue 15, item 6):
its ``jupyterhub_config.py`` blocks load into JupyterHub's own configuration classes with
scopes the hub knows, the zero-to-jupyterhub values say the same, the externally managed
service's exports start the service where they say, and the upgrade and backup commands run
against real PostgreSQL and a real S3-compatible store (SeaweedFS), restoring what was logged.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from labtrack.server.hub_service import service_argv
from seaweed_fixtures import Seaweed

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "team-deployment.md"
BIN = Path(sys.executable).parent


def _section(title: str) -> str:
    """The text of the ``##``/``###`` section whose heading contains ``title`` (a ``#`` line
    inside a fenced block is a comment, not a heading)."""
    lines: list[str] = []
    level = 0
    fenced = False
    for line in GUIDE.read_text().splitlines(keepends=True):
        if line.startswith("```"):
            fenced = not fenced
        heading = None if fenced else re.match(r"(#+) ", line)
        if heading and level and len(heading.group(1)) <= level:
            break
        if level:
            lines.append(line)
        elif heading and title in line:
            level = len(heading.group(1))
    assert level, f"the guide has no section {title!r}"
    return "".join(lines)


def _blocks(title: str, language: str) -> list[str]:
    blocks = re.findall(rf"```{language}\n(.*?)```", _section(title), re.S)
    assert blocks, f"no {language} block under {title!r}"
    return blocks


def _hub_config(tmp_path: Path) -> Any:
    """The guide's jupyterhub_config.py (service, roles, groups, spawner), loaded by
    traitlets as JupyterHub loads its config file."""
    from traitlets.config.loader import PyFileConfigLoader

    code = "\n".join(
        _blocks("`jupyterhub_config.py`", "python")
        + _blocks("Users' JupyterLab and kernels", "python")
    )
    (tmp_path / "jupyterhub_config.py").write_text("c = get_config()  # noqa\n" + code)
    return PyFileConfigLoader("jupyterhub_config.py", path=str(tmp_path)).load_config()


def test_the_documented_jupyterhub_config_loads(tmp_path: Path) -> None:
    from jupyterhub.app import JupyterHub
    from jupyterhub.roles import _validate_role_name
    from jupyterhub.scopes import _check_scopes_exist
    from jupyterhub.spawner import Spawner

    config = _hub_config(tmp_path)
    hub = JupyterHub(config=config)  # traits validate the types of every setting
    (service,) = hub.services
    assert service["name"] == "labtrack"
    assert service["command"] == ["labtrack", "service"]
    for role in hub.load_roles:
        _validate_role_name(role["name"])
        _check_scopes_exist(role["scopes"])  # the hub knows every scope named
    access = f"access:services!service={service['name']}"
    users = next(r for r in hub.load_roles if access in r["scopes"])
    assert set(users["groups"]) <= set(hub.load_groups)
    scopes = Spawner(config=config).server_token_scopes
    _check_scopes_exist(scopes)
    assert access in scopes
    # The service's own role: users' groups, and user and group names (least privilege: no
    # read:users, no admin scope), as the test hub grants it.
    (service_role,) = [r for r in hub.load_roles if r.get("services") == ["labtrack"]]
    assert sorted(service_role["scopes"]) == ["list:groups", "list:users", "read:users:groups"]

    # The hub's managed-service environment plus the documented one: the service's argv.
    env = {
        **service["environment"],
        "JUPYTERHUB_SERVICE_URL": service["url"],
        "JUPYTERHUB_SERVICE_PREFIX": "/services/labtrack/",
        "JUPYTERHUB_API_TOKEN": "t",
    }
    argv = service_argv(env)
    assert "--ServerApp.port=10101" in argv
    assert f"--LabtrackApp.store_uri={env['LABTRACK_STORE_URI']}" in argv
    assert f"--LabtrackApp.artifact_root={env['LABTRACK_ARTIFACT_ROOT']}" in argv
    from labtrack.entities.permissions import parse_permission

    parse_permission(env["LABTRACK_DEFAULT_PERMISSION"])  # a level the service accepts


def test_the_zero_to_jupyterhub_values_say_the_same(tmp_path: Path) -> None:
    config = _hub_config(tmp_path)
    (block,) = _blocks("zero-to-jupyterhub", "yaml")
    values = yaml.safe_load(block)
    hub = values["hub"]
    # z2jh turns hub.services / hub.loadRoles (keyed by name) into JupyterHub's lists.
    service = hub["services"]["labtrack"]
    assert service["apiToken"]
    assert service["url"].startswith("http")
    documented_roles = {r["name"]: r for r in config.JupyterHub.load_roles}
    for name, role in hub["loadRoles"].items():
        assert role["scopes"] == documented_roles[name]["scopes"]
    assert hub["config"]["JupyterHub"]["load_groups"] == config.JupyterHub.load_groups
    assert hub["config"]["Spawner"]["server_token_scopes"] == config.Spawner.server_token_scopes
    assert values["singleuser"]["extraEnv"]["LABTRACK_TRACKING_URI"].endswith("/services/labtrack")


def test_the_external_service_exports_start_it_where_they_say() -> None:
    (block,) = _blocks("Externally managed", "bash")
    env = {}
    for line in block.splitlines():
        if line.startswith("export "):
            name, _, value = shlex.split(line, comments=True)[1].partition("=")
            env[name] = value
    assert block.strip().splitlines()[-1] == "labtrack service"
    argv = service_argv(env)
    assert "--ServerApp.ip=0.0.0.0" in argv
    assert "--ServerApp.port=10101" in argv
    assert "--ServerApp.base_url=/services/labtrack/" in argv


# -- upgrade and backup, run as documented ----------------------------------------------------


def _commands(title: str) -> list[list[str]]:
    """The commands of a section's bash blocks (comments and blank lines dropped)."""
    out = []
    for block in _blocks(title, "bash"):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            if words:
                out.append(words)
    return out


def _substitute(words: list[str], mapping: dict[str, str]) -> list[str]:
    for old, new in mapping.items():
        words = [w.replace(old, new) for w in words]
    return words


@pytest.fixture
def databases() -> Iterator[tuple[str, str]]:
    from conftest import PG_ADMIN_URL, _pg_available

    problem = _pg_available()
    if problem:
        pytest.skip(problem)
    import psycopg

    source, restored = (f"labtrack_docs_{uuid.uuid4().hex[:10]}" for _ in range(2))
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{source}"')
    try:
        yield source, restored
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            for name in (source, restored):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
@pytest.mark.slow
def test_the_documented_upgrade_and_backup_commands_work(
    databases: tuple[str, str], seaweed: Seaweed, tmp_path: Path
) -> None:
    from conftest import PG_ADMIN_URL
    from labtrack.client.tracking_client import TrackingClient

    source, restored = databases
    server = PG_ADMIN_URL.rsplit("/", 1)[0]  # postgresql://postgres@127.0.0.1:5432
    host = server.split("@", 1)[1].split(":")[0]
    port = server.rsplit(":", 1)[1]
    bucket = seaweed.new_bucket("docs")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("LABTRACK_", "AWS_"))},
        **seaweed.env(),
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "PGPORT": port,
    }
    mapping = {
        "postgresql://labtrack:SECRET@db.internal/labtrack": f"{server}/{source}",
        "s3://team-artifacts/labtrack": f"s3://{bucket}/labtrack",
        "https://objects.internal": seaweed.endpoint,
        "--host=db.internal": f"--host={host}",
        "--username=labtrack": "--username=postgres",
    }

    def run(words: list[str]) -> str:
        proc = subprocess.run(
            words, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
        )
        assert proc.returncode == 0, (words, proc.stdout, proc.stderr[-3000:])
        return proc.stdout

    # Upgrading: the documented command brings an empty database to the newest revision.
    (upgrade,) = [w for w in _commands("Upgrading") if w[:3] == ["labtrack", "db", "upgrade"]]
    assert "Upgraded the database" in run(_substitute(upgrade, mapping))
    assert "already at the newest revision" in run(_substitute(upgrade, mapping))

    # Something to back up: a run with a metric and an artifact in the bucket.
    os.environ.update(seaweed.env())
    try:
        client = TrackingClient(f"{server}/{source}", artifact_root=f"s3://{bucket}/labtrack")
        run_id = client.create_run("0").info.run_id
        client.log_metric(run_id, "loss", 0.25)
        client.log_text(run_id, "backed up", "note.txt")
        client.flush()
    finally:
        for key in seaweed.env():
            os.environ.pop(key, None)

    commands = _commands("Backup")
    assert [w[0] for w in commands] == ["pg_dump", "aws", "createdb", "pg_restore", "aws"]
    for words in commands[:2]:
        run(_substitute(words, mapping))
    # Disaster: the bucket's objects are gone. Restore them, and the database into a new one.
    seaweed.filesystem().rm(f"{bucket}/labtrack", recursive=True)
    restore_mapping = {
        **mapping,
        "postgresql://labtrack:SECRET@db.internal/labtrack": f"{server}/{restored}",
    }
    for words in commands[2:]:
        if words[0] == "createdb":
            words = [*words[:-1], restored]
        run(_substitute(words, restore_mapping))

    os.environ.update(seaweed.env())
    try:
        again = TrackingClient(f"{server}/{restored}", artifact_root=f"s3://{bucket}/labtrack")
        got = again.get_run(run_id)
        assert got.data.metrics == {"loss": 0.25}
        local = again.download_artifacts(run_id, "note.txt", str(tmp_path / "out"))
        assert Path(local).read_text() == "backed up"
    finally:
        for key in seaweed.env():
            os.environ.pop(key, None)
