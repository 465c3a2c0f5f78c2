"""Run project in JupyterLab: right-click an MLproject in the file browser, fill the typed
parameter fields (a wrong type keeps Run disabled), run, and watch the run FINISH in the
dashboard with its parameters; then "Run again" from the run's page with the same inputs.
Light and dark screenshots of the dialog and the project run's page; their text contrast is
measured as test_ui_contrast measures the dashboard."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Locator, Page, expect
from test_ui_contrast import CONTRAST_JS
from test_ui_dashboard import open_lab
from test_ui_tree import lab_theme

if TYPE_CHECKING:
    from conftest import LabServer

MLPROJECT = """\
name: ui-project
entry_points:
  main:
    parameters:
      alpha: {type: float, default: 0.5}
      epochs: int
      note: {type: string, default: "hello world"}
    command: "python train.py --alpha {alpha} --epochs {epochs} --note {note}"
"""
TRAIN = """\
import argparse
import labtrack as lt

parser = argparse.ArgumentParser()
parser.add_argument("--alpha", type=float)
parser.add_argument("--epochs", type=int)
parser.add_argument("--note")
args = parser.parse_args()
for step in range(args.epochs):
    lt.log_metric("loss", args.alpha / (step + 1), step=step)
lt.set_tag("note_seen", args.note)
"""


def put_file(server: LabServer, path: str, text: str) -> None:
    body = {"type": "file", "format": "text", "content": text}
    server.api(f"api/contents/{path}", "PUT", body)


@pytest.fixture(scope="module")
def project(lab_server: LabServer) -> str:
    lab_server.api("api/contents/uiproj", "PUT", {"type": "directory"})
    put_file(lab_server, "uiproj/MLproject", MLPROJECT)
    put_file(lab_server, "uiproj/train.py", TRAIN)
    return "uiproj"


def contrast_problems(page: Page, roots: list[str], view: str) -> list[str]:
    page.mouse.move(1, 1)
    page.wait_for_timeout(300)
    result = page.evaluate(CONTRAST_JS, roots)
    assert result["checked"] > 5, f"{view}: only {result['checked']} texts found"
    return [
        f"{view}: {o['element']} {o['text']!r} {o['color']} on {o['background']}"
        f" = {o['ratio']}:1 (needs {o['need']}:1)"
        for o in result["offenders"]
    ]


def open_project_dialog(page: Page, folder: str) -> Locator:
    listing = page.locator("#filebrowser .jp-DirListing-content")
    if not listing.is_visible():
        page.locator(".jp-SideBar [data-id='filebrowser']").click()
    listing.locator(f'.jp-DirListing-item[title^="Name: {folder}"]').dblclick()
    item = listing.locator('.jp-DirListing-item[title^="Name: MLproject"]')
    expect(item).to_be_visible()
    item.click(button="right")
    page.locator(".lm-Menu-item", has_text="Run Project…").click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog.locator(".lt-RunProjectForm")).to_be_visible()
    return dialog


def param(dialog: Locator, name: str) -> Locator:
    return dialog.locator(f'.lt-RunProjectParam[name="{name}"]')


def wait_finished(detail: Locator) -> None:
    expect(detail.locator(".lt-StatusSlot")).to_contain_text("FINISHED", timeout=60_000)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_run_project_from_the_file_browser_then_run_again(
    page: Page, lab_server: LabServer, project: str, results_dir: Path, theme: str
) -> None:
    problems: list[str] = []
    with lab_theme(lab_server, theme):
        open_lab(page, lab_server)
        dialog = open_project_dialog(page, project)
        run_button = dialog.locator(".jp-Dialog-button.jp-mod-accept")

        # Typed fields: defaults filled in, the required one marked and empty.
        expect(param(dialog, "alpha")).to_have_value("0.5")
        expect(param(dialog, "note")).to_have_value("hello world")
        expect(param(dialog, "epochs")).to_have_value("")
        expect(dialog.locator(".lt-RunProjectRequired")).to_have_count(1)
        expect(run_button).to_be_disabled()
        # Every experiment is offered, the dashboard unopened.
        expect(dialog.locator("select[id$='-experiment'] option")).to_contain_text(
            ["Default (#0)", "ui-demo (#1)"]
        )
        # A wrong type is named at the field and keeps Run disabled.
        param(dialog, "epochs").fill("three")
        expect(param(dialog, "epochs")).to_have_attribute("aria-invalid", "true")
        expect(dialog.locator(".lt-RunProjectHint[id$='-param-epochs-hint']")).to_have_text(
            "epochs must be an integer"
        )
        expect(run_button).to_be_disabled()
        page.screenshot(path=str(results_dir / f"40-run-project-dialog-invalid-{theme}.png"))
        problems += contrast_problems(page, [".jp-Dialog .lt-RunProjectForm"], "dialog (invalid)")
        param(dialog, "alpha").fill("0.25")
        param(dialog, "epochs").fill("3")
        # A string parameter is data: quotes and $(...) reach the script as typed.
        note = f"it's $(echo {theme}) ok"
        param(dialog, "note").fill(note)
        expect(run_button).to_be_enabled()
        dialog.locator("select[id$='-env']").select_option("local")
        dialog.locator("input[id$='-run-name']").fill(f"ui-proj-{theme}")
        page.screenshot(path=str(results_dir / f"40-run-project-dialog-{theme}.png"))
        problems += contrast_problems(page, [".jp-Dialog .lt-RunProjectForm"], "dialog")
        run_button.click()

        # The run opens in the dashboard and finishes there, live.
        detail = page.locator(".lt-Dashboard .lt-RunDetail")
        expect(detail.locator(".lt-RunTitle")).to_have_text(f"ui-proj-{theme}")
        wait_finished(detail)
        section = detail.locator(".lt-ProjectSection")
        expect(section).to_contain_text("main")
        expect(section).to_contain_text("uiproj")
        expect(detail.locator('td[data-param="alpha"]')).to_have_text("0.25")
        expect(detail.locator('td[data-param="epochs"]')).to_have_text("3")
        expect(detail.locator('td[data-param="note"]')).to_have_text(note)
        expect(detail.locator('td[data-tag="note_seen"]')).to_have_text(note)
        expect(detail.locator('td[data-metric-latest="loss"]')).to_contain_text("step 2")
        section.scroll_into_view_if_needed()
        page.screenshot(path=str(results_dir / f"41-project-run-{theme}.png"))
        problems += contrast_problems(page, [".lt-Dashboard"], "project run page")

        # Run again: the same dialog with the same inputs.
        section.locator(".lt-RunAgain").click()
        dialog = page.locator(".jp-Dialog")
        expect(param(dialog, "alpha")).to_have_value("0.25")
        expect(param(dialog, "epochs")).to_have_value("3")
        expect(param(dialog, "note")).to_have_value(note)
        expect(dialog.locator("select[id$='-env']")).to_have_value("local")
        param(dialog, "epochs").fill("2")
        dialog.locator("input[id$='-run-name']").fill(f"ui-proj-again-{theme}")
        dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
        expect(detail.locator(".lt-RunTitle")).to_have_text(f"ui-proj-again-{theme}")
        wait_finished(detail)
        expect(detail.locator('td[data-param="epochs"]')).to_have_text("2")
        expect(detail.locator('td[data-param="alpha"]')).to_have_text("0.25")
    assert not problems, "\n".join(problems)


def test_run_project_from_the_palette_refuses_a_bad_input_and_keeps_the_inputs(
    page: Page, lab_server: LabServer, project: str, results_dir: Path
) -> None:
    open_lab(page, lab_server)
    page.keyboard.press("Control+Shift+C")
    palette = page.locator(".lm-CommandPalette-input")
    palette.fill("labtrack: Run Project")
    page.locator(".lm-CommandPalette-item", has_text="labtrack: Run Project").click()
    # Nothing selected in the file browser: the path is asked for.
    page.locator(".jp-Dialog input").fill(f"{project}/MLproject")
    page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog.locator(".lt-RunProjectForm")).to_be_visible()
    param(dialog, "epochs").fill("1")
    # An experiment the server does not know: refused, nothing run, the dialog comes back.
    dialog.locator("select[id$='-env']").select_option("local")
    page.evaluate(
        """() => {
          const select = document.querySelector('.jp-Dialog select[id$="-experiment"]');
          select.append(new Option('gone', '424242'));
          select.value = '424242';
        }"""
    )
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    error = page.locator(".jp-Dialog").filter(has_text="Could not start the project")
    expect(error).to_contain_text("424242")
    error.locator(".jp-Dialog-button").last.click()
    dialog = page.locator(".jp-Dialog")
    expect(param(dialog, "epochs")).to_have_value("1")
    dialog.locator(".jp-Dialog-button.jp-mod-reject").click()
