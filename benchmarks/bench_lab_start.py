"""JupyterLab's start with and without labtrack's lab extension, in headless Chromium.

    .venv/bin/python benchmarks/bench_lab_start.py [--rounds 10] [--extension-dir DIR]
        [--without absent|disabled] [--warm] [--json FILE]

Issue #18: labtrack must not slow JupyterLab's own start by more than 100 ms. Two real
`jupyter lab` servers run side by side on one fresh labtrack store, each with its own
isolated Jupyter config, runtime, settings and workspaces directories (nothing of the
user's or other checkouts' setup is changed):

- **with**: every installed lab extension, labtrack's being `--extension-dir` (default: the
  installed one), so a before/after of a change is two runs of this script;
- **without**: the same extensions minus labtrack (`absent`: labtrack is left off the
  labextensions path, as if not installed), or labtrack listed but disabled in that server's
  own `labconfig/page_config.json` (`disabled`: what `jupyter labextension disable labtrack`
  writes; JupyterLab then still downloads labtrack's remoteEntry and entry chunk, it only
  skips activating the plugins).

Each round opens `/lab?reset` once on each server, alternating which goes first, in a new
browser context (empty HTTP cache unless `--warm`, which loads each page once first and then
reuses one context per server). The clock is the page's own: `performance.now()` (0 = the
navigation's start) when `app.restored` resolves (the shell laid out, plugins activated;
`expose_app_in_browser` lets the page see the app) and when the launcher's first card is in
the DOM; and the renderer main thread's CPU time by then (Chrome's `TaskDuration` and
`ScriptDuration`, thread time: less moved by other processes than the wall clock). Also
printed: the JS bytes the page fetched from `/lab/extensions/labtrack/` by then
(plus half a second of idle), and which files.

Prints median and p90 of each side, and the difference of the medians; figures on a shared
machine move with its load (printed), so compare sides of one run, not runs.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# This folder is the script's own: its first sys.path entry.
from bench_ui import ARGS, CHROMIUM, free_port, store_env, wait_for

LABTRACK_PREFIX = "/lab/extensions/labtrack/"

# Runs before any page script: notes when the app is exposed and restored, and when the
# launcher's first card appears (checked every 5 ms; the same for both sides).
TIMING_INIT_SCRIPT = """
(() => {
  const marks = (window.__ltStart = {});
  let app;
  Object.defineProperty(window, 'jupyterapp', {
    configurable: true,
    get() { return app; },
    set(value) {
      app = value;
      marks.exposed = performance.now();
      value.restored.then(() => { marks.restored = performance.now(); });
    }
  });
  const poll = () => {
    if (document.querySelector('.jp-LauncherCard')) {
      marks.launcher = performance.now();
    } else {
      setTimeout(poll, 5);
    }
  };
  poll();
})();
"""


@dataclass
class Side:
    name: str
    url: str
    restored_ms: list[float] = field(default_factory=list)
    launcher_ms: list[float] = field(default_factory=list)
    task_ms: list[float] = field(default_factory=list)
    script_ms: list[float] = field(default_factory=list)
    labtrack_bytes: list[int] = field(default_factory=list)
    labtrack_files: set[str] = field(default_factory=set)


def installed_labextensions() -> dict[str, Path]:
    """Top-level entries of every labextensions dir (first one wins, as in JupyterLab)."""
    from jupyter_core.paths import jupyter_path

    entries: dict[str, Path] = {}
    for directory in map(Path, jupyter_path("labextensions")):
        if directory.is_dir():
            for entry in sorted(directory.iterdir()):
                entries.setdefault(entry.name, entry)
    return entries


def labextensions_dir(root: Path, labtrack: Path | None) -> Path:
    """A labextensions dir of symlinks: the installed ones, labtrack as given (or none)."""
    target = root / ("exts-with" if labtrack else "exts-without")
    target.mkdir()
    for name, entry in installed_labextensions().items():
        if name != "labtrack":
            (target / name).symlink_to(entry.resolve())
    if labtrack:
        (target / "labtrack").symlink_to(labtrack.resolve())
    return target


def start_server(
    root: Path, name: str, exts: Path, env: dict[str, str], disabled: bool
) -> tuple[subprocess.Popen[bytes], str, Any]:
    home = root / name
    (home / "config" / "labconfig").mkdir(parents=True)
    if disabled:
        # What `jupyter labextension disable labtrack` writes, in this server's config only.
        (home / "config" / "labconfig" / "page_config.json").write_text(
            json.dumps({"disabledExtensions": {"labtrack": True}})
        )
    (home / "notebooks").mkdir()
    port, token = free_port(), secrets.token_hex(16)
    log = (root / f"{name}.log").open("w")
    server_env = {
        **env,
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
    }
    server = subprocess.Popen(
        [
            sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
            f"--port={port}", "--ip=127.0.0.1", f"--ServerApp.root_dir={home / 'notebooks'}",
            f"--IdentityProvider.token={token}", "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.expose_app_in_browser=True",
            f"--LabApp.labextensions_path={exts}",
        ],
        env=server_env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}/"
    wait_for(base + "api/status", token)
    return server, f"{base}lab?reset&token={token}", log


def load_once(context: Any, side: Side, record: bool) -> None:
    page = context.new_page()
    page.set_default_timeout(120_000)
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable", {"timeDomain": "threadTicks"})
    responses: list[Any] = []
    page.on("response", lambda response: responses.append(response))
    page.goto(side.url, wait_until="commit")
    page.wait_for_function(
        "() => window.__ltStart.restored !== undefined && window.__ltStart.launcher !== undefined",
        polling=50,
    )
    marks = page.evaluate("() => window.__ltStart")
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    page.wait_for_timeout(500)  # anything a plugin fetches right after the restore
    labtrack = [
        r for r in responses if LABTRACK_PREFIX in r.url and r.url.split("?")[0].endswith(".js")
    ]
    if record:
        side.restored_ms.append(float(marks["restored"]))
        side.launcher_ms.append(float(marks["launcher"]))
        side.task_ms.append(metrics["TaskDuration"] * 1000)
        side.script_ms.append(metrics["ScriptDuration"] * 1000)
        side.labtrack_bytes.append(sum(len(r.body()) for r in labtrack))
        side.labtrack_files.update(r.url.split(LABTRACK_PREFIX)[1].split("?")[0] for r in labtrack)
    page.close()


def measure(sides: list[Side], rounds: int, warm: bool) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        contexts: dict[str, Any] = {}
        for side in sides:  # warm-up: the server's first answers, the OS file cache
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            context.add_init_script(TIMING_INIT_SCRIPT)
            load_once(context, side, record=False)
            if warm:
                contexts[side.name] = context
            else:
                context.close()
        for i in range(rounds):
            for side in sides if i % 2 == 0 else list(reversed(sides)):
                context = contexts.get(side.name)
                fresh = context is None
                if context is None:
                    context = browser.new_context(viewport={"width": 1400, "height": 900})
                    context.add_init_script(TIMING_INIT_SCRIPT)
                load_once(context, side, record=True)
                if fresh:
                    context.close()
            print(
                f"round {i + 1}/{rounds}: "
                + ", ".join(f"{s.name} {s.restored_ms[-1]:.0f} ms" for s in sides),
                flush=True,
            )
        browser.close()


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10, method="inclusive")[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument(
        "--extension-dir",
        type=Path,
        help="labtrack's built lab extension (the folder with package.json and static/)",
    )
    parser.add_argument("--without", choices=["absent", "disabled"], default="absent")
    parser.add_argument("--warm", action="store_true", help="reuse the HTTP cache per side")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    labtrack_dir = args.extension_dir or installed_labextensions().get("labtrack")
    if labtrack_dir is None or not (labtrack_dir / "package.json").exists():
        sys.exit("no built labtrack lab extension found (build it, or pass --extension-dir)")
    root = Path(tempfile.mkdtemp(prefix="labtrack-bench-start-"))
    env = store_env(root, f"sqlite:///{root / 'labtrack.db'}")
    with_exts = labextensions_dir(root, labtrack_dir)
    without_exts = with_exts if args.without == "disabled" else labextensions_dir(root, None)
    load_start = os.getloadavg()[0]
    servers = []
    try:
        server, url, log = start_server(root, "with", with_exts, env, disabled=False)
        servers.append((server, log))
        with_side = Side("with labtrack", url)
        server, url, log = start_server(
            root, "without", without_exts, env, disabled=args.without == "disabled"
        )
        servers.append((server, log))
        without_side = Side(f"without ({args.without})", url)
        measure([without_side, with_side], args.rounds, args.warm)
    finally:
        for server, log in servers:
            server.terminate()
            server.wait(timeout=30)
            log.close()
        shutil.rmtree(root, ignore_errors=True)
    load_end = os.getloadavg()[0]

    cache = "warm HTTP cache" if args.warm else "empty HTTP cache per load"
    print(f"\nlabtrack extension: {labtrack_dir}")
    print(
        f"{args.rounds} alternating rounds, {cache}; "
        f"load average {load_start:.1f} -> {load_end:.1f}"
    )
    for side in (without_side, with_side):
        print(
            f"{side.name:>20}: restored median {statistics.median(side.restored_ms):.0f} ms, "
            f"p90 {p90(side.restored_ms):.0f} ms; launcher median "
            f"{statistics.median(side.launcher_ms):.0f} ms; main-thread CPU median "
            f"{statistics.median(side.task_ms):.0f} ms "
            f"(script {statistics.median(side.script_ms):.0f} ms); "
            "labtrack JS at start "
            f"{statistics.median(side.labtrack_bytes) / 1024:.1f} KiB"
        )
    diff = statistics.median(with_side.restored_ms) - statistics.median(without_side.restored_ms)
    diff_p90 = p90(with_side.restored_ms) - p90(without_side.restored_ms)
    print(
        f"difference (with - without): median {diff:+.0f} ms, "
        f"p90 {diff_p90:+.0f} ms (goal <= 100 ms)"
    )
    cpu = statistics.median(with_side.task_ms) - statistics.median(without_side.task_ms)
    script = statistics.median(with_side.script_ms) - statistics.median(without_side.script_ms)
    print(f"main-thread CPU difference: median {cpu:+.0f} ms (script {script:+.0f} ms)")
    print(f"labtrack files at start: {', '.join(sorted(with_side.labtrack_files)) or 'none'}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "extension_dir": str(labtrack_dir),
                    "load": [load_start, load_end],
                    "warm": args.warm,
                    "sides": {
                        s.name: {
                            "restored_ms": s.restored_ms,
                            "launcher_ms": s.launcher_ms,
                            "task_ms": s.task_ms,
                            "script_ms": s.script_ms,
                            "labtrack_bytes": s.labtrack_bytes,
                            "labtrack_files": sorted(s.labtrack_files),
                        }
                        for s in (without_side, with_side)
                    },
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
