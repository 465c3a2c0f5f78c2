/**
 * CSV downloads: the runs table (its visible columns, in its current order)
 * and a chart's metric data. RFC 4180 quoting; numbers are written in full
 * (not as the table formats them), times as ISO 8601 UTC.
 * Pure functions except `downloadText`, tested in `test/csv.spec.ts`.
 */

import { IMetricSeries, IRun, metricNumber } from './protocol';
import { columnValue, runName } from './dom';

/** One CSV field: quoted when it holds a comma, quote or line break. */
export function csvField(value: string | number | undefined | null): string {
  if (value === undefined || value === null) {
    return '';
  }
  const text = String(value);
  // A leading = + - @ makes spreadsheets run a formula: quote it as text.
  const formula =
    /^[=+\-@\t\r]/.test(text) && !/^-?[\d.]+(e-?\d+)?$/i.test(text);
  if (formula || /[",\r\n]/.test(text)) {
    return '"' + (formula ? "'" : '') + text.replace(/"/g, '""') + '"';
  }
  return text;
}

/** Rows to CSV text (CRLF line ends, as RFC 4180 has them). */
export function toCSV(
  rows: readonly (readonly (string | number | undefined)[])[]
): string {
  return rows.map(row => row.map(csvField).join(',')).join('\r\n') + '\r\n';
}

function isoTime(ms: number | undefined): string {
  return ms === undefined || ms === null ? '' : new Date(ms).toISOString();
}

/**
 * The runs table as CSV: run name, id, status, start and end time, then the
 * chosen `metrics.*`, `params.*`, `tags.*` columns, one row per run in the
 * order given.
 */
export function runsCSV(
  runs: readonly IRun[],
  columns: readonly string[]
): string {
  const header = [
    'run_name',
    'run_id',
    'experiment_id',
    'status',
    'lifecycle_stage',
    'start_time',
    'end_time',
    ...columns
  ];
  const rows = runs.map(run => [
    runName(run),
    run.info.run_id,
    run.info.experiment_id,
    run.info.status,
    run.info.lifecycle_stage ?? 'active',
    isoTime(run.info.start_time),
    isoTime(run.info.end_time),
    ...columns.map(column => {
      const value = columnValue(run, column);
      return value === undefined ? undefined : value;
    })
  ]);
  return toCSV([header, ...rows]);
}

/**
 * Metric histories as CSV in MLflow's long form: one row per point with the
 * run, metric key, step, timestamp (ms) and value ("NaN", "Infinity" kept).
 */
export function metricCSV(
  series: readonly IMetricSeries[],
  runNames: ReadonlyMap<string, string>
): string {
  const rows: (string | number)[][] = [
    ['run_id', 'run_name', 'key', 'step', 'timestamp', 'value']
  ];
  for (const s of series) {
    const name = runNames.get(s.run_id) ?? '';
    for (let i = 0; i < s.steps.length; i++) {
      const value = metricNumber(s.values[i]);
      rows.push([
        s.run_id,
        name,
        s.key,
        s.steps[i],
        s.timestamps[i],
        Number.isFinite(value) ? value : String(s.values[i])
      ]);
    }
  }
  return toCSV(rows);
}

/** A file name from free text: letters, digits, `._-` only. */
export function safeFileName(text: string, fallback = 'labtrack'): string {
  const name = text.replace(/[^\w.-]+/g, '_').replace(/^_+|_+$/g, '');
  return name || fallback;
}

/** Save text as a file through the browser (a download). */
export function downloadText(
  text: string,
  fileName: string,
  type = 'text/csv'
): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  link.style.display = 'none';
  document.body.append(link);
  link.click();
  link.remove();
  // Revoked later: some browsers read the URL after click() returns.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
