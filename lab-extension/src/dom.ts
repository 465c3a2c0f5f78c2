/**
 * Small DOM helpers shared by the views. Server strings are always written
 * with `textContent` or attributes, never parsed as HTML.
 */

import { IRun } from './protocol';

export type Attrs = Record<string, string | undefined>;

/** Create an element with a class, text content and attributes. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className = '',
  text?: string,
  attrs: Attrs = {}
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== undefined) {
      node.setAttribute(name, value);
    }
  }
  return node;
}

/** A styled JupyterLab button. */
export function button(
  text: string,
  onClick: (event: MouseEvent) => void,
  className = '',
  attrs: Attrs = {}
): HTMLButtonElement {
  const node = el('button', `jp-Button jp-mod-styled ${className}`, text, {
    type: 'button',
    ...attrs
  });
  node.addEventListener('click', onClick);
  return node;
}

const numberFormat = new Intl.NumberFormat(undefined, {
  maximumSignificantDigits: 5
});

/** Format a metric value compactly, keeping tiny and huge values readable. */
export function formatMetric(
  value: number | string | null | undefined
): string {
  if (value === null || value === undefined) {
    return '';
  }
  const v = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(v)) {
    return String(value);
  }
  if (v !== 0 && (Math.abs(v) < 1e-4 || Math.abs(v) >= 1e7)) {
    return v.toExponential(3);
  }
  return numberFormat.format(v);
}

/** Format an epoch-millisecond timestamp in the user's locale. */
export function formatTime(ms: number | undefined): string {
  if (!ms) {
    return '';
  }
  return new Date(ms).toLocaleString();
}

/** Format a duration in milliseconds as e.g. `4.2 s`, `3 min 5 s`, `2 h 1 min`. */
export function formatDuration(ms: number): string {
  if (ms < 0) {
    return '';
  }
  if (ms < 1000) {
    return `${ms} ms`;
  }
  const s = ms / 1000;
  if (s < 60) {
    return `${s.toFixed(1)} s`;
  }
  const min = Math.floor(s / 60);
  if (min < 60) {
    return `${min} min ${Math.round(s % 60)} s`;
  }
  return `${Math.floor(min / 60)} h ${min % 60} min`;
}

export function runDuration(run: IRun): string {
  const { start_time, end_time, status } = run.info;
  if (!start_time) {
    return '';
  }
  if (!end_time) {
    return status === 'RUNNING'
      ? `running ${formatDuration(Date.now() - start_time)}`
      : '';
  }
  return formatDuration(end_time - start_time);
}

export function runName(run: IRun): string {
  return run.info.run_name || run.info.run_id;
}

/** A status badge (`lt-StatusBadge lt-status-running`, ...). */
export function statusBadge(status: string): HTMLElement {
  return el(
    'span',
    `lt-StatusBadge lt-status-${String(status).toLowerCase()}`,
    status
  );
}

/** The value of a column id (`params.lr`, `metrics.loss`, `tags.x`). */
export function columnValue(
  run: IRun,
  column: string
): string | number | undefined {
  const dot = column.indexOf('.');
  const kind = column.slice(0, dot);
  const key = column.slice(dot + 1);
  switch (kind) {
    case 'params':
      return run.data.params?.find(p => p.key === key)?.value;
    case 'metrics': {
      const m = run.data.metrics?.find(x => x.key === key);
      return m === undefined ? undefined : m.value;
    }
    case 'tags':
      return run.data.tags?.find(t => t.key === key)?.value;
    default:
      return undefined;
  }
}

export function tagValue(run: IRun, key: string): string | undefined {
  return run.data.tags?.find(t => t.key === key)?.value;
}

/** A categorical color per index, from JupyterLab-friendly hues. */
const PALETTE = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf'
];

export function seriesColor(index: number): string {
  if (index < PALETTE.length) {
    return PALETTE[index];
  }
  const hue = (index * 137.508) % 360;
  return `hsl(${hue.toFixed(0)}, 60%, 50%)`;
}
