/**
 * The compare view's box and contour plots as data and Vega-Lite specs
 * (pure functions; the view renders them with vega-embed): a box plot of a
 * metric or param grouped by a param or per run over its history, and a
 * contour of a metric over two numeric params (an inverse-distance grid,
 * its isolines by marching squares, the runs on top). Colors are the runs'
 * positions among the compared runs, as everywhere in the compare view.
 */

import { columnValue, runName, seriesColor } from './dom';
import { IRun } from './protocol';

/** A Vega-Lite spec (plain JSON). */
export type VegaLiteSpec = Record<string, unknown>;

/** A compared run and its color position. */
export interface IPlotRun {
  readonly run: IRun;
  readonly index: number;
}

/** A run's field (`metrics.x` or `params.y`) as a finite number, or null. */
export function numericValue(run: IRun, field: string): number | null {
  const value = columnValue(run, field);
  if (value === undefined || value === '') {
    return null;
  }
  const n = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(n) ? n : null;
}

/**
 * True when every run that has the field has a number there (at least one
 * run has it): the field can be a quantitative axis.
 */
export function isNumericField(runs: readonly IRun[], field: string): boolean {
  let seen = false;
  for (const run of runs) {
    const value = columnValue(run, field);
    if (value === undefined || value === '') {
      continue;
    }
    seen = true;
    if (numericValue(run, field) === null) {
      return false;
    }
  }
  return seen;
}

/** The label of a field key (`params.lr` -> `lr`). */
export function fieldLabel(field: string): string {
  return field.slice(field.indexOf('.') + 1);
}

/* --------------------------------------------------------------- box plot */

/** One value of the box plot: a run's value in its group. */
export interface IBoxPoint {
  readonly runId: string;
  readonly run: string;
  readonly color: string;
  readonly group: string;
  readonly value: number;
}

export interface IBoxData {
  readonly points: IBoxPoint[];
  /** The groups in axis order (numbers ascending, then text, then none). */
  readonly groups: string[];
  /** Names of runs left out: no numeric value to plot. */
  readonly missing: string[];
}

/** The group name of runs without the group-by param. */
export const NO_GROUP = '(not set)';

function compareGroups(a: string, b: string): number {
  if (a === NO_GROUP || b === NO_GROUP) {
    return a === b ? 0 : a === NO_GROUP ? 1 : -1;
  }
  const x = Number(a);
  const y = Number(b);
  const xn = a.trim() !== '' && Number.isFinite(x);
  const yn = b.trim() !== '' && Number.isFinite(y);
  if (xn && yn) {
    return x - y;
  }
  if (xn !== yn) {
    return xn ? -1 : 1;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A metric or param of each run, grouped by a param's value (runs without
 * the param form the group `NO_GROUP`; runs without a numeric value are
 * listed in `missing`).
 */
export function groupedBoxData(
  runs: readonly IPlotRun[],
  valueField: string,
  groupField: string
): IBoxData {
  const points: IBoxPoint[] = [];
  const missing: string[] = [];
  for (const { run, index } of runs) {
    const value = numericValue(run, valueField);
    if (value === null) {
      missing.push(runName(run));
      continue;
    }
    const group = columnValue(run, groupField);
    points.push({
      runId: run.info.run_id,
      run: runName(run),
      color: seriesColor(index),
      group: group === undefined ? NO_GROUP : String(group),
      value
    });
  }
  const groups = [...new Set(points.map(p => p.group))].sort(compareGroups);
  return { points, groups, missing };
}

/** A run's metric history (the values, e.g. a downsampled series). */
export interface IRunHistory extends IPlotRun {
  readonly values: readonly number[];
}

/**
 * One box per run over the values it logged for a metric (its history);
 * runs without a finite value are listed in `missing`.
 */
export function historyBoxData(histories: readonly IRunHistory[]): IBoxData {
  const points: IBoxPoint[] = [];
  const missing: string[] = [];
  const groups: string[] = [];
  for (const { run, index, values } of histories) {
    const name = runName(run);
    const finite = values.filter(v => Number.isFinite(v));
    if (finite.length === 0) {
      missing.push(name);
      continue;
    }
    // Two runs may share a name: the group is the name, made unique.
    let group = name;
    for (let n = 2; groups.includes(group); n++) {
      group = `${name} (${n})`;
    }
    groups.push(group);
    for (const value of finite) {
      points.push({
        runId: run.info.run_id,
        run: name,
        color: seriesColor(index),
        group,
        value
      });
    }
  }
  return { points, groups, missing };
}

/** Colors of the theme the plot is drawn on (resolved CSS colors). */
export interface IPlotTheme {
  /** Text and the median line. */
  readonly text: string;
  /** The outline of the run dots (the page background). */
  readonly background: string;
}

export interface IBoxLabels {
  readonly value: string;
  readonly group: string;
  readonly run: string;
}

/**
 * The box plot: a box per group (quartiles, 1.5 IQR whiskers) and each
 * value as a dot in its run's color, with the run's name on hover. Per
 * run (`colorBoxes`), the boxes take the runs' colors.
 */
export function boxPlotSpec(
  data: IBoxData,
  labels: IBoxLabels,
  colorBoxes: boolean,
  theme: IPlotTheme
): VegaLiteSpec {
  const x = {
    field: 'group',
    type: 'nominal',
    title: labels.group,
    sort: data.groups,
    axis: { labelAngle: data.groups.some(g => g.length > 8) ? -30 : 0 }
  };
  const y = {
    field: 'value',
    type: 'quantitative',
    title: labels.value,
    scale: { zero: false }
  };
  const boxColor = colorBoxes
    ? {
        color: {
          field: 'group',
          type: 'nominal',
          scale: {
            domain: data.groups,
            range: data.groups.map(
              g => data.points.find(p => p.group === g)?.color ?? '#888'
            )
          },
          legend: null
        }
      }
    : { color: { value: theme.text } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: {
      step: Math.max(40, Math.min(90, 560 / (data.groups.length || 1)))
    },
    height: 260,
    data: { values: data.points },
    layer: [
      {
        mark: {
          type: 'boxplot',
          extent: 1.5,
          size: 26,
          box: { opacity: colorBoxes ? 0.5 : 0.22 },
          median: { stroke: theme.text, strokeWidth: 2 },
          rule: { stroke: theme.text },
          outliers: false
        },
        encoding: { x, y, ...boxColor }
      },
      {
        mark: { type: 'point', filled: true, size: 50, opacity: 0.95 },
        encoding: {
          x,
          y,
          fill: { field: 'color', type: 'nominal', scale: null },
          stroke: { value: theme.background },
          strokeWidth: { value: 0.8 },
          tooltip: [
            { field: 'run', type: 'nominal', title: labels.run },
            { field: 'group', type: 'nominal', title: labels.group },
            { field: 'value', type: 'quantitative', title: labels.value }
          ]
        }
      }
    ]
  };
}

/* ---------------------------------------------------------------- contour */

/** A run placed on the contour: its two params and the metric. */
export interface IContourPoint {
  readonly runId: string;
  readonly run: string;
  readonly color: string;
  readonly x: number;
  readonly y: number;
  readonly z: number;
}

/** Why a contour cannot be drawn. */
export type ContourProblem =
  | { readonly kind: 'same-axis' }
  | {
      readonly kind: 'not-numeric';
      readonly field: string;
      readonly examples: string[];
    }
  | { readonly kind: 'too-few'; readonly distinct: number }
  | { readonly kind: 'flat-axis'; readonly field: string };

/** A grid of interpolated values: `z[j][i]` at (`xs[i]`, `ys[j]`). */
export interface IGrid {
  readonly xs: number[];
  readonly ys: number[];
  readonly z: number[][];
}

/** One isoline segment (marching squares), in data units. */
export interface ISegment {
  readonly x: number;
  readonly y: number;
  readonly x2: number;
  readonly y2: number;
  readonly level: number;
}

export interface IContour {
  readonly points: IContourPoint[];
  readonly grid: IGrid;
  readonly levels: number[];
  readonly segments: ISegment[];
  readonly logX: boolean;
  readonly logY: boolean;
  /** Names of runs left out (a param or the metric missing). */
  readonly missing: string[];
}

export type ContourResult =
  | { readonly ok: true; readonly contour: IContour }
  | {
      readonly ok: false;
      readonly problem: ContourProblem;
      readonly missing: string[];
    };

/** Minimum distinct (x, y) positions for a contour. */
export const MIN_CONTOUR_POINTS = 3;

/** Grid cells per axis. */
export const CONTOUR_GRID = 24;

/** A log axis when every value is positive and they span 2+ decades. */
export function wantsLogAxis(values: readonly number[]): boolean {
  if (values.length === 0 || values.some(v => v <= 0)) {
    return false;
  }
  return Math.max(...values) / Math.min(...values) >= 100;
}

function textExamples(runs: readonly IPlotRun[], field: string): string[] {
  const texts = new Set<string>();
  for (const { run } of runs) {
    const value = columnValue(run, field);
    if (
      value !== undefined &&
      value !== '' &&
      numericValue(run, field) === null
    ) {
      texts.add(String(value));
    }
  }
  return [...texts].slice(0, 3);
}

/**
 * Inverse-distance-weighted values (power 2) on an n x n grid over the
 * points' range, in axis units (log10 on a log axis, each axis scaled to
 * 0..1): smooth between the runs, equal to a run's value at its position.
 */
export function idwGrid(
  points: readonly { x: number; y: number; z: number }[],
  n: number,
  logX = false,
  logY = false
): IGrid {
  const fx = (v: number) => (logX ? Math.log10(v) : v);
  const fy = (v: number) => (logY ? Math.log10(v) : v);
  const px = points.map(p => fx(p.x));
  const py = points.map(p => fy(p.y));
  const [x0, x1] = [Math.min(...px), Math.max(...px)];
  const [y0, y1] = [Math.min(...py), Math.max(...py)];
  const sx = x1 - x0 || 1;
  const sy = y1 - y0 || 1;
  const gx: number[] = [];
  const gy: number[] = [];
  for (let i = 0; i < n; i++) {
    gx.push(x0 + ((x1 - x0) * i) / (n - 1));
    gy.push(y0 + ((y1 - y0) * i) / (n - 1));
  }
  const z = gy.map(yv =>
    gx.map(xv => {
      let num = 0;
      let den = 0;
      for (let k = 0; k < points.length; k++) {
        const dx = (xv - px[k]) / sx;
        const dy = (yv - py[k]) / sy;
        const d2 = dx * dx + dy * dy;
        if (d2 < 1e-18) {
          return points[k].z;
        }
        num += points[k].z / d2;
        den += 1 / d2;
      }
      return num / den;
    })
  );
  const ux = (v: number) => (logX ? Math.pow(10, v) : v);
  const uy = (v: number) => (logY ? Math.pow(10, v) : v);
  return { xs: gx.map(ux), ys: gy.map(uy), z };
}

/** `count` evenly spaced levels strictly inside the grid's value range. */
export function contourLevels(grid: IGrid, count = 6): number[] {
  const flat = grid.z.flat();
  const lo = Math.min(...flat);
  const hi = Math.max(...flat);
  if (!(hi > lo)) {
    return [];
  }
  return Array.from(
    { length: count },
    (_, i) => lo + ((hi - lo) * (i + 1)) / (count + 1)
  );
}

/**
 * The isolines of the grid at `levels` as segments (marching squares;
 * positions interpolated linearly along the cell edges, in axis units).
 */
export function isolines(
  grid: IGrid,
  levels: readonly number[],
  logX = false,
  logY = false
): ISegment[] {
  const fx = (v: number) => (logX ? Math.log10(v) : v);
  const fy = (v: number) => (logY ? Math.log10(v) : v);
  const ux = (v: number) => (logX ? Math.pow(10, v) : v);
  const uy = (v: number) => (logY ? Math.pow(10, v) : v);
  const segments: ISegment[] = [];
  const { xs, ys, z } = grid;
  for (const level of levels) {
    for (let j = 0; j + 1 < ys.length; j++) {
      for (let i = 0; i + 1 < xs.length; i++) {
        // Corners counter-clockwise from bottom-left.
        const corners: [number, number, number][] = [
          [fx(xs[i]), fy(ys[j]), z[j][i]],
          [fx(xs[i + 1]), fy(ys[j]), z[j][i + 1]],
          [fx(xs[i + 1]), fy(ys[j + 1]), z[j + 1][i + 1]],
          [fx(xs[i]), fy(ys[j + 1]), z[j + 1][i]]
        ];
        const crossings: [number, number][] = [];
        for (let e = 0; e < 4; e++) {
          const [ax, ay, av] = corners[e];
          const [bx, by, bv] = corners[(e + 1) % 4];
          if (av < level !== bv < level) {
            const t = (level - av) / (bv - av);
            crossings.push([ax + (bx - ax) * t, ay + (by - ay) * t]);
          }
        }
        // 2 crossings: one segment; 4 (a saddle): pair them in edge order.
        for (let c = 0; c + 1 < crossings.length; c += 2) {
          const [a, b] = [crossings[c], crossings[c + 1]];
          segments.push({
            x: ux(a[0]),
            y: uy(a[1]),
            x2: ux(b[0]),
            y2: uy(b[1]),
            level
          });
        }
      }
    }
  }
  return segments;
}

/**
 * The contour of `zField` over two params of the runs, or why there is
 * none: the same param twice, a param with text values, fewer than
 * `MIN_CONTOUR_POINTS` distinct positions, or one value on an axis.
 * Runs at the same position are averaged into the grid.
 */
export function contourData(
  runs: readonly IPlotRun[],
  xField: string,
  yField: string,
  zField: string
): ContourResult {
  const missing: string[] = [];
  if (xField === yField) {
    return { ok: false, problem: { kind: 'same-axis' }, missing };
  }
  for (const field of [xField, yField]) {
    const examples = textExamples(runs, field);
    if (examples.length > 0) {
      return {
        ok: false,
        problem: { kind: 'not-numeric', field, examples },
        missing
      };
    }
  }
  const points: IContourPoint[] = [];
  for (const { run, index } of runs) {
    const x = numericValue(run, xField);
    const y = numericValue(run, yField);
    const z = numericValue(run, zField);
    if (x === null || y === null || z === null) {
      missing.push(runName(run));
      continue;
    }
    points.push({
      runId: run.info.run_id,
      run: runName(run),
      color: seriesColor(index),
      x,
      y,
      z
    });
  }
  // Average the runs at one position (repeated trials).
  const byPosition = new Map<string, { x: number; y: number; zs: number[] }>();
  for (const p of points) {
    const key = `${p.x},${p.y}`;
    const at = byPosition.get(key) ?? { x: p.x, y: p.y, zs: [] };
    at.zs.push(p.z);
    byPosition.set(key, at);
  }
  const distinct = [...byPosition.values()].map(p => ({
    x: p.x,
    y: p.y,
    z: p.zs.reduce((a, b) => a + b, 0) / p.zs.length
  }));
  if (distinct.length < MIN_CONTOUR_POINTS) {
    return {
      ok: false,
      problem: { kind: 'too-few', distinct: distinct.length },
      missing
    };
  }
  for (const [field, axis] of [
    [xField, 'x'],
    [yField, 'y']
  ] as const) {
    if (new Set(distinct.map(p => p[axis])).size < 2) {
      return { ok: false, problem: { kind: 'flat-axis', field }, missing };
    }
  }
  const logX = wantsLogAxis(distinct.map(p => p.x));
  const logY = wantsLogAxis(distinct.map(p => p.y));
  const grid = idwGrid(distinct, CONTOUR_GRID, logX, logY);
  const levels = contourLevels(grid);
  const segments = isolines(grid, levels, logX, logY);
  return {
    ok: true,
    contour: { points, grid, levels, segments, logX, logY, missing }
  };
}

/** The grid as cells (x..x2, y..y2 around each grid node) for rect marks. */
export function gridCells(
  grid: IGrid,
  logX: boolean,
  logY: boolean
): { x: number; x2: number; y: number; y2: number; z: number }[] {
  const edges = (values: number[], log: boolean): number[] => {
    const f = (v: number) => (log ? Math.log10(v) : v);
    const u = (v: number) => (log ? Math.pow(10, v) : v);
    const t = values.map(f);
    const out = [t[0] - (t[1] - t[0]) / 2];
    for (let i = 0; i + 1 < t.length; i++) {
      out.push((t[i] + t[i + 1]) / 2);
    }
    out.push(t[t.length - 1] + (t[t.length - 1] - t[t.length - 2]) / 2);
    return out.map(u);
  };
  const ex = edges(grid.xs, logX);
  const ey = edges(grid.ys, logY);
  const cells: { x: number; x2: number; y: number; y2: number; z: number }[] =
    [];
  grid.ys.forEach((_, j) =>
    grid.xs.forEach((__, i) =>
      cells.push({
        x: ex[i],
        x2: ex[i + 1],
        y: ey[j],
        y2: ey[j + 1],
        z: grid.z[j][i]
      })
    )
  );
  return cells;
}

export interface IContourLabels {
  readonly x: string;
  readonly y: string;
  readonly z: string;
  readonly run: string;
}

/**
 * The contour plot: the interpolated metric as a colored field (viridis,
 * readable on light and dark), its isolines, and each run as a dot in its
 * color with its name, params and metric on hover.
 */
export function contourSpec(
  contour: IContour,
  labels: IContourLabels
): VegaLiteSpec {
  const cells = gridCells(contour.grid, contour.logX, contour.logY);
  const xDomain = [cells[0].x, cells[cells.length - 1].x2];
  const yDomain = [cells[0].y, cells[cells.length - 1].y2];
  const xScale = {
    type: contour.logX ? 'log' : 'linear',
    domain: xDomain,
    nice: false,
    zero: false
  };
  const yScale = {
    type: contour.logY ? 'log' : 'linear',
    domain: yDomain,
    nice: false,
    zero: false
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: 420,
    height: 300,
    layer: [
      {
        data: { values: cells },
        mark: { type: 'rect' },
        encoding: {
          x: {
            field: 'x',
            type: 'quantitative',
            title: labels.x,
            scale: xScale,
            axis: { grid: false }
          },
          x2: { field: 'x2' },
          y: {
            field: 'y',
            type: 'quantitative',
            title: labels.y,
            scale: yScale,
            axis: { grid: false }
          },
          y2: { field: 'y2' },
          color: {
            field: 'z',
            type: 'quantitative',
            title: labels.z,
            scale: { scheme: 'viridis' }
          }
        }
      },
      {
        data: { values: contour.segments },
        mark: { type: 'rule', strokeWidth: 1, opacity: 0.55 },
        encoding: {
          x: { field: 'x', type: 'quantitative' },
          y: { field: 'y', type: 'quantitative' },
          x2: { field: 'x2' },
          y2: { field: 'y2' },
          color: { value: '#ffffff' }
        }
      },
      {
        data: { values: contour.points },
        mark: { type: 'point', filled: true, size: 110, opacity: 1 },
        encoding: {
          x: { field: 'x', type: 'quantitative' },
          y: { field: 'y', type: 'quantitative' },
          fill: { field: 'color', type: 'nominal', scale: null },
          stroke: { value: '#ffffff' },
          strokeWidth: { value: 1.5 },
          tooltip: [
            { field: 'run', type: 'nominal', title: labels.run },
            { field: 'x', type: 'quantitative', title: labels.x },
            { field: 'y', type: 'quantitative', title: labels.y },
            { field: 'z', type: 'quantitative', title: labels.z }
          ]
        }
      }
    ]
  };
}
