/**
 * Draws a Vega-Lite spec built by labtrack (compare view plots) with the
 * bundled vega-embed (loaded on first use), in the current JupyterLab
 * theme's colors and fonts, as SVG (text stays DOM text: selectable and
 * measured by the contrast test), with vega's hover tooltips.
 */

import type { IEmbedResult } from 'vega-embed';

import { IPlotTheme, VegaLiteSpec } from './compareplots';

function cssVar(name: string, fallback: string): string {
  const value = getComputedStyle(document.body).getPropertyValue(name).trim();
  return value || fallback;
}

function isDark(): boolean {
  return document.body.dataset.jpThemeLight === 'false';
}

/** The theme's text and background colors, for the specs. */
export function plotTheme(): IPlotTheme {
  return {
    text: cssVar('--jp-ui-font-color1', isDark() ? '#ffffff' : '#000000'),
    background: cssVar('--jp-layout-color1', isDark() ? '#111111' : '#ffffff')
  };
}

/** Theme colors and fonts for every axis, legend and title. */
function themeConfig(): Record<string, unknown> {
  const { text } = plotTheme();
  const line = cssVar('--jp-border-color1', '#888888');
  const grid = cssVar('--jp-border-color2', '#cccccc');
  const font = cssVar('--jp-ui-font-family', 'sans-serif');
  const axis = {
    labelColor: text,
    titleColor: text,
    domainColor: line,
    tickColor: line,
    gridColor: grid,
    labelFont: font,
    titleFont: font,
    labelFontSize: 11,
    titleFontSize: 12
  };
  return {
    background: null,
    font,
    view: { stroke: grid },
    axis,
    legend: {
      labelColor: text,
      titleColor: text,
      labelFont: font,
      titleFont: font
    }
  };
}

/** Render `spec` into `host` (replacing what was there). */
export async function renderPlot(
  host: HTMLElement,
  spec: VegaLiteSpec
): Promise<IEmbedResult> {
  const { default: embed } = await import('vega-embed');
  const target = document.createElement('div');
  host.replaceChildren(target);
  return embed(target, { ...spec, config: themeConfig() } as never, {
    mode: 'vega-lite',
    renderer: 'svg',
    actions: false,
    tooltip: { theme: isDark() ? 'dark' : 'light' }
  });
}
