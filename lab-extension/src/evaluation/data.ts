/**
 * What `lt.evaluate` and `lt.log_input` leave on a run, read in the browser:
 * evaluation metrics (the default evaluator's names, with any
 * `metric_prefix`), the evaluation artifacts, and the run's datasets.
 */

import { IRun } from '../protocol';

/** The default evaluator's metric names (classifier and regressor). */
export const EVALUATION_METRICS = [
  'example_count',
  'accuracy_score',
  'precision_score',
  'recall_score',
  'f1_score',
  'roc_auc',
  'precision_recall_auc',
  'log_loss',
  'true_negatives',
  'false_positives',
  'false_negatives',
  'true_positives',
  'mean_absolute_error',
  'mean_squared_error',
  'root_mean_squared_error',
  'sum_on_target',
  'mean_on_target',
  'r2_score',
  'max_error',
  'mean_absolute_percentage_error'
];

/** The predictions table `lt.evaluate` logs (MLflow's name). */
export const EVAL_TABLE = 'eval_results_table.json';
/** Vega-Lite charts `lt.evaluate` logs next to (or instead of) PNGs. */
export const VEGA_LITE_SUFFIX = '.vl.json';

/**
 * Whether a metric key is one of the evaluator's (optionally prefixed); not
 * autologging's `training_*` scores, which share the names.
 */
export function isEvaluationMetric(key: string): boolean {
  if (key.startsWith('training_')) {
    return false;
  }
  return EVALUATION_METRICS.some(
    name => key === name || key.endsWith(`_${name}`)
  );
}

/** The evaluation metrics of a run, in the evaluator's order then by key. */
export function evaluationMetrics(run: IRun): [string, number][] {
  const found = (run.data.metrics ?? [])
    .filter(m => isEvaluationMetric(m.key))
    .map(m => [m.key, m.value] as [string, number]);
  const rank = (key: string) =>
    EVALUATION_METRICS.findIndex(n => key === n || key.endsWith(`_${n}`));
  return found.sort(
    (a, b) => rank(a[0]) - rank(b[0]) || a[0].localeCompare(b[0])
  );
}

/** The evaluation artifacts among a run's root files. */
export interface IEvaluationFiles {
  table: string | null;
  charts: string[];
  /** PNG plots without a Vega-Lite twin. */
  images: string[];
}

export function evaluationFiles(paths: readonly string[]): IEvaluationFiles {
  const charts = paths.filter(p => p.endsWith(VEGA_LITE_SUFFIX)).sort();
  const stems = new Set(charts.map(p => p.slice(0, -VEGA_LITE_SUFFIX.length)));
  return {
    table: paths.includes(EVAL_TABLE) ? EVAL_TABLE : null,
    charts,
    images: paths
      .filter(
        p => p.toLowerCase().endsWith('.png') && !stems.has(p.slice(0, -4))
      )
      .sort()
  };
}

/** MLflow's `log_table` JSON: `{columns, data}`. */
export interface ITableJSON {
  columns: string[];
  data: unknown[][];
}

export function parseTable(text: string): ITableJSON | null {
  try {
    const value = JSON.parse(text) as ITableJSON;
    if (Array.isArray(value.columns) && Array.isArray(value.data)) {
      return value;
    }
  } catch {
    // not a table
  }
  return null;
}

/* --------------------------------------------------------------- datasets */

export interface IDatasetJSON {
  name: string;
  digest: string;
  source_type?: string;
  source?: string;
  schema?: string;
  profile?: string;
}

export interface IDatasetInput {
  dataset: IDatasetJSON;
  tags?: { key: string; value: string }[];
}

/** A run as `runs/get` answers it, with its inputs (MLflow's shape). */
export interface IRunWithInputs extends IRun {
  inputs?: { dataset_inputs?: IDatasetInput[] };
}

export interface IDatasetView {
  name: string;
  digest: string;
  context: string;
  sourceType: string;
  /** The source's URI (or its JSON when it has none). */
  source: string;
  /** Columns as `name: type` (a tensor schema as its JSON). */
  schema: string[];
  /** Profile entries (`num_rows: 150`). */
  profile: [string, string][];
}

function parseJSON(text: string | undefined): unknown {
  if (!text) {
    return undefined;
  }
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function datasetsOf(run: IRun): IDatasetView[] {
  const inputs = (run as IRunWithInputs).inputs?.dataset_inputs ?? [];
  return inputs.map(input => {
    const ds = input.dataset;
    const source = parseJSON(ds.source);
    let sourceText = ds.source ?? '';
    if (source && typeof source === 'object') {
      const s = source as Record<string, unknown>;
      const uri = s.uri ?? s.url ?? s.path ?? s.table_name;
      if (typeof uri === 'string') {
        sourceText = uri;
      }
    }
    const schema = parseJSON(ds.schema) as Record<string, unknown> | undefined;
    let columns: string[] = [];
    const colspec = schema?.mlflow_colspec;
    if (Array.isArray(colspec)) {
      columns = colspec.map(c => {
        const col = c as Record<string, unknown>;
        return `${String(col.name ?? '')}: ${String(col.type ?? '')}`;
      });
    } else if (schema !== undefined) {
      columns = [typeof schema === 'string' ? schema : JSON.stringify(schema)];
    }
    const profile = parseJSON(ds.profile);
    const profileEntries: [string, string][] =
      profile && typeof profile === 'object'
        ? Object.entries(profile as Record<string, unknown>).map(([k, v]) => [
            k,
            typeof v === 'string' ? v : JSON.stringify(v)
          ])
        : [];
    return {
      name: ds.name,
      digest: ds.digest,
      context:
        input.tags?.find(t => t.key === 'mlflow.data.context')?.value ?? '',
      sourceType: ds.source_type ?? '',
      source: sourceText,
      schema: columns,
      profile: profileEntries
    };
  });
}

/** The search filter for runs that used this dataset (name and digest). */
export function datasetFilter(ds: { name: string; digest: string }): string {
  const quote = (s: string) =>
    `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  return `dataset.name = ${quote(ds.name)} and dataset.digest = ${quote(ds.digest)}`;
}
