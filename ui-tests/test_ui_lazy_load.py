"""labtrack loads little at JupyterLab's start; its views and chart libraries on first use.

Issue #18: labtrack must not slow JupyterLab's own start. Time depends on the machine; what
does not is which of labtrack's files the page fetches. These tests read the built extension's
remoteEntry (which chunk files hold uPlot and vega) and watch the page's responses:

- at start (shell restored, launcher shown, plugins activated, then idle), labtrack fetched
  under START_BUDGET_KIB of JS, none of it the dashboard, uPlot or vega;
- opening the dashboard fetches the dashboard's chunk and uPlot, and still no vega;
- a saved Vega-Lite v6 output then fetches vega and draws.

`benchmarks/bench_lab_start.py` measures the start time itself.
Run from the repository root:  .venv/bin/python -m pytest ui-tests/test_ui_lazy_load.py
"""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, Response, expect

if TYPE_CHECKING:
    from conftest import LabServer

PREFIX = "/lab/extensions/labtrack/static/"
# Measured (session 8): 103 KiB at start with the dashboard loaded lazily (remoteEntry 15,
# the plugins' chunk 44, the style chunk 44); 267 KiB when index.ts imported the dashboard.
START_BUDGET_KIB = 150
NOTEBOOK = "lazy-vegalite.ipynb"
VEGALITE_SPEC = {
    "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
    "data": {"values": [{"x": i, "y": i * i} for i in range(5)]},
    "mark": "line",
    "encoding": {
        "x": {"field": "x", "type": "quantitative"},
        "y": {"field": "y", "type": "quantitative"},
    },
}


def _remote_entry(server: LabServer) -> str:
    """The text of labtrack's remoteEntry, found through the lab page's config."""
    request = urllib.request.Request(server.lab_url("reset"))  # noqa: S310 - local server
    with urllib.request.urlopen(request) as response:  # noqa: S310
        html = response.read().decode()
    config = re.search(
        r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', html, re.S
    )
    assert config, "no page config in the lab page"
    extensions = json.loads(config.group(1))["federated_extensions"]
    load = next(e["load"] for e in extensions if e["name"] == "labtrack")
    url = f"{server.url}lab/extensions/labtrack/{load}"
    with urllib.request.urlopen(url) as response:  # noqa: S310
        return str(response.read().decode())


def _chunk_stems(remote_entry: str) -> dict[str, set[str]]:
    """The chunk files (name before the hash) each shared package's factory loads."""
    assert "webpack/container/entry/labtrack" not in remote_entry, (
        "the installed bundle is a development build: this test measures the minified bundle "
        "users get (jlpm build:prod, then jupyter labextension develop . --overwrite)"
    )
    names = dict(
        re.findall(r'(\d+):"([\w-]+)"', _first(r"\(\(\{([^}]*)\}\)\[e\]\|\|e\)", remote_entry))
    )
    # Chunks with a file have a content hash; the others only wire shared modules.
    files = dict(
        re.findall(r'(\d+):"([0-9a-f]+)"', _first(r'\+"\."\+\(\{([^}]*)\}\)\[e\]', remote_entry))
    )
    assert files, "no chunk file map found in the remoteEntry"
    packages: dict[str, set[str]] = {}
    for package, factory in re.findall(
        r'\{name:"([^"]+)",version:"[^"]*",factory:\(\)=>(.*?)\.then\(', remote_entry
    ):
        chunk_ids = re.findall(r"\.e\((\d+)\)", factory)
        packages[package] = {names.get(i, i) for i in chunk_ids if i in files}
    return packages


def _first(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    return match.group(1) if match else ""


def _stem(url: str) -> str:
    return url.split(PREFIX, 1)[1].split("?")[0].split(".")[0]


class LabtrackFiles:
    """labtrack's JS files the page fetched, with their sizes."""

    def __init__(self, page: Page) -> None:
        self.sizes: dict[str, int] = {}
        self._pending: list[Response] = []
        page.on("response", self._on_response)

    def _on_response(self, response: Response) -> None:
        if PREFIX in response.url and response.url.split("?")[0].endswith(".js"):
            self._pending.append(response)

    def stems(self) -> set[str]:
        for response in self._pending:
            self.sizes[_stem(response.url)] = len(response.body())
        self._pending.clear()
        return set(self.sizes)


@pytest.fixture
def vegalite_notebook(lab_server: LabServer) -> str:
    """A notebook whose saved output is a Vega-Lite v6 chart (no kernel needed)."""
    output = {
        "output_type": "display_data",
        "metadata": {},
        "data": {"application/vnd.vegalite.v6+json": VEGALITE_SPEC, "text/plain": "<chart>"},
    }
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {},
                "source": "chart",
                "outputs": [output],
                "execution_count": 1,
            }
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    lab_server.api(
        f"api/contents/{NOTEBOOK}",
        "PUT",
        {"type": "notebook", "format": "json", "content": notebook},
    )
    return NOTEBOOK


def test_start_loads_no_dashboard_or_chart_code_until_used(
    page: Page, lab_server: LabServer, vegalite_notebook: str, results_dir: Path
) -> None:
    chunks = _chunk_stems(_remote_entry(lab_server))
    vega = (
        chunks.get("vega", set()) | chunks.get("vega-lite", set()) | chunks.get("vega-embed", set())
    )
    uplot = chunks.get("uplot", set())
    assert vega, f"no vega chunks found in the remoteEntry: {chunks}"
    assert uplot, f"no uPlot chunk found in the remoteEntry: {chunks}"
    files = LabtrackFiles(page)

    page.goto(lab_server.lab_url("reset"))
    expect(page.locator(".jp-Launcher")).to_be_visible(timeout=60_000)
    expect(page.locator(".jp-LauncherCard", has_text="labtrack")).to_be_visible()
    page.locator("#labtrack-sidebar").wait_for(state="attached")
    page.wait_for_timeout(1_500)  # activation done; anything fetched right after start counts
    at_start = files.stems()
    start_kib = sum(files.sizes.values()) / 1024
    assert at_start, "labtrack fetched nothing: is the extension enabled?"
    assert not at_start & vega, f"vega loaded at start: {sorted(at_start & vega)}"
    assert not at_start & uplot, f"uPlot loaded at start: {sorted(at_start & uplot)}"
    assert "lt-dashboard" not in at_start
    assert start_kib < START_BUDGET_KIB, (
        f"{start_kib:.0f} KiB of labtrack JS at start: {files.sizes}"
    )

    page.locator(".jp-LauncherCard", has_text="labtrack").first.click()
    expect(page.locator(".lt-Dashboard")).to_be_visible()
    expect(page.locator(".lt-experiment-item").first).to_be_visible()
    after_open = files.stems()
    assert "lt-dashboard" in after_open
    assert uplot <= after_open, "the dashboard's charts (uPlot) did not load with it"
    assert not after_open & vega, "the dashboard does not draw with vega: it must not load it"

    page.goto(f"{lab_server.url}lab/tree/{vegalite_notebook}?token={lab_server.token}")
    chart = page.locator(".lt-VegaLite6").locator("canvas, svg").first
    expect(chart).to_be_visible(timeout=60_000)
    assert vega <= files.stems(), "the Vega-Lite output rendered without labtrack's vega chunks?"
    page.screenshot(path=str(results_dir / "lazy-load-vegalite.png"))
