"""Browser tests of the labtrack dashboard against a real `jupyter lab`.

Run from the repository root:  .venv/bin/python -m pytest ui-tests
Screenshots land in ui-tests/test-results/.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from playwright.sync_api import Locator, Page, expect

if TYPE_CHECKING:
    from conftest import LabServer

LAUNCHER_LABEL = re.compile(r"^\s*labtrack\s*$")


def open_lab(page: Page, server: LabServer) -> None:
    page.goto(server.lab_url("reset"))
    expect(page.locator(".jp-Launcher")).to_be_visible(timeout=60_000)


def launcher_card(page: Page) -> Locator:
    return page.locator(".jp-LauncherCard").filter(
        has=page.locator(".jp-LauncherCard-label", has_text=LAUNCHER_LABEL)
    )


def open_dashboard(page: Page, server: LabServer) -> Locator:
    open_lab(page, server)
    card = launcher_card(page)
    expect(card).to_have_count(1)
    expect(card.locator("svg")).to_have_count(1)  # labtrack's own icon
    card.click()
    dashboard = page.locator(".lt-Dashboard")
    expect(dashboard).to_be_visible()
    return dashboard


def open_more(dashboard: Locator) -> Locator:
    """Open the runs toolbar's "More" menu; returns its panel."""
    dashboard.get_by_role("button", name="More").click()
    panel = dashboard.locator(".lt-OverflowPanel")
    expect(panel).to_be_visible()
    return panel


def reach(dashboard: Locator, control: Locator) -> Locator:
    """A runs toolbar control where it is: in its row, or, when the row had no room
    for it, in the "More" menu (opened here). Locate it with `include_hidden=True`
    for roles: in the closed menu it is hidden."""
    if not control.is_visible():
        panel = dashboard.locator(".lt-OverflowPanel")
        if not panel.is_visible():
            open_more(dashboard)
        expect(control).to_be_visible()
        assert control.evaluate("e => !!e.closest('.lt-OverflowPanel')"), control
    return control


def experiment_item(page: Page, name: str) -> Locator:
    return page.locator(f'.lt-experiment-item[data-experiment-name="{name}"]')


def test_lab_page_ships_the_extension(lab_server: LabServer) -> None:
    """Fail early and clearly when the prebuilt extension is not installed."""
    config = lab_server.api("lab/api/settings/labtrack:model")
    assert isinstance(config, dict)
    assert config["id"] == "labtrack:model"
    assert config["schema"]["properties"]["maxRuns"]["default"] == 10000


def test_dashboard_lists_experiments_and_runs(
    page: Page, lab_server: LabServer, results_dir: Path
) -> None:
    dashboard = open_dashboard(page, lab_server)
    demo = experiment_item(page, "ui-demo")
    expect(demo).to_be_visible()
    expect(experiment_item(page, "ui-other")).to_be_visible()
    # The last (or most recently active) experiment opens at once.
    expect(dashboard.locator('.lt-experiment-item[aria-pressed="true"]')).to_have_count(1)
    page.screenshot(path=str(results_dir / "01-dashboard-experiments.png"))
    demo.click()

    expect(demo).to_have_attribute("aria-pressed", "true")
    rows = dashboard.locator(".lt-run-row")
    expect(rows).to_have_count(2)
    expect(rows.locator(".lt-RunNameText")).to_have_text(["r2", "r1"])  # newest first
    r1 = dashboard.locator('.lt-run-row[data-run-name="r1"]')
    expect(r1.locator(".lt-StatusBadge")).to_have_text("FINISHED")
    expect(r1.locator('td[data-metric="loss"]')).to_have_text("0.25")
    expect(r1.locator('td[data-metric="accuracy"]')).to_have_text("0.875")
    expect(r1.locator(".lt-Time")).not_to_be_empty()
    expect(dashboard.locator(".lt-RunsCount")).to_have_text("2 runs")
    # Solo mode (one user, no grants): no permissions dialog to open.
    expect(dashboard.locator(".lt-PermissionsButton")).to_be_hidden()
    page.screenshot(path=str(results_dir / "02-dashboard-runs.png"))

    # The MLflow filter goes to the server and narrows the table.
    filter_input = dashboard.locator(".lt-FilterInput")
    filter_input.fill("metrics.loss < 0.5")
    filter_input.press("Enter")
    expect(rows).to_have_count(1)
    expect(rows.locator(".lt-RunNameText")).to_have_text(["r1"])


def test_dashboard_is_keyboard_reachable(page: Page, lab_server: LabServer) -> None:
    dashboard = open_dashboard(page, lab_server)
    expect(experiment_item(page, "ui-other")).to_be_visible()
    items = dashboard.locator(".lt-experiment-item")
    names = items.evaluate_all("els => els.map(e => e.dataset.experimentName)")
    assert names == sorted(names, key=str.lower)  # "Default" may be there too
    # ArrowDown from the experiment listed just above ui-other moves to ui-other.
    above = names[names.index("ui-other") - 1]

    experiment_item(page, above).focus()
    page.keyboard.press("ArrowDown")
    expect(experiment_item(page, "ui-other")).to_be_focused()
    page.keyboard.press("Enter")
    expect(experiment_item(page, "ui-other")).to_have_attribute("aria-pressed", "true")
    expect(dashboard.locator(".lt-run-row .lt-RunNameText")).to_have_text(["other-run"])
    # Only the selected experiment is a tab stop (roving tabindex).
    expect(experiment_item(page, "ui-other")).to_have_attribute("tabindex", "0")
    expect(items.and_(page.locator('[tabindex="0"]'))).to_have_count(1)
    page.keyboard.press("Home")
    expect(items.first).to_be_focused()


def test_command_palette_opens_dashboard(page: Page, lab_server: LabServer) -> None:
    open_lab(page, lab_server)
    page.keyboard.press("Control+Shift+C")
    palette_input = page.locator(".lm-CommandPalette-input")
    expect(palette_input).to_be_visible()
    # The label the README gives.
    palette_input.fill("labtrack: Open Dashboard")
    item = page.locator(".lm-CommandPalette-item", has_text="labtrack: Open Dashboard")
    expect(item.locator(".lm-CommandPalette-itemLabel").first).to_have_text(
        "labtrack: Open Dashboard"
    )
    page.keyboard.press("Enter")
    expect(page.locator(".lt-Dashboard")).to_be_visible()
    expect(page.locator(".lm-TabBar-tab", has_text="labtrack")).to_have_count(1)


def test_missing_server_extension_is_explained(
    page: Page, lab_server: LabServer, results_dir: Path
) -> None:
    """A plain Jupyter 404 under labtrack/ reads as 'server extension not enabled'."""
    page.route(
        re.compile(r".*/labtrack/api/.*"),
        lambda route: route.fulfill(
            status=404, content_type="text/html", body="<html>404: Not Found</html>"
        ),
    )
    dashboard = open_dashboard(page, lab_server)
    error = dashboard.locator(".lt-error")
    expect(error).to_have_attribute("data-error-code", "LABTRACK_SERVER_EXTENSION_MISSING")
    expect(error).to_contain_text("server extension is not enabled")
    page.screenshot(path=str(results_dir / "03-server-extension-missing.png"))


def test_server_error_message_is_shown(page: Page, lab_server: LabServer) -> None:
    """MLflow JSON errors surface their message, rendered as text."""
    page.route(
        re.compile(r".*/labtrack/api/2\.0/mlflow/experiments/search.*"),
        lambda route: route.fulfill(
            status=400,
            content_type="application/json",
            body='{"error_code": "INVALID_PARAMETER_VALUE", "message": "<b>bad</b> value"}',
        ),
    )
    dashboard = open_dashboard(page, lab_server)
    error = dashboard.locator(".lt-error")
    expect(error).to_have_attribute("data-error-code", "INVALID_PARAMETER_VALUE")
    expect(error.locator(".lt-ErrorMessage")).to_have_text("<b>bad</b> value")
    expect(error.locator("b")).to_have_count(0)


def test_dark_theme(page: Page, lab_server: LabServer, results_dir: Path) -> None:
    theme_settings = "lab/api/settings/@jupyterlab/apputils-extension:themes"
    lab_server.api(theme_settings, "PUT", {"raw": '{"theme": "JupyterLab Dark"}'})
    try:
        dashboard = open_dashboard(page, lab_server)
        expect(page.locator("body")).to_have_attribute("data-jp-theme-light", "false")
        experiment_item(page, "ui-demo").click()
        expect(dashboard.locator(".lt-run-row")).to_have_count(2)
        page.screenshot(path=str(results_dir / "04-dashboard-dark.png"))
    finally:
        lab_server.api(theme_settings, "PUT", {"raw": "{}"})


def test_no_open_handlers_in_server_log(lab_server: LabServer) -> None:
    """Every labtrack handler makes an auth decision (no JupyterServerAuthWarning)."""
    log = lab_server.log.read_text(errors="replace")
    open_labtrack_routes = [
        line for line in log.splitlines() if "registered for" in line and "labtrack" in line
    ]
    assert not open_labtrack_routes
    assert "labtrack" in log  # the server extension was loaded
