"""Every view is readable in JupyterLab Light and Dark (issue #18).

For each visible text element of the dashboard and the sidebar, the test
computes the WCAG contrast ratio between the text color and the background
actually behind it (ancestor backgrounds composited, opacity applied) and
fails listing every element under 4.5:1 (3:1 for large text and disabled
controls). Text drawn on a canvas (chart axes) is not DOM text and is not
measured here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Locator, Page, expect
from test_ui_dashboard import experiment_item, open_dashboard
from test_ui_tree import lab_theme

if TYPE_CHECKING:
    from conftest import LabServer

# Runs in the page: returns the offenders under `root_selectors`.
CONTRAST_JS = r"""
(rootSelectors) => {
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 1;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  // Any CSS color -> [r, g, b, a] (0-255, alpha 0-1), through the canvas.
  const parse = css => {
    ctx.clearRect(0, 0, 1, 1);
    ctx.fillStyle = 'rgba(0, 0, 0, 0)';
    ctx.fillStyle = css;
    ctx.fillRect(0, 0, 1, 1);
    const [r, g, b, a] = ctx.getImageData(0, 0, 1, 1).data;
    return [r, g, b, a / 255];
  };
  const over = (top, bottom) => {
    const a = top[3] + bottom[3] * (1 - top[3]);
    if (a === 0) return [0, 0, 0, 0];
    const mix = i => (top[i] * top[3] + bottom[i] * bottom[3] * (1 - top[3])) / a;
    return [mix(0), mix(1), mix(2), a];
  };
  const luminance = ([r, g, b]) => {
    const lin = v => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    };
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  };
  const ratio = (a, b) => {
    const [l1, l2] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (l1 + 0.05) / (l2 + 0.05);
  };
  const pageBackground = () => {
    const body = parse(getComputedStyle(document.body).backgroundColor);
    return body[3] === 1 ? body : over(body, [255, 255, 255, 1]);
  };
  // The background behind an element: its and its ancestors' backgrounds.
  const background = element => {
    const layers = [];
    for (let node = element; node && node.nodeType === 1; node = node.parentElement) {
      const color = parse(getComputedStyle(node).backgroundColor);
      if (color[3] > 0) {
        layers.push(color);
        if (color[3] === 1) break;
      }
    }
    let result = layers.length && layers[layers.length - 1][3] === 1
      ? layers.pop() : pageBackground();
    while (layers.length) result = over(layers.pop(), result);
    return result;
  };
  const opacity = element => {
    let value = 1;
    for (let node = element; node && node.nodeType === 1; node = node.parentElement) {
      value *= Number(getComputedStyle(node).opacity);
    }
    return value;
  };
  const disabled = element =>
    !!element.closest(':disabled, [aria-disabled="true"], .lt-mod-disabled');
  const visible = element => {
    const rect = element.getBoundingClientRect();
    // (1 px: visually hidden text for screen readers, not seen)
    if (rect.width <= 1 || rect.height <= 1) return false;
    if (rect.bottom < 0 || rect.right < 0 || rect.top > innerHeight || rect.left > innerWidth) {
      return false;
    }
    const style = getComputedStyle(element);
    return style.visibility !== 'hidden' && style.display !== 'none';
  };
  const describe = element => {
    const classes = [...element.classList].slice(0, 3).join('.');
    return element.tagName.toLowerCase() + (classes ? '.' + classes : '');
  };
  const hex = c =>
    '#' + c.slice(0, 3).map(v => Math.round(v).toString(16).padStart(2, '0')).join('');

  const offenders = [];
  let checked = 0;
  const seen = new Set();
  for (const selector of rootSelectors) {
    for (const root of document.querySelectorAll(selector)) {
      const elements = [root, ...root.querySelectorAll('*')];
      for (const element of elements) {
        if (seen.has(element)) continue;
        seen.add(element);
        const own = [...element.childNodes]
          .filter(n => n.nodeType === 3)
          .map(n => n.textContent.trim())
          .join(' ')
          .trim();
        const isField = element.matches(
          'input[type="text"], input[type="search"], input:not([type]), select, textarea'
        );
        const text = own || (isField ? (element.value || '').trim() : '');
        if (!text || !visible(element)) continue;
        if (element.closest('[aria-hidden="true"]') && !own.match(/\w/)) continue;
        const style = getComputedStyle(element);
        const isSvgText = element instanceof SVGElement;
        let fg = parse(isSvgText ? style.fill : style.color);
        const bg = background(isSvgText ? element.closest('svg') : element);
        fg = [fg[0], fg[1], fg[2], fg[3] * opacity(element)];
        const shown = over(fg, bg);
        const value = ratio(shown, bg);
        const size = parseFloat(style.fontSize);
        const bold = Number(style.fontWeight) >= 700;
        const large = size >= 24 || (bold && size >= 18.66);
        const need = large || disabled(element) ? 3 : 4.5;
        checked++;
        if (value < need) {
          offenders.push({
            element: describe(element),
            text: text.slice(0, 40),
            color: hex(shown),
            background: hex(bg),
            ratio: Math.round(value * 100) / 100,
            need
          });
        }
      }
    }
  }
  return { checked, offenders };
}
"""

ROOTS = [".lt-Dashboard", "#labtrack-sidebar", ".lt-DashboardWidget .jp-Toolbar"]


def measure(page: Page, view: str, problems: list[str]) -> None:
    page.mouse.move(1, 1)  # no hover state
    page.wait_for_timeout(300)  # transitions end
    result = page.evaluate(CONTRAST_JS, ROOTS)
    assert result["checked"] > 10, f"{view}: only {result['checked']} texts found"
    for o in result["offenders"]:
        problems.append(
            f"{view}: {o['element']} {o['text']!r} {o['color']} on {o['background']}"
            f" = {o['ratio']}:1 (needs {o['need']}:1)"
        )


def open_sidebar(page: Page) -> Locator:
    page.locator('.jp-SideBar [data-id="labtrack-sidebar"]').click()
    sidebar = page.locator("#labtrack-sidebar")
    expect(sidebar).to_be_visible()
    return sidebar


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_view_has_readable_contrast(
    page: Page, lab_server: LabServer, results_dir: Path, theme: str
) -> None:
    problems: list[str] = []
    with lab_theme(lab_server, theme):
        dashboard = open_dashboard(page, lab_server)
        dark = "false" if theme == "dark" else "true"
        expect(page.locator("body")).to_have_attribute("data-jp-theme-light", dark)
        sidebar = open_sidebar(page)

        # Runs table with a selection (and a parent row of the tree), sidebar.
        experiment_item(page, "ui-demo").click()
        rows = dashboard.locator(".lt-run-row")
        expect(rows).to_have_count(2)
        for name in ("r1", "r2"):
            dashboard.locator(f'.lt-run-row[data-run-name="{name}"] .lt-RunSelect').check()
        expect(sidebar.locator(".lt-SidebarCompare")).to_have_text("Compare (2)")
        measure(page, "runs table", problems)
        page.screenshot(path=str(results_dir / f"30-contrast-runs-{theme}.png"))

        # Compare, with the side-by-side diff table.
        dashboard.locator(".lt-CompareButton").click()
        chart = dashboard.locator(".lt-CompareView .lt-CurveChart")
        expect(chart).to_have_attribute("data-series-count", "2")
        expect(dashboard.locator('.lt-SideBySide tr[data-differs="true"]').first).to_be_visible()
        measure(page, "compare", problems)
        dashboard.locator(".lt-SideBySide").scroll_into_view_if_needed()
        measure(page, "compare (diff table)", problems)
        # The box and contour plots (two runs: the contour says why there is none).
        box = dashboard.locator(".lt-BoxPlotSection")
        expect(box.locator(".lt-VegaPlot")).to_have_attribute("data-drawn", "true")
        expect(dashboard.locator(".lt-ContourSection .lt-PlotNote")).not_to_be_empty()
        box.scroll_into_view_if_needed()
        measure(page, "compare (box and contour plots)", problems)
        page.screenshot(path=str(results_dir / f"31-contrast-compare-{theme}.png"))

        # Run detail.
        dashboard.locator(".lt-RunChip[data-run-id] .lt-LinkButton", has_text="r1").click()
        detail = dashboard.locator(".lt-RunDetail")
        expect(detail.locator(".lt-RunTitle")).to_have_text("r1")
        expect(detail.locator(".lt-NoteBody h1")).to_contain_text("Baseline")
        expect(detail.locator(".lt-ArtifactItem").first).to_be_visible()
        measure(page, "run detail", problems)
        page.screenshot(path=str(results_dir / f"32-contrast-run-{theme}.png"))

        # Registry with alias badges.
        dashboard.locator('.lt-ViewTab[data-view="models"]').click()
        registry = dashboard.locator(".lt-RegistryView")
        registry.locator('.lt-ModelItem[data-model-name="ui-model"]').click()
        expect(registry.locator(".lt-AliasName").first).to_be_visible()
        measure(page, "registry", problems)
        page.screenshot(path=str(results_dir / f"33-contrast-registry-{theme}.png"))

        # The nested tree with a selected child.
        dashboard.locator('.lt-ViewTab[data-view="runs"]').click()
        experiment_item(page, "ui-sweep").click()
        sweep = dashboard.locator('.lt-run-row[data-run-name="sweep"]')
        sweep.locator(".lt-TreeToggle").click()
        dashboard.locator('.lt-run-row[data-run-name="trial-1"] .lt-RunSelect').check()
        measure(page, "runs tree", problems)
    assert not problems, f"{len(problems)} texts below WCAG contrast in {theme}:\n" + "\n".join(
        problems
    )
