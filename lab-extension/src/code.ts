/**
 * "Copy as code": the `lt.search_runs(...)` call that lists the same runs
 * as the runs table (experiments, filter, sort). Pure functions, tested in
 * `test/code.spec.ts`.
 */

/** The table's default order (newest first), as the model fetches runs. */
export const DEFAULT_ORDER_BY = ['attributes.start_time DESC'];

/** A Python string literal (JSON's escapes are valid Python). */
export function pythonString(value: string): string {
  return JSON.stringify(value);
}

/**
 * The `order_by` clause of a table column (`attributes.run_name`,
 * `metrics.loss`, ...), or null when MLflow cannot sort by it (duration).
 */
export function orderByClause(
  column: string,
  ascending: boolean
): string | null {
  const dot = column.indexOf('.');
  const kind = column.slice(0, dot);
  const key = column.slice(dot + 1);
  const direction = ascending ? 'ASC' : 'DESC';
  if (kind === 'attributes') {
    return ['run_name', 'status', 'start_time', 'end_time'].includes(key)
      ? `attributes.${key} ${direction}`
      : null;
  }
  if (kind !== 'metrics' && kind !== 'params' && kind !== 'tags') {
    return null;
  }
  const name = /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)
    ? key
    : '`' + key.replace(/`/g, '') + '`';
  return `${kind}.${name} ${direction}`;
}

/** The `lt.search_runs(...)` call for the table's experiments, filter and sort. */
export function searchRunsCode(
  experimentIds: readonly string[],
  filter: string,
  orderBy: readonly string[],
  runViewType = 'ACTIVE_ONLY'
): string {
  const args = [
    `experiment_ids=[${experimentIds.map(pythonString).join(', ')}]`
  ];
  if (filter.trim()) {
    args.push(`filter_string=${pythonString(filter.trim())}`);
  }
  if (runViewType !== 'ACTIVE_ONLY') {
    args.push(`run_view_type=${pythonString(runViewType)}`);
  }
  args.push(`order_by=[${orderBy.map(pythonString).join(', ')}]`);
  return `lt.search_runs(${args.join(', ')})`;
}
