/**
 * The run page's "Evaluation" section (the evaluator's metrics, its
 * Vega-Lite charts rendered offline, PNG plots, the per-row predictions
 * table) and "Datasets" section (name, digest, context, source, schema,
 * profile, and the runs that used the same dataset).
 */

import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { TranslationBundle } from '@jupyterlab/translation';
import { IDisposable } from '@lumino/disposable';

import { button, el, formatMetric } from '../dom';
import { IRun } from '../protocol';
import { ILabtrackModel } from '../tokens';
import { VEGALITE6_MIME_TYPE } from '../vega';
import { datasetFilter, datasetsOf, evaluationMetrics } from './data';
import { EvaluationModel } from './model';

/** The predictions table shows this many rows. */
const MAX_TABLE_ROWS = 100;

export class EvaluationSection implements IDisposable {
  constructor(
    private _trans: TranslationBundle,
    private _rendermime: IRenderMimeRegistry | null
  ) {
    this.node = el('section', 'lt-Section lt-EvaluationSection', undefined, {
      'aria-label': _trans.__('Evaluation')
    });
    this.node.hidden = true;
    this._model.changed.connect(this._renderArtifacts, this);
  }

  readonly node: HTMLElement;

  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._model.changed.disconnect(this._renderArtifacts, this);
    this._clearRendered();
  }

  render(run: IRun): void {
    this._run = run;
    this._renderMetrics();
    void this._model.load(run);
  }

  private _renderMetrics(): void {
    const run = this._run;
    const trans = this._trans;
    const metrics = run ? evaluationMetrics(run) : [];
    if (metrics.length === 0) {
      this._metrics.replaceChildren();
      this._updateVisibility();
      return;
    }
    const table = el('table', 'lt-KVTable lt-EvalMetrics', undefined, {
      'aria-label': trans.__('Evaluation metrics')
    });
    const body = el('tbody');
    for (const [key, value] of metrics) {
      const tr = el('tr');
      tr.append(
        el('th', '', key, { scope: 'row' }),
        el('td', '', formatMetric(value), { 'data-eval-metric': key })
      );
      body.append(tr);
    }
    table.append(body);
    this._metrics.replaceChildren(table);
    this._updateVisibility();
  }

  private _renderArtifacts(): void {
    const trans = this._trans;
    const state = this._model.state;
    this._clearRendered();
    const parts: HTMLElement[] = [];
    if (state.error) {
      parts.push(
        el(
          'div',
          'lt-error',
          trans.__('Could not load the evaluation artifacts: %1', state.error),
          {
            role: 'alert'
          }
        )
      );
    }
    if (state.charts.size + state.images.size > 0) {
      const grid = el('div', 'lt-EvalCharts');
      for (const [path, spec] of state.charts) {
        const figure = el('figure', 'lt-EvalChart', undefined, {
          'data-artifact': path
        });
        const title = path.replace(/\.vl\.json$/, '');
        figure.append(el('figcaption', 'lt-ChartTitle', title));
        const box = el('div', 'lt-EvalChartBody');
        figure.append(box);
        grid.append(figure);
        if (this._rendermime?.mimeTypes.includes(VEGALITE6_MIME_TYPE)) {
          const renderer = this._rendermime.createRenderer(VEGALITE6_MIME_TYPE);
          box.append(renderer.node);
          this._rendered.push(renderer);
          void renderer.renderModel(
            this._rendermime.createModel({
              data: { [VEGALITE6_MIME_TYPE]: spec },
              trusted: true
            })
          );
        } else {
          box.append(
            el('p', 'lt-Empty', trans.__('No Vega-Lite renderer available.'))
          );
        }
      }
      for (const [path, blob] of state.images) {
        const figure = el('figure', 'lt-EvalChart', undefined, {
          'data-artifact': path
        });
        figure.append(
          el('figcaption', 'lt-ChartTitle', path.replace(/\.png$/i, ''))
        );
        const url = URL.createObjectURL(
          new Blob([blob], { type: 'image/png' })
        );
        this._urls.push(url);
        figure.append(
          el('img', 'lt-EvalImage', undefined, { src: url, alt: path })
        );
        grid.append(figure);
      }
      parts.push(grid);
    }
    const table = state.table;
    if (table) {
      const shown = table.data.slice(0, MAX_TABLE_ROWS);
      parts.push(
        el(
          'h4',
          'lt-SectionHeading',
          table.data.length > shown.length
            ? trans.__(
                'Predictions (first %1 of %2 rows)',
                shown.length,
                table.data.length
              )
            : trans.__('Predictions (%1 rows)', table.data.length)
        )
      );
      const box = el('div', 'lt-EvalTableBox');
      const t = el('table', 'lt-CsvTable lt-EvalTable', undefined, {
        'aria-label': trans.__('Predictions')
      });
      const head = el('tr');
      for (const c of table.columns) {
        head.append(el('th', '', String(c), { scope: 'col' }));
      }
      const thead = el('thead');
      thead.append(head);
      const body = el('tbody');
      for (const row of shown) {
        const tr = el('tr');
        for (const value of row) {
          tr.append(
            el(
              'td',
              '',
              typeof value === 'number'
                ? formatMetric(value)
                : String(value ?? '')
            )
          );
        }
        body.append(tr);
      }
      t.append(thead, body);
      box.append(t);
      parts.push(box);
    }
    this._artifacts.replaceChildren(...parts);
    this._updateVisibility();
  }

  private _updateVisibility(): void {
    const trans = this._trans;
    const has =
      this._metrics.childElementCount > 0 ||
      this._artifacts.childElementCount > 0;
    this.node.hidden = !has;
    if (has && !this.node.contains(this._metrics)) {
      this.node.replaceChildren(
        el('h3', 'lt-SectionHeading', trans.__('Evaluation')),
        this._metrics,
        this._artifacts
      );
    }
  }

  private _clearRendered(): void {
    for (const r of this._rendered) {
      r.dispose();
    }
    this._rendered = [];
    for (const url of this._urls) {
      URL.revokeObjectURL(url);
    }
    this._urls = [];
  }

  private _model = new EvaluationModel();
  private _run: IRun | null = null;
  private _metrics = el('div', 'lt-EvalMetricsBox');
  private _artifacts = el('div', 'lt-EvalArtifacts');
  private _rendered: IDisposable[] = [];
  private _urls: string[] = [];
  private _disposed = false;
}

export class DatasetsSection {
  constructor(
    private _model: ILabtrackModel,
    private _trans: TranslationBundle
  ) {
    this.node = el('section', 'lt-Section lt-DatasetsSection', undefined, {
      'aria-label': _trans.__('Datasets')
    });
    this.node.hidden = true;
  }

  readonly node: HTMLElement;

  render(run: IRun): void {
    const trans = this._trans;
    const datasets = datasetsOf(run);
    this.node.hidden = datasets.length === 0;
    if (datasets.length === 0) {
      this.node.replaceChildren();
      return;
    }
    const cards = datasets.map(ds => {
      const card = el('div', 'lt-DatasetCard', undefined, {
        'data-dataset-name': ds.name,
        'data-dataset-digest': ds.digest
      });
      const head = el('div', 'lt-SectionHeader');
      head.append(
        el('span', 'lt-DatasetName', ds.name),
        el('code', 'lt-DatasetDigest', ds.digest)
      );
      if (ds.context) {
        head.append(el('span', 'lt-DatasetContext', ds.context));
      }
      head.append(
        el('span', 'lt-Spacer'),
        button(
          trans.__('Runs with this dataset'),
          () => {
            void this._model.setFilter(datasetFilter(ds));
            this._model.setView('runs');
          },
          'lt-FindDatasetRuns',
          {
            title: trans.__(
              'List the runs whose inputs include %1 (%2)',
              ds.name,
              ds.digest
            )
          }
        )
      );
      const table = el('table', 'lt-KVTable lt-DatasetFacts', undefined, {
        'aria-label': trans.__('Dataset %1', ds.name)
      });
      const body = el('tbody');
      const add = (label: string, value: string, attr: string) => {
        if (value) {
          const tr = el('tr');
          tr.append(
            el('th', '', label, { scope: 'row' }),
            el('td', '', value, { [attr]: '' })
          );
          body.append(tr);
        }
      };
      add(
        trans.__('Source'),
        [ds.sourceType, ds.source].filter(Boolean).join(': '),
        'data-source'
      );
      add(trans.__('Schema'), ds.schema.join(', '), 'data-schema');
      add(
        trans.__('Profile'),
        ds.profile.map(([k, v]) => `${k}: ${v}`).join(', '),
        'data-profile'
      );
      table.append(body);
      card.append(head, table);
      return card;
    });
    this.node.replaceChildren(
      el('h3', 'lt-SectionHeading', trans.__('Datasets (%1)', datasets.length)),
      ...cards
    );
  }
}
