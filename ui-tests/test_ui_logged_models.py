"""MLflow 3 logged models on the run page (issue #18): name, flavors, the
signature as a schema table, input example and requirements, and registering
a logged model from the run page.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect
from test_ui_dashboard import experiment_item, open_dashboard
from test_ui_tree import lab_theme

if TYPE_CHECKING:
    from conftest import LabServer


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_run_page_shows_and_registers_logged_models(
    page: Page, lab_server: LabServer, results_dir: Path, theme: str
) -> None:
    with lab_theme(lab_server, theme):
        dashboard = open_dashboard(page, lab_server)
        experiment_item(page, "ui-demo").click()
        dashboard.locator('.lt-run-row[data-run-name="r1"] .lt-RunNameText').click()
        detail = dashboard.locator(".lt-RunDetail")
        expect(detail.locator(".lt-RunTitle")).to_have_text("r1")

        section = detail.locator(".lt-LoggedModels")
        expect(section.locator("h3")).to_have_text("Logged models (1)")
        card = section.locator(".lt-LoggedModel")
        expect(card.locator(".lt-LoggedModelName")).to_have_text("iris-clf")
        expect(card.locator(".lt-FlavorBadge")).to_have_text(["python_function", "sklearn"])
        inputs = card.locator('.lt-Signature[data-kind="inputs"] .lt-SchemaTable')
        expect(inputs.locator("tbody th")).to_have_text(["sepal_length", "petal_width"])
        expect(inputs.locator(".lt-SchemaType")).to_have_text(["double", "double"])
        expect(card.locator('.lt-Signature[data-kind="outputs"] .lt-SchemaType')).to_have_text(
            ["long"]
        )
        expect(card.locator(".lt-InputExample")).to_contain_text("sepal_length")
        expect(card.locator(".lt-InputExample")).to_contain_text("5.1")
        expect(card.locator(".lt-Requirements")).to_contain_text("scikit-learn")
        card.scroll_into_view_if_needed()
        page.screenshot(path=str(results_dir / f"50-logged-model-{theme}.png"))

        # Register it from the run page: a version linked to the logged model.
        target = f"iris-from-run-{theme}"
        card.get_by_role("button", name="Register logged model iris-clf").click()
        dialog = page.locator(".jp-Dialog")
        dialog.locator("input").fill(target)
        dialog.locator(".jp-mod-accept").click()
        expect(section.locator(".lt-Success")).to_have_text(f"Registered {target} version 1.")
        model_id = card.get_attribute("data-model-id")
        got = lab_server.api(f"labtrack/api/2.0/mlflow/model-versions/get?name={target}&version=1")
        assert isinstance(got, dict)
        version = got["model_version"]
        assert version.get("model_id") == model_id
        assert version["source"] == f"models:/{model_id}"
