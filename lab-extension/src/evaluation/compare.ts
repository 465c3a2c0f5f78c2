/**
 * The compare view's "Evaluation" table: each evaluation metric of the
 * compared runs side by side (the best value per metric marked), with the
 * datasets each run was evaluated on.
 */

import { TranslationBundle } from '@jupyterlab/translation';

import { el, formatMetric, runName } from '../dom';
import { IRun } from '../protocol';
import { datasetsOf, evaluationMetrics } from './data';

/** Metrics where lower is better (errors, losses, counts of mistakes). */
const LOWER_IS_BETTER = /(error|loss|false_positives|false_negatives)$/;
/** Counts and sums that are facts of the data, not better or worse. */
const NEUTRAL =
  /(example_count|true_negatives|true_positives|sum_on_target|mean_on_target)$/;

/** The index of the best value of one metric across runs, or -1. */
export function bestIndex(key: string, values: (number | undefined)[]): number {
  if (NEUTRAL.test(key)) {
    return -1;
  }
  const lower = LOWER_IS_BETTER.test(key);
  const defined = values.filter(
    (v): v is number => v !== undefined && Number.isFinite(v)
  );
  if (defined.length < 2) {
    return -1;
  }
  const target = lower ? Math.min(...defined) : Math.max(...defined);
  // Only a single best value is marked: a tie is no one's win.
  const winners = values.filter(v => v === target).length;
  return winners === 1 ? values.indexOf(target) : -1;
}

export class EvaluationCompare {
  constructor(private _trans: TranslationBundle) {
    this.node = el(
      'section',
      'lt-CompareSection lt-CompareEvaluation',
      undefined,
      {
        'aria-label': _trans.__('Evaluation')
      }
    );
    this.node.hidden = true;
  }

  readonly node: HTMLElement;

  render(runs: readonly IRun[], colors: (i: number) => string): void {
    const trans = this._trans;
    const perRun = runs.map(r => new Map(evaluationMetrics(r)));
    const keys = [...new Set(perRun.flatMap(m => [...m.keys()]))];
    const sortedKeys = runs.flatMap(r => evaluationMetrics(r).map(([k]) => k));
    const order = [...new Set(sortedKeys)].filter(k => keys.includes(k));
    this.node.hidden = order.length === 0;
    if (order.length === 0) {
      this.node.replaceChildren();
      return;
    }
    const table = el('table', 'lt-SideBySide lt-EvalCompare', undefined, {
      'aria-label': trans.__('Evaluation metrics side by side')
    });
    const head = el('tr');
    head.append(el('th', '', trans.__('Metric'), { scope: 'col' }));
    runs.forEach((run, i) => {
      const th = el('th', '', runName(run), { scope: 'col' });
      th.style.borderTop = `3px solid ${colors(i)}`;
      head.append(th);
    });
    const thead = el('thead');
    thead.append(head);
    const body = el('tbody');
    const datasets = runs.map(r =>
      datasetsOf(r)
        .map(d => `${d.name}@${d.digest}${d.context ? ` (${d.context})` : ''}`)
        .join(', ')
    );
    if (datasets.some(Boolean)) {
      const row = el('tr', 'lt-kind-attr');
      row.append(el('th', '', trans.__('Datasets'), { scope: 'row' }));
      for (const d of datasets) {
        row.append(el('td', '', d));
      }
      body.append(row);
    }
    for (const key of order) {
      const values = perRun.map(m => m.get(key));
      const best = bestIndex(key, values);
      const row = el('tr', 'lt-kind-metrics', undefined, {
        'data-eval-metric': key
      });
      row.append(el('th', '', key, { scope: 'row' }));
      values.forEach((v, i) => {
        const td = el(
          'td',
          i === best ? 'lt-mod-best' : '',
          v === undefined ? '' : formatMetric(v)
        );
        if (i === best) {
          td.title = trans.__('best');
        }
        row.append(td);
      });
      body.append(row);
    }
    table.append(thead, body);
    const box = el('div', 'lt-SideBySideBox');
    box.append(table);
    this.node.replaceChildren(
      el('h3', 'lt-SectionHeading', trans.__('Evaluation')),
      box
    );
  }
}
