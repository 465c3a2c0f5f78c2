/**
 * Charts: metric curves on uPlot (canvas; stays fast with 100 series of
 * thousands of points), parallel coordinates and scatter plots as small
 * SVGs (they draw one mark per run). All labels go through `textContent`.
 */

import { TranslationBundle, nullTranslator } from '@jupyterlab/translation';
import uPlot from 'uplot';

import { el, formatMetric } from './dom';

const SVG_NS = 'http://www.w3.org/2000/svg';

function defaultTrans(): TranslationBundle {
  return nullTranslator.load('labtrack');
}

/** One curve: a run's metric. */
export interface ICurve {
  /** Run name (legend and hover). */
  label: string;
  /** Extra hover text, e.g. the run's params. */
  detail: string;
  color: string;
  xs: number[];
  ys: number[];
  /** Per-point bucket min/max when downsampled (drawn as a faint band). */
  mins?: number[];
  maxs?: number[];
}

export interface ICurveOptions {
  xMode: 'step' | 'timestamp';
  logY: boolean;
  /** 0 (none) .. 0.99 (heavy): TensorBoard-style debiased EMA. */
  smoothing: number;
  height?: number;
  /** Called when the user zooms (x in data units: steps or ms), or resets. */
  onZoom?: (range: { min: number; max: number } | null) => void;
  /** The labtrack translation bundle (English if absent). */
  trans?: TranslationBundle;
}

/** Debiased exponential moving average (NaN points are skipped). */
export function smooth(ys: number[], weight: number): number[] {
  if (weight <= 0) {
    return ys;
  }
  const out = new Array<number>(ys.length);
  let last = 0;
  let n = 0;
  for (let i = 0; i < ys.length; i++) {
    const y = ys[i];
    if (!Number.isFinite(y)) {
      out[i] = y;
      continue;
    }
    last = last * weight + (1 - weight) * y;
    n++;
    out[i] = last / (1 - Math.pow(weight, n));
  }
  return out;
}

function cssVar(name: string, fallback: string): string {
  const value = getComputedStyle(document.body).getPropertyValue(name).trim();
  return value || fallback;
}

/**
 * Join curves onto one sorted x axis (uPlot's aligned data). Runs logged
 * with the same steps share x values, so this stays close to the longest
 * series.
 */
function align(curves: ICurve[], logY: boolean, smoothing: number) {
  const xsSet = new Set<number>();
  for (const c of curves) {
    for (const x of c.xs) {
      xsSet.add(x);
    }
  }
  const xs = Float64Array.from(xsSet).sort();
  const index = new Map<number, number>();
  xs.forEach((x, i) => index.set(x, i));
  const ys: (number | null)[][] = [];
  const lows: (number | null)[][] = [];
  const highs: (number | null)[][] = [];
  for (const c of curves) {
    const y = new Array<number | null>(xs.length).fill(null);
    const lo = new Array<number | null>(xs.length).fill(null);
    const hi = new Array<number | null>(xs.length).fill(null);
    const values = smooth(c.ys, smoothing);
    for (let i = 0; i < c.xs.length; i++) {
      const at = index.get(c.xs[i])!;
      const v = values[i];
      y[at] = Number.isFinite(v) && (!logY || v > 0) ? v : null;
      if (c.mins && c.maxs && c.mins[i] !== c.maxs[i]) {
        lo[at] = c.mins[i];
        hi[at] = c.maxs[i];
      }
    }
    ys.push(y);
    lows.push(lo);
    highs.push(hi);
  }
  return { xs: Array.from(xs), ys, lows, highs };
}

/**
 * A metric chart of several runs on uPlot: legend, hover naming the run
 * and its params, drag to zoom (the owner fetches full resolution for the
 * zoomed range), double-click to reset.
 */
export class CurveChart {
  constructor(container: HTMLElement, options: ICurveOptions) {
    this._container = container;
    this._options = options;
    this._tooltip = el('div', 'lt-ChartTooltip', undefined, {
      role: 'status'
    });
    this._tooltip.hidden = true;
  }

  get seriesCount(): number {
    return this._curves.length;
  }

  /**
   * Draw (or redraw) the curves. With `keepZoom`, a range the user zoomed
   * into stays; an unzoomed chart always rescales to the data, so live
   * curves extend as steps arrive.
   */
  setCurves(curves: ICurve[], keepZoom = false): void {
    this._curves = curves;
    const { xMode, logY, smoothing } = this._options;
    const toX = (x: number) => (xMode === 'timestamp' ? x / 1000 : x);
    const data = align(
      curves.map(c => ({ ...c, xs: c.xs.map(toX) })),
      logY,
      smoothing
    );
    this._lows = data.lows;
    this._highs = data.highs;
    const aligned: uPlot.AlignedData = [data.xs, ...data.ys];
    const zoom =
      keepZoom && this._plot && this._zoomed ? this._plot.scales.x : null;
    const width = Math.max(300, this._container.clientWidth || 600);
    if (
      this._plot &&
      this._plot.series.length === curves.length + 1 &&
      curves.every((c, i) => this._plot!.series[i + 1].label === c.label)
    ) {
      this._settingData = true;
      this._plot.setData(aligned, !zoom);
      this._settingData = false;
      this._describe(data.xs);
      return;
    }
    this._plot?.destroy();
    const fg = cssVar('--jp-ui-font-color1', '#333');
    const grid = cssVar('--jp-border-color2', '#e0e0e0');
    const axis = (label: string): uPlot.Axis => ({
      label,
      stroke: fg,
      grid: { stroke: grid, width: 1 },
      ticks: { stroke: grid, width: 1 },
      font: `11px ${cssVar('--jp-ui-font-family', 'sans-serif')}`,
      labelFont: `12px ${cssVar('--jp-ui-font-family', 'sans-serif')}`
    });
    const opts: uPlot.Options = {
      width,
      height: this._options.height ?? 320,
      legend: { show: curves.length <= 12, live: true },
      cursor: {
        drag: { x: true, y: false, setScale: true },
        focus: { prox: 24 }
      },
      focus: { alpha: 0.35 },
      scales: {
        x: { time: xMode === 'timestamp' },
        y: logY ? { distr: 3 } : {}
      },
      axes: [axis(xMode === 'timestamp' ? 'time' : 'step'), axis('')],
      series: [
        { label: xMode === 'timestamp' ? 'time' : 'step' },
        ...curves.map(c => ({
          label: c.label,
          stroke: c.color,
          width: 1.5,
          spanGaps: true,
          // Points only where the data is sparse (a few logged steps).
          points: { show: c.xs.length <= 60, size: 5 },
          value: (_u: uPlot, v: number | null) =>
            v === null ? '–' : formatMetric(v)
        }))
      ],
      hooks: {
        draw: [u => this._drawBands(u)],
        setSeries: [
          (_u, idx) => {
            this._focused = idx ?? null;
            this._updateTooltip();
          }
        ],
        setCursor: [() => this._updateTooltip()],
        setScale: [(u, key) => this._onScale(u, key)]
      }
    };
    this._plot = new uPlot(opts, aligned, this._container);
    this._plot.root.append(this._tooltip);
    this._plot.root.addEventListener('mouseleave', () => {
      this._tooltip.hidden = true;
    });
    if (zoom && zoom.min !== undefined && zoom.max !== undefined) {
      this._plot.setScale('x', { min: zoom.min, max: zoom.max });
    }
    this._describe(data.xs);
  }

  /** The data's last x and the x axis' end, as attributes (live tests). */
  private _describe(xs: ArrayLike<number>): void {
    const box = this._container;
    box.dataset.lastX = xs.length ? String(xs[xs.length - 1]) : '';
    box.dataset.xMax = String(this._plot?.scales.x.max ?? '');
  }

  resize(): void {
    if (this._plot) {
      const width = Math.max(300, this._container.clientWidth || 600);
      if (Math.abs(width - this._plot.width) > 2) {
        this._plot.setSize({ width, height: this._plot.height });
      }
    }
  }

  dispose(): void {
    this._plot?.destroy();
    this._plot = null;
  }

  /** Faint vertical bars from each bucket's min to max: spikes stay visible. */
  private _drawBands(u: uPlot): void {
    const ctx = u.ctx;
    ctx.save();
    ctx.globalAlpha = 0.25;
    ctx.lineWidth = 1;
    for (let s = 0; s < this._curves.length; s++) {
      if (!u.series[s + 1].show) {
        continue;
      }
      const lo = this._lows[s];
      const hi = this._highs[s];
      ctx.strokeStyle = this._curves[s].color;
      ctx.beginPath();
      let any = false;
      const xs = u.data[0];
      for (let i = 0; i < xs.length; i++) {
        const a = lo[i];
        const b = hi[i];
        if (a === null || b === null) {
          continue;
        }
        const x = u.valToPos(xs[i], 'x', true);
        ctx.moveTo(x, u.valToPos(a, 'y', true));
        ctx.lineTo(x, u.valToPos(b, 'y', true));
        any = true;
      }
      if (any) {
        ctx.stroke();
      }
    }
    ctx.restore();
  }

  private _onScale(u: uPlot, key: string): void {
    if (key === 'x') {
      this._container.dataset.xMax = String(u.scales.x.max ?? '');
    }
    if (key !== 'x' || this._settingData) {
      return;
    }
    const xs = u.data[0];
    const min = u.scales.x.min;
    const max = u.scales.x.max;
    if (min === undefined || max === undefined || xs.length === 0) {
      return;
    }
    const full = min <= xs[0] && max >= xs[xs.length - 1];
    const wasZoomed = this._zoomed;
    this._zoomed = !full;
    if ((!full || wasZoomed) && this._options.onZoom) {
      const scale = this._options.xMode === 'timestamp' ? 1000 : 1;
      const range = full ? null : { min: min * scale, max: max * scale };
      clearTimeout(this._zoomTimer);
      this._zoomTimer = window.setTimeout(
        () => this._options.onZoom?.(range),
        150
      );
    }
  }

  private _updateTooltip(): void {
    const u = this._plot;
    const idx = this._focused;
    if (!u || idx === null || idx < 1 || u.cursor.idx === null) {
      this._tooltip.hidden = true;
      return;
    }
    const i = u.cursor.idx ?? 0;
    const curve = this._curves[idx - 1];
    const y = u.data[idx]?.[i];
    const x = u.data[0][i];
    if (!curve || y === null || y === undefined) {
      this._tooltip.hidden = true;
      return;
    }
    const xText =
      this._options.xMode === 'timestamp'
        ? new Date(x * 1000).toLocaleString()
        : (this._options.trans ?? defaultTrans()).__('step %1', x);
    this._tooltip.replaceChildren(
      el('div', 'lt-TooltipRun', curve.label),
      el('div', 'lt-TooltipValue', `${xText}: ${formatMetric(y)}`),
      el('div', 'lt-TooltipParams', curve.detail)
    );
    this._tooltip.style.borderColor = curve.color;
    const left = (u.cursor.left ?? 0) + u.over.offsetLeft + 12;
    const top = (u.cursor.top ?? 0) + u.over.offsetTop + 12;
    this._tooltip.style.left = `${Math.min(left, u.width - 220)}px`;
    this._tooltip.style.top = `${top}px`;
    this._tooltip.hidden = false;
  }

  private _container: HTMLElement;
  private _options: ICurveOptions;
  private _plot: uPlot | null = null;
  private _curves: ICurve[] = [];
  private _lows: (number | null)[][] = [];
  private _highs: (number | null)[][] = [];
  private _tooltip: HTMLElement;
  private _focused: number | null = null;
  private _zoomed = false;
  private _zoomTimer = 0;
  private _settingData = false;
}

/* ------------------------------------------------------------------ SVG */

function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number> = {},
  text?: string
): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    node.setAttribute(k, String(v));
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

/** An axis over numbers (linear) or strings (evenly spaced categories). */
interface IAxis {
  title: string;
  /** Map a raw value to 0..1 (null when missing). */
  scale(value: string | number | undefined): number | null;
  ticks: { at: number; label: string }[];
}

export function makeAxis(
  title: string,
  values: (string | number | undefined)[]
): IAxis {
  const present = values.filter(v => v !== undefined && v !== '') as (
    string | number
  )[];
  const numbers = present.map(Number);
  if (present.length > 0 && numbers.every(Number.isFinite)) {
    let lo = Math.min(...numbers);
    let hi = Math.max(...numbers);
    if (lo === hi) {
      lo -= 1;
      hi += 1;
    }
    return {
      title,
      scale: v =>
        v === undefined || v === '' || !Number.isFinite(Number(v))
          ? null
          : (Number(v) - lo) / (hi - lo),
      ticks: [0, 0.5, 1].map(t => ({
        at: t,
        label: formatMetric(lo + t * (hi - lo))
      }))
    };
  }
  const categories = [...new Set(present.map(String))].sort();
  const step = categories.length > 1 ? 1 / (categories.length - 1) : 0;
  return {
    title,
    scale: v => {
      const at = categories.indexOf(String(v));
      return at < 0 ? null : categories.length > 1 ? at * step : 0.5;
    },
    ticks: categories.slice(0, 12).map((c, i) => ({
      at: categories.length > 1 ? i * step : 0.5,
      label: c
    }))
  };
}

export interface IMark {
  label: string;
  color: string;
  values: (string | number | undefined)[];
}

/** Parallel coordinates: one vertical axis per column, one line per run. */
export function parallelCoordinates(
  titles: string[],
  marks: IMark[],
  trans: TranslationBundle = defaultTrans(),
  width = 720,
  height = 300
): SVGSVGElement {
  const pad = { top: 28, bottom: 24, left: 40, right: 60 };
  const root = svg('svg', {
    class: 'lt-ParCoords',
    viewBox: `0 0 ${width} ${height}`,
    role: 'img',
    'aria-label': trans.__('Parallel coordinates of %1', titles.join(', '))
  });
  const axes = titles.map((t, i) =>
    makeAxis(
      t,
      marks.map(m => m.values[i])
    )
  );
  const n = Math.max(1, titles.length - 1);
  const x = (i: number) => pad.left + (i * (width - pad.left - pad.right)) / n;
  const y = (t: number) =>
    height - pad.bottom - t * (height - pad.top - pad.bottom);
  axes.forEach((axis, i) => {
    const g = svg('g', { class: 'lt-Axis' });
    g.append(
      svg('line', { x1: x(i), x2: x(i), y1: y(0), y2: y(1) }),
      svg(
        'text',
        { x: x(i), y: 14, 'text-anchor': 'middle', class: 'lt-AxisTitle' },
        axis.title
      )
    );
    for (const tick of axis.ticks) {
      g.append(
        svg(
          'text',
          { x: x(i) + 4, y: y(tick.at) + 3, class: 'lt-Tick' },
          tick.label
        )
      );
    }
    root.append(g);
  });
  for (const mark of marks) {
    const points: string[] = [];
    axes.forEach((axis, i) => {
      const t = axis.scale(mark.values[i]);
      if (t !== null) {
        points.push(`${x(i).toFixed(1)},${y(t).toFixed(1)}`);
      }
    });
    const line = svg('polyline', {
      points: points.join(' '),
      stroke: mark.color,
      class: 'lt-ParLine'
    });
    line.append(svg('title', {}, mark.label));
    root.append(line);
  }
  return root;
}

/** Scatter plot of one column against another, one dot per run. */
export function scatterPlot(
  xTitle: string,
  yTitle: string,
  marks: IMark[],
  trans: TranslationBundle = defaultTrans(),
  width = 480,
  height = 300
): SVGSVGElement {
  const pad = { top: 16, bottom: 40, left: 64, right: 16 };
  const root = svg('svg', {
    class: 'lt-Scatter',
    viewBox: `0 0 ${width} ${height}`,
    role: 'img',
    'aria-label': trans.__('%1 against %2', yTitle, xTitle)
  });
  const ax = makeAxis(
    xTitle,
    marks.map(m => m.values[0])
  );
  const ay = makeAxis(
    yTitle,
    marks.map(m => m.values[1])
  );
  const x = (t: number) => pad.left + t * (width - pad.left - pad.right);
  const y = (t: number) =>
    height - pad.bottom - t * (height - pad.top - pad.bottom);
  const frame = svg('g', { class: 'lt-Axis' });
  frame.append(
    svg('line', { x1: x(0), x2: x(1), y1: y(0), y2: y(0) }),
    svg('line', { x1: x(0), x2: x(0), y1: y(0), y2: y(1) }),
    svg(
      'text',
      {
        x: (x(0) + x(1)) / 2,
        y: height - 6,
        'text-anchor': 'middle',
        class: 'lt-AxisTitle'
      },
      xTitle
    ),
    svg(
      'text',
      {
        x: 12,
        y: (y(0) + y(1)) / 2,
        'text-anchor': 'middle',
        class: 'lt-AxisTitle',
        transform: `rotate(-90 12 ${(y(0) + y(1)) / 2})`
      },
      yTitle
    )
  );
  for (const tick of ax.ticks) {
    frame.append(
      svg(
        'text',
        {
          x: x(tick.at),
          y: y(0) + 14,
          'text-anchor': 'middle',
          class: 'lt-Tick'
        },
        tick.label
      )
    );
  }
  for (const tick of ay.ticks) {
    frame.append(
      svg(
        'text',
        {
          x: x(0) - 4,
          y: y(tick.at) + 3,
          'text-anchor': 'end',
          class: 'lt-Tick'
        },
        tick.label
      )
    );
  }
  root.append(frame);
  for (const mark of marks) {
    const tx = ax.scale(mark.values[0]);
    const ty = ay.scale(mark.values[1]);
    if (tx === null || ty === null) {
      continue;
    }
    const dot = svg('circle', {
      cx: x(tx).toFixed(1),
      cy: y(ty).toFixed(1),
      r: 5,
      fill: mark.color,
      class: 'lt-Dot'
    });
    dot.append(
      svg(
        'title',
        {},
        `${mark.label}: ${xTitle}=${mark.values[0]}, ${yTitle}=${formatMetric(mark.values[1])}`
      )
    );
    root.append(dot);
  }
  return root;
}
