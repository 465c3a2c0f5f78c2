"""Evaluation results and datasets in the dashboard: an evaluated run's page shows the
evaluator's metrics, its Vega-Lite charts rendered, a PNG plot and the predictions table, and
its datasets (name, digest, source, schema, profile); "Runs with this dataset" filters the runs
table by `dataset.name`/`dataset.digest`; the compare view puts evaluation metrics side by
side. Light and dark screenshots; text contrast measured as in test_ui_contrast."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect
from test_ui_dashboard import experiment_item, open_dashboard
from test_ui_projects import contrast_problems
from test_ui_tree import lab_theme

if TYPE_CHECKING:
    from conftest import LabServer


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_evaluated_run_page_datasets_and_compare(
    page: Page, lab_server: LabServer, results_dir: Path, theme: str
) -> None:
    problems: list[str] = []
    with lab_theme(lab_server, theme):
        dashboard = open_dashboard(page, lab_server)
        experiment_item(page, "ui-validation").click()
        rows = dashboard.locator(".lt-run-row")
        expect(rows).to_have_count(2)
        dashboard.locator('.lt-run-row[data-run-name="eval-strong"] .lt-RunNameText').click()
        detail = dashboard.locator(".lt-RunDetail")
        expect(detail.locator(".lt-RunTitle")).to_have_text("eval-strong")

        # The evaluator's metrics, charts (rendered by vega), the PNG and the predictions.
        section = detail.locator(".lt-EvaluationSection")
        expect(section.locator('td[data-eval-metric="accuracy_score"]')).to_have_text(
            re.compile(r"^(1|0\.\d+)$")
        )
        expect(section.locator('td[data-eval-metric="example_count"]')).to_have_text("12")
        for chart in ("confusion_matrix", "roc_curve_plot", "precision_recall_curve_plot"):
            figure = section.locator(f'.lt-EvalChart[data-artifact="{chart}.vl.json"]')
            expect(figure.locator("canvas, svg").first).to_be_visible(timeout=30_000)
        image = section.locator('.lt-EvalChart[data-artifact="lift_curve.png"] img')
        expect(image).to_be_visible()
        assert image.evaluate("img => img.naturalWidth") == 96
        table = section.locator(".lt-EvalTable")
        expect(table.locator("tbody tr")).to_have_count(12)
        expect(table.locator("thead th")).to_have_text(["x1", "x2", "target", "prediction"])
        section.evaluate("node => node.scrollIntoView({block: 'start'})")
        page.screenshot(path=str(results_dir / f"50-evaluation-{theme}.png"))
        table.evaluate("node => node.scrollIntoView({block: 'end'})")
        page.screenshot(path=str(results_dir / f"50-evaluation-table-{theme}.png"))
        problems += contrast_problems(page, [".lt-Dashboard"], "evaluation")

        # The run's datasets: training and evaluation, with schema and profile.
        datasets = detail.locator(".lt-DatasetsSection")
        train = datasets.locator('.lt-DatasetCard[data-dataset-name="toy-train"]')
        expect(train.locator(".lt-DatasetContext")).to_have_text("training")
        expect(train.locator("td[data-source]")).to_contain_text("data/train.csv")
        expect(train.locator("td[data-schema]")).to_have_text("x1: double, x2: double, y: long")
        expect(train.locator("td[data-profile]")).to_contain_text("num_rows: 12")
        expect(datasets.locator('.lt-DatasetCard[data-dataset-name="toy-eval"]')).to_have_count(1)
        datasets.evaluate("node => node.scrollIntoView({block: 'start'})")
        page.screenshot(path=str(results_dir / f"51-datasets-{theme}.png"))
        problems += contrast_problems(page, [".lt-Dashboard"], "datasets")

        # Find the runs by dataset: both used toy-train; the filter says so in the table.
        digest = train.get_attribute("data-dataset-digest")
        train.locator(".lt-FindDatasetRuns").click()
        expect(dashboard.locator(".lt-FilterInput")).to_have_value(
            f"dataset.name = 'toy-train' and dataset.digest = '{digest}'"
        )
        expect(rows).to_have_count(2)
        # A dataset no run used matches none.
        dashboard.locator(".lt-FilterInput").fill("dataset.name = 'nope'")
        dashboard.locator(".lt-FilterInput").press("Enter")
        expect(rows).to_have_count(0)
        dashboard.locator(".lt-FilterInput").fill("dataset.name = 'toy-eval'")
        dashboard.locator(".lt-FilterInput").press("Enter")
        expect(rows).to_have_count(2)

        # Compare: evaluation metrics side by side, the better value marked.
        for name in ("eval-strong", "eval-weak"):
            dashboard.locator(f'.lt-run-row[data-run-name="{name}"] .lt-RunSelect').check()
        dashboard.locator(".lt-CompareButton").click()
        compare = dashboard.locator(".lt-CompareEvaluation")
        expect(compare).to_be_visible()
        expect(compare.locator("thead th")).to_have_text(["Metric", "eval-strong", "eval-weak"])
        log_loss = compare.locator('tr[data-eval-metric="log_loss"]')
        expect(log_loss.locator("td.lt-mod-best")).to_have_count(1)
        expect(log_loss.locator("td").first).to_have_class("lt-mod-best")
        expect(compare.locator("tr", has_text="Datasets")).to_contain_text("toy-eval@")
        compare.evaluate("node => node.scrollIntoView({block: 'start'})")
        page.screenshot(path=str(results_dir / f"52-compare-evaluation-{theme}.png"))
        problems += contrast_problems(page, [".lt-Dashboard"], "compare evaluation")
        for name in ("eval-strong", "eval-weak"):
            dashboard.locator('.lt-ViewTab[data-view="runs"]').click()
            dashboard.locator(f'.lt-run-row[data-run-name="{name}"] .lt-RunSelect').uncheck()
        dashboard.locator(".lt-FilterInput").fill("")
        dashboard.locator(".lt-FilterInput").press("Enter")
    assert not problems, "\n".join(problems)
