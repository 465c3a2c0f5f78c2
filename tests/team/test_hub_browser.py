"""The team deployment in a browser, through the real hub (issue 15): Chromium (Debian's, driven
by Python Playwright as in ui-tests/) logs in on the hub's login page; the hub spawns the user's
JupyterLab (a local process, see ``hub_fixtures``); a notebook cell logs a run with
``import labtrack as lt`` and no setup; the labtrack dashboard in JupyterLab shows the team's
runs with their owners and a "mine / everyone" filter. carol, outside the team, is refused.

Screenshots: ui-tests/test-results/team-*.png.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from hub_browser import RESULTS, hub_login, new_page, no_news, open_lab
from hub_fixtures import Hub, http

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

playwright_api = pytest.importorskip("playwright.sync_api")
Browser = playwright_api.Browser
Page = playwright_api.Page
expect = playwright_api.expect

MLFLOW = "/api/2.0/mlflow"
EXPERIMENT = f"team-ui-{uuid.uuid4().hex[:6]}"
ALICE_RUN = f"alice-nb-{uuid.uuid4().hex[:6]}"
BOB_RUN = f"bob-run-{uuid.uuid4().hex[:6]}"


def open_dashboard(page: Page) -> playwright_api.Locator:
    card = page.locator(".jp-LauncherCard").filter(
        has=page.locator(".jp-LauncherCard-label", has_text="labtrack")
    )
    card.first.click()
    dashboard = page.locator(".lt-Dashboard")
    expect(dashboard).to_be_visible()
    item = page.locator(f'.lt-experiment-item[data-experiment-name="{EXPERIMENT}"]')
    expect(item).to_be_visible()
    item.click()
    expect(item).to_have_attribute("aria-pressed", "true")
    return dashboard


NOTEBOOK_CELL = f"""\
import labtrack as lt
lt.set_experiment({EXPERIMENT!r})
with lt.start_run(run_name={ALICE_RUN!r}) as run:
    lt.log_param("lr", 0.01)
    for step in range(5):
        lt.log_metric("loss", 1.0 / (step + 1), step=step)
print("logged", run.info.run_id, run.info.user_id)
"""


def _write_notebook(hub: Hub, user: str, name: str, source: str) -> None:
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": "c1",
                "metadata": {},
                "outputs": [],
                "source": source,
            }
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    status, body = http(
        "PUT",
        f"{hub.server_url(user)}/api/contents/{name}",
        token=hub.tokens[user],
        body={"type": "notebook", "format": "json", "content": notebook},
    )
    assert status in (200, 201), body


def _run_id_by_name(hub: Hub, name: str) -> dict:
    status, body = http(
        "POST",
        hub.service_url + MLFLOW + "/runs/search",
        token=hub.tokens["bob"],
        body={"experiment_ids": [_experiment_id(hub)], "filter": f"run_name = '{name}'"},
    )
    assert status == 200, body
    runs = body.get("runs") or []
    assert len(runs) == 1, body
    return runs[0]


def _experiment_id(hub: Hub) -> str:
    status, body = http(
        "GET",
        hub.service_url + MLFLOW + f"/experiments/get-by-name?experiment_name={EXPERIMENT}",
        token=hub.tokens["bob"],
    )
    assert status == 200, body
    return str(body["experiment"]["experiment_id"])


def _run_first_cell(page: Page) -> None:
    """Select the cell and run it from the notebook's toolbar, as a person would; retry while
    the kernel is still starting (the click is then lost)."""
    cell = page.locator(".jp-NotebookPanel .jp-CodeCell").first
    prompt = cell.locator(".jp-InputPrompt")
    run = page.locator(
        ".jp-NotebookPanel-toolbar [data-command='notebook:run-cell-and-select-next']"
    )
    dialog = page.locator(".jp-Dialog")
    for _attempt in range(10):
        if dialog.count():
            # Run before the kernel was attached: JupyterLab asks which kernel; the notebook's.
            dialog.locator(".jp-mod-accept").click()
            expect(dialog).to_have_count(0)
        prompt.click(timeout=10_000)
        run.first.click(timeout=10_000)
        try:
            expect(prompt).not_to_have_text("[ ]:", timeout=6_000)
            return
        except AssertionError:
            continue
    page.screenshot(path=str(RESULTS / "team-00-cell-did-not-run.png"))
    raise AssertionError("the notebook cell never ran")


@pytest.fixture(scope="module")
def alice_logged_a_run(hub: Hub, browser: Browser) -> Iterator[Page]:
    """alice, in the browser: hub login, her JupyterLab, a notebook cell logging a run."""
    for user in ("alice", "bob", "carol"):
        no_news(hub, user)
    hub.start_server("alice")
    _write_notebook(hub, "alice", "team-run.ipynb", NOTEBOOK_CELL)
    page = new_page(browser)
    try:
        open_lab(page, hub, "alice")
        page.goto(f"{hub.server_url('alice')}/lab/tree/team-run.ipynb?reset")
        cell = page.locator(".jp-NotebookPanel .jp-CodeCell").first
        expect(cell).to_be_visible(timeout=120_000)
        _run_first_cell(page)
        output = page.locator(".jp-OutputArea-output").filter(has_text="logged")
        expect(output).to_be_visible(timeout=120_000)
        expect(output).to_contain_text(" alice")  # the run's user, printed by the cell
    except Exception:
        page.screenshot(path=str(RESULTS / "team-00-alice-notebook-failed.png"))
        raise
    page.screenshot(path=str(RESULTS / "team-01-alice-notebook.png"))
    # alice created the experiment (MANAGE); her team holds READ by default: she lets bob log.
    status, body = http(
        "POST",
        hub.service_url + "/api/3.0/mlflow/users/permissions/grant",
        token=hub.tokens["alice"],
        body={
            "resource_type": "experiment",
            "resource_id": _experiment_id(hub),
            "permission": "EDIT",
            "username": "bob",
        },
    )
    assert status == 200, body
    # bob logs a run of his own in the same experiment (his client, his token).
    status, body = http(
        "POST",
        hub.service_url + MLFLOW + "/runs/create",
        token=hub.tokens["bob"],
        body={"experiment_id": _experiment_id(hub), "run_name": BOB_RUN},
    )
    assert status == 200, body
    yield page
    page.context.close()


def test_alice_sees_her_notebook_run_under_her_name(hub: Hub, alice_logged_a_run: Page) -> None:
    page = alice_logged_a_run
    page.goto(f"{hub.server_url('alice')}/lab?reset")
    expect(page.locator(".jp-Launcher")).to_be_visible(timeout=120_000)
    dashboard = open_dashboard(page)
    mine = dashboard.locator(f'.lt-run-row[data-run-name="{ALICE_RUN}"]')
    theirs = dashboard.locator(f'.lt-run-row[data-run-name="{BOB_RUN}"]')
    expect(mine).to_be_visible()
    expect(mine.locator("td.lt-User")).to_have_text("alice")
    expect(mine.locator(".lt-StatusBadge")).to_have_text("FINISHED")
    expect(mine.locator('td[data-metric="loss"]')).to_have_text("0.2")
    expect(theirs.locator("td.lt-User")).to_have_text("bob")
    expect(dashboard.locator("th", has_text="User")).to_have_count(1)
    page.screenshot(path=str(RESULTS / "team-02-alice-dashboard-everyone.png"))

    # Mine / everyone: only alice's runs, then everyone's again.
    owner = dashboard.locator(".lt-OwnerFilter")
    expect(owner).to_be_visible()
    owner.select_option("mine")
    expect(theirs).to_have_count(0)
    expect(mine).to_be_visible()
    expect(dashboard.locator(".lt-run-row td.lt-User")).to_have_text(["alice"])
    page.screenshot(path=str(RESULTS / "team-03-alice-dashboard-mine.png"))
    owner.select_option("everyone")
    expect(theirs).to_be_visible()


def test_bob_sees_alices_run(hub: Hub, browser: Browser, alice_logged_a_run: Page) -> None:
    page = new_page(browser)
    try:
        open_lab(page, hub, "bob")
        dashboard = open_dashboard(page)
        alices = dashboard.locator(f'.lt-run-row[data-run-name="{ALICE_RUN}"]')
        expect(alices.locator("td.lt-User")).to_have_text("alice")
        page.screenshot(path=str(RESULTS / "team-04-bob-dashboard.png"))
        dashboard.locator(".lt-OwnerFilter").select_option("mine")
        expect(alices).to_have_count(0)
        expect(dashboard.locator(f'.lt-run-row[data-run-name="{BOB_RUN}"]')).to_be_visible()
    finally:
        page.context.close()


def test_bob_cannot_delete_alices_run(hub: Hub, alice_logged_a_run: Page) -> None:
    """EDIT lets bob log to alice's experiment, not delete her runs (MLflow's can_delete is
    MANAGE's). A run of alice's of its own: if bob's delete went through, nothing else is lost."""
    status, body = http(
        "POST",
        hub.service_url + MLFLOW + "/runs/create",
        token=hub.tokens["alice"],
        body={"experiment_id": _experiment_id(hub), "run_name": "alice-keep"},
    )
    assert status == 200, body
    run_id = body["run"]["info"]["run_id"]
    # What bob's dashboard would send, through his own Jupyter server.
    hub.start_server("bob")
    status, body = http(
        "POST",
        f"{hub.server_url('bob')}/labtrack{MLFLOW}/runs/delete",
        token=hub.tokens["bob"],
        body={"run_id": run_id},
    )
    assert status == 403, body
    assert body["error_code"] == "PERMISSION_DENIED"


def test_carol_is_refused(hub: Hub, browser: Browser) -> None:
    """carol has a hub account but is outside the team: the hub refuses her the service."""
    page = new_page(browser)
    try:
        hub_login(page, hub, "carol")
        page.wait_for_url(lambda url: "/hub/login" not in url)
        response = page.goto(
            f"{hub.service_url}/oauth_login?next=/services/labtrack/api/labtrack/whoami"
        )
        assert response is not None
        assert response.status == 403, page.content()[:2000]
        page.screenshot(path=str(RESULTS / "team-05-carol-refused.png"))
        # alice, with the same flow, gets in (the browser's OAuth cookie for the service).
        ctx = new_page(page.context.browser)  # type: ignore[arg-type]
        try:
            hub_login(ctx, hub, "alice")
            ctx.wait_for_url(lambda url: "/hub/login" not in url)
            ctx.goto(f"{hub.service_url}/oauth_login?next=/services/labtrack/api/labtrack/whoami")
            assert json.loads(ctx.locator("body").inner_text()) == {"user": "alice", "team": True}
        finally:
            ctx.context.close()
    finally:
        page.context.close()
        hub.stop_server("carol")
