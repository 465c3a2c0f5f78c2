/**
 * The run's parameters and latest metrics as key/value tables (the tags
 * are in `tagedit.ts`, editable).
 */

import { TranslationBundle } from '@jupyterlab/translation';

import { IRun } from '../protocol';
import { el, formatMetric } from '../dom';

type Rows = [string, string][];

function byKey(rows: Rows): Rows {
  return rows.sort((a, b) => a[0].localeCompare(b[0]));
}

export class RunDataTables {
  constructor(private _trans: TranslationBundle) {
    this.params = el('section', 'lt-Section');
    this.metrics = el('section', 'lt-Section');
  }

  readonly params: HTMLElement;
  readonly metrics: HTMLElement;

  render(run: IRun): void {
    const trans = this._trans;
    const params = byKey(
      (run.data.params ?? []).map(p => [p.key, p.value] as [string, string])
    );
    const metrics = byKey(
      (run.data.metrics ?? []).map(
        m =>
          [m.key, trans.__('%1  (step %2)', formatMetric(m.value), m.step)] as [
            string,
            string
          ]
      )
    );
    this.params.replaceChildren(
      ...this._table(
        trans.__('Parameters'),
        trans.__('Parameters (%1)', params.length),
        params,
        'data-param'
      )
    );
    this.metrics.replaceChildren(
      ...this._table(
        trans.__('Metrics'),
        trans.__('Metrics (%1)', metrics.length),
        metrics,
        'data-metric-latest'
      )
    );
  }

  private _table(
    title: string,
    heading: string,
    rows: Rows,
    attr: string
  ): HTMLElement[] {
    const head = el('h3', 'lt-SectionHeading', heading);
    if (rows.length === 0) {
      return [head, el('p', 'lt-Empty', this._trans.__('None.'))];
    }
    const table = el('table', 'lt-KVTable', undefined, { 'aria-label': title });
    const body = el('tbody');
    for (const [key, value] of rows) {
      const tr = el('tr');
      tr.append(
        el('th', '', key, { scope: 'row' }),
        el('td', '', value, { [attr]: key })
      );
      body.append(tr);
    }
    table.append(body);
    return [head, table];
  }
}
