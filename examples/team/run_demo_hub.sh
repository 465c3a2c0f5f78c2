#!/usr/bin/env bash
# A local demo of labtrack's team mode: JupyterHub + configurable-http-proxy + SeaweedFS +
# `labtrack service` on a fresh PostgreSQL database, all on 127.0.0.1. Prints the tracking URI
# and hub tokens; logging in at the hub starts the user's JupyterLab (a local process) with the
# team's dashboard. Ctrl-C (or SIGTERM, SIGHUP) stops everything it started and drops the
# database.
# Needs: pip install -e ".[test]"; npm install --prefix .ci-node configurable-http-proxy@5;
# PostgreSQL at 127.0.0.1:5432 (LABTRACK_TEST_PG to use another admin URL).
set -euo pipefail
cd "$(dirname "$0")/../.."
python=${PYTHON:-.venv/bin/python}
exec "$python" - <<'PY'
import signal, sys, tempfile, time
from pathlib import Path

# Stop cleanly however we are asked to: Ctrl-C (even when started in the background, where
# the shell made SIGINT ignored), SIGTERM from a process manager, SIGHUP when the terminal
# closes. Without this the hub, proxy, service, SeaweedFS and database outlived the script.
signal.signal(signal.SIGINT, signal.default_int_handler)


def _stop(signum, frame):
    raise KeyboardInterrupt


signal.signal(signal.SIGTERM, _stop)
signal.signal(signal.SIGHUP, _stop)

sys.path.insert(0, "tests")
from hub_fixtures import PASSWORD, _fresh_pg_database, run_hub  # noqa: E402
from seaweed_fixtures import run_seaweed  # noqa: E402

with tempfile.TemporaryDirectory(prefix="labtrack-demo-hub-") as tmp:
    database = _fresh_pg_database()
    store_uri = next(database)
    try:
        with run_seaweed(Path(tmp) / "seaweed") as weed, run_hub(
            Path(tmp) / "hub", store_uri, weed
        ) as hub:
            print(f"""
JupyterHub:      {hub.url}/hub/login   (any of alice, bob, carol, admin; password {PASSWORD!r})
                 alice and bob are the team; their JupyterLab shows the team's runs
tracking URI:    {hub.service_url}
alice's token:   {hub.tokens["alice"]}   (team member)
carol's token:   {hub.tokens["carol"]}   (no access)

  MLFLOW_TRACKING_URI={hub.service_url} MLFLOW_TRACKING_TOKEN={hub.tokens["alice"]} python train.py

Ctrl-C to stop.""", flush=True)
            try:
                while hub.proc.poll() is None:
                    time.sleep(1)
            except KeyboardInterrupt:
                print("stopping...", flush=True)
    except KeyboardInterrupt:
        print("stopped while starting", flush=True)
    finally:
        database.close()  # drops the database
PY
