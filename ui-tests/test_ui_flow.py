"""The labtrack UI end to end: launcher -> dashboard -> filter -> compare ->
run detail -> artifact previews -> registry, plus live updates, the sidebar
and XSS payloads. Screenshots land in ui-tests/test-results/.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from playwright.sync_api import Page, expect
from test_ui_dashboard import experiment_item, open_dashboard, open_lab, open_more

if TYPE_CHECKING:
    from conftest import LabServer

HERE = Path(__file__).resolve().parent


def test_dashboard_compare_detail_artifacts_registry(
    page: Page, lab_server: LabServer, results_dir: Path
) -> None:
    dashboard = open_dashboard(page, lab_server)
    experiment_item(page, "ui-demo").click()
    rows = dashboard.locator(".lt-run-row")
    expect(rows).to_have_count(2)
    expect(dashboard.locator('.lt-run-row[data-run-name="r1"] td[data-param="lr"]')).to_have_text(
        "0.1"
    )

    # Filter (server side, MLflow's search language); a bad one is explained inline.
    filter_input = dashboard.locator(".lt-FilterInput")
    filter_input.fill("metrics.loss <<< 1")
    filter_input.press("Enter")
    expect(dashboard.locator(".lt-FilterError")).not_to_be_empty()
    expect(filter_input).to_have_attribute("aria-invalid", "true")
    filter_input.fill("params.optimizer = 'adam'")
    filter_input.press("Enter")
    expect(dashboard.locator(".lt-FilterError")).to_be_empty()
    expect(rows).to_have_count(2)

    # Group by a param, then sort by a metric.
    open_more(dashboard).locator(".lt-GroupBy").select_option("params.lr")
    expect(dashboard.locator(".lt-GroupRow")).to_have_count(2)
    dashboard.locator(".lt-GroupBy").select_option("")
    dashboard.get_by_role("button", name="More").click()  # closed
    dashboard.locator('.lt-SortButton[data-column="metrics.loss"]').click()
    expect(rows.locator(".lt-RunNameText")).to_have_text(["r1", "r2"])
    page.screenshot(path=str(results_dir / "10-runs-table.png"))

    # Select two runs and compare.
    for name in ("r1", "r2"):
        dashboard.locator(f'.lt-run-row[data-run-name="{name}"] .lt-RunSelect').check()
    compare_button = dashboard.locator(".lt-CompareButton")
    expect(compare_button).to_have_text("Compare (2)")
    compare_button.click()
    chart = dashboard.locator(".lt-CompareView .lt-CurveChart")
    expect(chart).to_have_attribute("data-series-count", "2")
    expect(chart.locator("canvas")).to_have_count(1)
    expect(chart.locator(".u-legend .u-series")).to_have_count(3)  # x + 2 runs
    expect(dashboard.locator(".lt-ParCoords polyline")).to_have_count(2)
    expect(dashboard.locator(".lt-Scatter circle")).to_have_count(2)
    differs = dashboard.locator('.lt-SideBySide tr[data-differs="true"] th')
    expect(differs.filter(has_text="lr")).to_have_count(1)
    # Hover names the run and its params.
    box = chart.locator(".u-over").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.02, box["y"] + box["height"] * 0.5)
    page.mouse.move(box["x"] + box["width"] * 0.03, box["y"] + box["height"] * 0.5)
    page.screenshot(path=str(results_dir / "11-compare.png"))
    # Log scale and smoothing redraw the same series.
    dashboard.locator(".lt-LogScale").check()
    expect(chart).to_have_attribute("data-series-count", "2")
    # Zoom: drag over the chart -> the view fetches full resolution for the range.
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + 20)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + 40, steps=5)
    page.mouse.up()
    expect(chart).to_have_attribute("data-zoomed", "true")

    # Run detail from the compare chips.
    dashboard.locator(".lt-RunChip[data-run-id] .lt-LinkButton", has_text="r1").click()
    detail = dashboard.locator(".lt-RunDetail")
    expect(detail.locator(".lt-RunTitle")).to_have_text("r1")
    expect(detail.locator(".lt-NoteBody h1")).to_contain_text("Baseline")
    expect(detail.locator('td[data-param="optimizer"]')).to_have_text("adam")
    expect(detail.locator('td[data-tag="team"]')).to_have_text("vision")
    expect(detail.locator('.lt-ChartCard[data-metric="loss"] canvas')).to_have_count(1)

    # Artifact previews: image, CSV as a table, HTML in a sandbox, JSON.
    artifacts = detail.locator(".lt-Artifacts")
    artifacts.locator('.lt-ArtifactItem[data-path="curve.png"]').click()
    image = artifacts.locator(".lt-PreviewImage")
    expect(image).to_be_visible()
    page.wait_for_function("() => document.querySelector('.lt-PreviewImage')?.naturalWidth === 96")
    expect(artifacts.locator("a.lt-Download")).to_have_attribute("download", "curve.png")
    page.screenshot(path=str(results_dir / "12-run-detail-image.png"))
    artifacts.locator('.lt-ArtifactItem[data-path="metrics.csv"]').click()
    csv = artifacts.locator(".lt-CsvTable")
    expect(csv.locator("thead th")).to_have_text(["epoch", "loss", "accuracy"])
    expect(csv.locator("tbody tr")).to_have_count(2)
    artifacts.locator('.lt-ArtifactItem[data-path="report.html"]').click()
    frame = artifacts.locator("iframe.lt-PreviewFrame")
    expect(frame).to_have_attribute("sandbox", "allow-scripts")
    inner = page.frame_locator("iframe.lt-PreviewFrame")
    expect(inner.locator("#p")).to_have_text("script ran sandboxed")
    assert page.evaluate("() => window.__xss") is None  # the frame could not reach us
    page.screenshot(path=str(results_dir / "13-run-detail-html.png"))
    artifacts.locator('.lt-ArtifactItem[data-path="config.json"]').click()
    expect(artifacts.locator('.lt-PreviewBody[data-kind="json"]')).to_contain_text('"dropout": 0.1')

    # Notes are editable (runs/set-tag) and rendered as markdown.
    detail.locator(".lt-EditNote").click()
    detail.locator(".lt-NoteEditor").fill("## Edited\n\nnew *note*")
    detail.locator(".lt-SaveNote").click()
    expect(detail.locator(".lt-NoteBody h2")).to_contain_text("Edited")

    # Register a model from the run's model folder (it holds an MLmodel file).
    artifacts.locator('.lt-ArtifactItem[data-path="model"]').click()
    artifacts.locator(".lt-RegisterModel").click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator("input").fill("ui-registered")
    dialog.locator(".jp-mod-accept").click()
    expect(artifacts.locator(".lt-Success")).to_have_text("Registered ui-registered version 1.")

    # The registry view: models, versions with aliases, lineage, serve command.
    dashboard.locator('.lt-ViewTab[data-view="models"]').click()
    registry = dashboard.locator(".lt-RegistryView")
    expect(registry.locator('.lt-ModelItem[data-model-name="ui-registered"]')).to_be_visible()
    registry.locator('.lt-ModelItem[data-model-name="ui-model"]').click()
    expect(registry.locator(".lt-ModelTitle")).to_have_text("ui-model")
    expect(registry.locator(".lt-AliasName")).to_have_text(["@champion"])
    expect(registry.locator(".lt-ServeCommand")).to_have_text(
        "labtrack models serve -m models:/ui-model@champion --port 5001"
    )
    expect(registry.locator(".lt-ModelDescription em")).to_have_text("demo")
    page.screenshot(path=str(results_dir / "14-registry.png"))
    registry.locator(".lt-EditDescription").click()
    registry.locator(".lt-DescriptionEditor").fill("Production **model**")
    registry.locator(".lt-SaveDescription").click()
    expect(registry.locator(".lt-ModelDescription strong")).to_have_text("model")
    # Lineage: the version links back to its run.
    registry.locator(".lt-LineageLink").first.click()
    expect(detail.locator(".lt-RunTitle")).to_have_text("r1")


def test_live_update_of_a_running_run(
    page: Page, lab_server: LabServer, labtrack_env: dict[str, str], results_dir: Path
) -> None:
    logger = subprocess.Popen(
        [sys.executable, str(HERE / "live_logger.py"), "60"],
        env={**os.environ, **labtrack_env},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert logger.stdout is not None
        run_id = logger.stdout.readline().strip()
        assert run_id
        dashboard = open_dashboard(page, lab_server)
        experiment_item(page, "ui-x-live").click()
        row = dashboard.locator(f'.lt-run-row[data-run-id="{run_id}"]')
        # Opening the experiment is not what is tested: under load it took over 5 s once.
        expect(row.locator(".lt-StatusBadge")).to_have_text("RUNNING", timeout=15000)
        row.locator(".lt-RunNameText").click()
        detail = dashboard.locator(".lt-RunDetail")
        latest = detail.locator('td[data-metric-latest="live_loss"]')
        expect(latest).to_be_visible()
        first = latest.inner_text()
        # New points arrive through the change feed, no reload: within 2 s of logging.
        expect(latest).not_to_have_text(first, timeout=4000)
        second = latest.inner_text()
        expect(latest).not_to_have_text(second, timeout=4000)
        expect(detail.locator('.lt-ChartCard[data-metric="live_loss"] canvas')).to_have_count(1)
        page.screenshot(path=str(results_dir / "15-live-run.png"))
        logger.terminate()
        logger.wait(timeout=20)
    finally:
        if logger.poll() is None:
            logger.kill()
            logger.wait()
        if logger.stdout is not None:
            logger.stdout.close()


def test_sidebar_lists_experiments_and_picks_runs(
    page: Page, lab_server: LabServer, results_dir: Path
) -> None:
    open_lab(page, lab_server)
    page.locator('.jp-SideBar [data-id="labtrack-sidebar"]').click()
    sidebar = page.locator("#labtrack-sidebar")
    expect(sidebar).to_be_visible()
    demo = sidebar.locator('.lt-SidebarExperiment[data-experiment-name="ui-demo"]')
    expect(demo.locator(".lt-RunCount")).to_have_text("2")
    demo.click()
    expect(page.locator(".lt-Dashboard")).to_be_visible()
    runs = sidebar.locator(".lt-SidebarMatches .lt-SidebarRun")
    expect(runs).to_have_count(2)
    # The search language, errors inline.
    box = sidebar.locator(".lt-FilterInput")
    box.fill("params.lr = ")
    box.press("Enter")
    expect(sidebar.locator(".lt-FilterError")).not_to_be_empty()
    box.fill("")
    box.press("Enter")
    expect(sidebar.locator(".lt-FilterError")).to_be_empty()
    # Clearing the filter reloads the list: wait for the runs, as a person would.
    expect(runs).to_have_count(2)
    for index in range(2):
        runs.nth(index).locator(".lt-RunSelect").check()
    expect(sidebar.locator(".lt-SidebarCompare")).to_have_text("Compare (2)")
    sidebar.locator(".lt-SidebarCompare").click()
    chart = page.locator(".lt-CompareView .lt-CurveChart")
    expect(chart).to_have_attribute("data-series-count", "2")
    page.screenshot(path=str(results_dir / "16-sidebar-compare.png"))


def test_run_counts_are_exact_beyond_one_page(
    page: Page, lab_server: LabServer, results_dir: Path
) -> None:
    """An experiment with more runs than a list holds shows its true count, in the sidebar
    and above the runs table; a small experiment next to it is counted right too."""
    settings = "lab/api/settings/labtrack:model"
    saved = lab_server.api(settings)
    assert isinstance(saved, dict)
    # The dashboard lists at most 1,000 runs here (10,000 by default).
    lab_server.api(settings, "PUT", {"raw": json.dumps({"maxRuns": 1000})})
    try:
        open_lab(page, lab_server)
        page.locator('.jp-SideBar [data-id="labtrack-sidebar"]').click()
        sidebar = page.locator("#labtrack-sidebar")
        paging = sidebar.locator('.lt-SidebarExperiment[data-experiment-name="ui-paging"]')
        expect(paging.locator(".lt-RunCount")).to_have_text("1,005")
        demo = sidebar.locator('.lt-SidebarExperiment[data-experiment-name="ui-demo"]')
        expect(demo.locator(".lt-RunCount")).to_have_text("2")
        paging.click()
        dashboard = page.locator(".lt-Dashboard")
        expect(dashboard.locator(".lt-RunsCount")).to_have_text("1,000 of 1,005 runs")
        heading = sidebar.locator("h3", has_text="Runs of ui-paging")
        expect(heading).to_have_text("Runs of ui-paging (1,005)")
        expect(dashboard.locator(".lt-run-row").first).to_be_visible()
        page.screenshot(path=str(results_dir / "17-run-counts.png"))
        # A filter narrows the total as it narrows the list.
        box = dashboard.locator(".lt-FilterInput")
        box.fill("attributes.run_name LIKE 'p99%'")
        box.press("Enter")
        expect(dashboard.locator(".lt-RunsCount")).to_have_text("11 runs")
    finally:
        lab_server.api(settings, "PUT", {"raw": saved.get("raw") or "{}"})


def test_registry_aliases_and_stages_are_edited_in_place(
    page: Page, lab_server: LabServer, results_dir: Path
) -> None:
    """A person adds and removes an alias and moves a version through stages from the
    versions table; the server has each change, and a refused alias is explained."""
    mlflow = "labtrack/api/2.0/mlflow"

    def server_model() -> dict:
        got = lab_server.api(f"{mlflow}/registered-models/get?name=ui-model")
        assert isinstance(got, dict)
        return got["registered_model"]

    def server_stage() -> str:
        got = lab_server.api(f"{mlflow}/model-versions/get?name=ui-model&version=1")
        assert isinstance(got, dict)
        return got["model_version"]["current_stage"]

    dashboard = open_dashboard(page, lab_server)
    dashboard.locator('.lt-ViewTab[data-view="models"]').click()
    registry = dashboard.locator(".lt-RegistryView")
    registry.locator('.lt-ModelItem[data-model-name="ui-model"]').click()
    row = registry.locator('.lt-VersionRow[data-version="1"]')
    expect(row.locator(".lt-AliasName")).to_have_text(["@champion"])
    dialog = page.locator(".jp-Dialog")
    try:
        row.get_by_role("button", name="Add an alias to version 1").click()
        dialog.locator("input").fill("candidate")
        dialog.locator(".jp-mod-accept").click()
        expect(row.locator(".lt-AliasName")).to_have_text(["@candidate", "@champion"])
        assert {a["alias"] for a in server_model()["aliases"]} == {"candidate", "champion"}
        expect(registry.locator(".lt-ServeCommand")).to_have_count(2)

        row.get_by_label("Stage of version 1").select_option("Staging")
        expect(row.get_by_label("Stage of version 1")).to_have_value("Staging")
        # The select shows the choice at once; the request that stores it is on its way.
        deadline = time.monotonic() + 10
        while server_stage() != "Staging" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert server_stage() == "Staging"
        page.screenshot(path=str(results_dir / "18-registry-editing.png"))

        # MLflow reserves "latest": the refusal is shown, nothing changes.
        row.get_by_role("button", name="Add an alias to version 1").click()
        dialog.locator("input").fill("latest")
        dialog.locator(".jp-mod-accept").click()
        expect(dialog).to_contain_text("Could not set the alias")
        expect(dialog).to_contain_text("Alias 'latest' is reserved")
        dialog.get_by_role("button", name="Close").click()
        expect(row.locator(".lt-AliasName")).to_have_text(["@candidate", "@champion"])

        row.get_by_role("button", name="Remove alias @candidate").click()
        expect(row.locator(".lt-AliasName")).to_have_text(["@champion"])
        assert [a["alias"] for a in server_model()["aliases"]] == ["champion"]
    finally:
        # Leave the shared store as the other tests expect it.
        if "candidate" in {a["alias"] for a in server_model().get("aliases", [])}:
            body = {"name": "ui-model", "alias": "candidate"}
            lab_server.api(f"{mlflow}/registered-models/alias", "DELETE", body)
        lab_server.api(
            f"{mlflow}/model-versions/transition-stage",
            "POST",
            {"name": "ui-model", "version": "1", "stage": "None"},
        )


def test_xss_payloads_render_as_text(page: Page, lab_server: LabServer, results_dir: Path) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    dashboard = open_dashboard(page, lab_server)
    experiment_item(page, "ui-xss").click()
    name = dashboard.locator(".lt-run-row .lt-RunNameText")
    expect(name).to_have_text('<img src=x onerror="window.__xss=1;alert(1)">')
    expect(dashboard.locator('td[data-param="payload"]')).to_have_text(
        "<script>window.__xss=2;alert(2)</script>"
    )
    name.click()
    detail = dashboard.locator(".lt-RunDetail")
    expect(detail.locator(".lt-RunTitle")).to_contain_text("<img")
    expect(detail.locator('td[data-tag="t"]')).to_contain_text("onerror")
    expect(detail.locator(".lt-NoteBody")).to_contain_text("note")
    item = detail.locator(".lt-ArtifactItem.lt-mod-file")
    expect(item.locator(".lt-ArtifactName")).to_have_text("a<img src=x onerror=alert(4)>.txt")
    item.click()
    expect(detail.locator('.lt-PreviewBody[data-kind="text"]')).to_contain_text("<img")
    # Names, params, tags and artifact names are text: no element came from them.
    assert dashboard.locator(".lt-RunTitle img, .lt-KVTable img, .lt-ArtifactList img").count() == 0
    # Notes are markdown, sanitized: markup may stay, handlers and scripts do not.
    assert dashboard.locator("[onerror]").count() == 0
    assert dashboard.locator(".lt-NoteBody script, .lt-RunDetail script").count() == 0
    assert dashboard.locator('.lt-NoteBody a[href^="javascript"]').count() == 0
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.__xss") is None
    assert dialogs == []
    page.screenshot(path=str(results_dir / "17-xss-as-text.png"))
