/**
 * The compare view's box plot and contour plot sections (as MLflow's
 * compare-runs page): controls to choose what is plotted, the plot
 * (specs from `compareplots.ts`, drawn by `vegaplot.ts`), and a note that
 * says why nothing is drawn or which runs are left out.
 */

import { TranslationBundle } from '@jupyterlab/translation';
import { IDisposable } from '@lumino/disposable';
import type { IEmbedResult } from 'vega-embed';

import {
  ContourProblem,
  IBoxData,
  IPlotRun,
  boxPlotSpec,
  contourData,
  contourSpec,
  fieldLabel,
  groupedBoxData,
  historyBoxData,
  isNumericField
} from './compareplots';
import { CompareModel } from './comparemodel';
import { el } from './dom';
import { IRun, toAPIError } from './protocol';
import { availableColumns } from './table';
import { plotTheme, renderPlot } from './vegaplot';

/** What the sections need from the compare view. */
export interface IPlotSource {
  /** The compared runs (pick order: colors). */
  runs(): readonly IRun[];
  isHidden(runId: string): boolean;
  /** Params whose values differ between the runs (or all params). */
  differingParams(): string[];
  /** The metric chosen for the main chart. */
  metric(): string;
}

/** The value of a select, or the first option's (or '') when not offered. */
function keep(select: HTMLSelectElement, preferred: string): void {
  const values = [...select.options].map(o => o.value);
  select.value = values.includes(preferred) ? preferred : (values[0] ?? '');
}

function options(
  select: HTMLSelectElement,
  groups: [string, [string, string][]][]
): void {
  const current = select.value;
  select.replaceChildren(
    ...groups.flatMap(([label, items]) => {
      if (items.length === 0) {
        return [];
      }
      const opts = items.map(([value, text]) =>
        el('option', '', text, { value })
      );
      if (!label) {
        return opts;
      }
      const group = el('optgroup', '', undefined, { label });
      group.append(...opts);
      return [group];
    })
  );
  select.value = current;
}

abstract class PlotSection implements IDisposable {
  constructor(
    protected _trans: TranslationBundle,
    protected _source: IPlotSource,
    title: string,
    className: string
  ) {
    this.node = el('section', `lt-CompareSection ${className}`, undefined, {
      'aria-label': title
    });
    this._controls = el('div', 'lt-PlotControls');
    const head = el('div', 'lt-SectionHeader');
    head.append(el('h3', 'lt-SectionHeading', title), this._controls);
    this._note = el('p', 'lt-PlotNote', '', {
      role: 'status',
      'aria-live': 'polite'
    });
    this._plot = el('div', 'lt-VegaPlot', undefined, { 'data-drawn': 'false' });
    this.node.append(head, this._note, this._plot);
  }

  readonly node: HTMLElement;

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (!this._isDisposed) {
      this._isDisposed = true;
      this._result?.finalize();
      this._result = null;
    }
  }

  /** Refresh the choices and draw. */
  abstract render(): void;

  protected _select(className: string, label: string): HTMLSelectElement {
    const select = el('select', `jp-mod-styled ${className}`, undefined, {
      'aria-label': label,
      title: label
    });
    select.addEventListener('change', () => this.render());
    return select;
  }

  /** The compared runs that are shown, with their color positions. */
  protected _shown(): IPlotRun[] {
    return this._source
      .runs()
      .flatMap((run, index) =>
        this._source.isHidden(run.info.run_id) ? [] : [{ run, index }]
      );
  }

  protected _missingNote(missing: string[]): string {
    return missing.length === 0
      ? ''
      : this._trans._n(
          'Not plotted (no value): %2',
          'Not plotted (no value, %1 runs): %2',
          missing.length,
          missing.slice(0, 5).join(', ') + (missing.length > 5 ? ', …' : '')
        );
  }

  /** Nothing to draw: say why. */
  protected _explain(text: string): void {
    ++this._ticket;
    this._result?.finalize();
    this._result = null;
    this._plot.replaceChildren();
    this._plot.dataset.drawn = 'false';
    this._note.textContent = text;
  }

  protected async _draw(
    spec: Record<string, unknown>,
    note: string,
    attrs: Record<string, string>
  ): Promise<void> {
    const ticket = ++this._ticket;
    this._note.textContent = note;
    try {
      const result = await renderPlot(this._plot, spec);
      if (ticket !== this._ticket || this._isDisposed) {
        result.finalize();
        return;
      }
      this._result?.finalize();
      this._result = result;
      Object.assign(this._plot.dataset, attrs, { drawn: 'true' });
    } catch (reason) {
      if (ticket === this._ticket) {
        this._explain(
          this._trans.__('Could not draw the plot: %1', String(reason))
        );
      }
    }
  }

  protected _controls: HTMLElement;
  protected _note: HTMLElement;
  protected _plot: HTMLElement;
  protected _ticket = 0;
  private _result: IEmbedResult | null = null;
  private _isDisposed = false;
}

/** The box plot: a metric or param by a param, or per run over history. */
export class BoxPlotSection extends PlotSection {
  constructor(
    trans: TranslationBundle,
    source: IPlotSource,
    private _compare: CompareModel
  ) {
    super(trans, source, trans.__('Box plot'), 'lt-BoxPlotSection');
    this._value = this._select('lt-BoxValue', trans.__('Box plot value'));
    this._group = this._select('lt-BoxGroup', trans.__('Box plot groups'));
    this._controls.append(this._value, this._group);
  }

  render(): void {
    const trans = this._trans;
    const runs = this._source.runs();
    const cols = availableColumns(runs);
    const params = cols.params.filter(p => isNumericField(runs, p));
    options(this._value, [
      [trans.__('Metrics'), cols.metrics.map(m => [m, fieldLabel(m)])],
      [trans.__('Params'), params.map(p => [p, fieldLabel(p)])]
    ]);
    if (!this._value.value) {
      keep(this._value, `metrics.${this._source.metric()}`);
    }
    options(this._group, [
      ['', [[HISTORY, trans.__('per run (history)')]]],
      [
        trans.__('by param'),
        cols.params.map(p => [p, trans.__('by %1', fieldLabel(p))])
      ]
    ]);
    if (!this._group.value) {
      keep(this._group, this._source.differingParams()[0] ?? HISTORY);
    }
    void this._render();
  }

  private async _render(): Promise<void> {
    const trans = this._trans;
    const value = this._value.value;
    const group = this._group.value;
    const shown = this._shown();
    this._plot.dataset.mode = group === HISTORY ? 'history' : 'param';
    if (shown.length === 0 || !value) {
      this._explain(trans.__('Select runs with a metric or a numeric param.'));
      return;
    }
    let data: IBoxData;
    if (group === HISTORY) {
      if (!value.startsWith('metrics.')) {
        this._explain(
          trans.__(
            '%1 is a param: it has one value per run, no history. Group it by a param instead.',
            fieldLabel(value)
          )
        );
        return;
      }
      const ticket = ++this._ticket;
      try {
        data = historyBoxData(
          await this._compare.fetchHistories(fieldLabel(value))
        );
      } catch (reason) {
        if (ticket === this._ticket) {
          this._explain(
            trans.__('Could not load %1: %2', value, toAPIError(reason).message)
          );
        }
        return;
      }
      if (ticket !== this._ticket) {
        return;
      }
    } else {
      data = groupedBoxData(shown, value, group);
    }
    if (data.points.length === 0) {
      this._explain(
        trans.__('No compared run has a value of %1.', fieldLabel(value))
      );
      return;
    }
    const labels = {
      value: fieldLabel(value),
      group: group === HISTORY ? trans.__('Run') : fieldLabel(group),
      run: trans.__('Run')
    };
    await this._draw(
      boxPlotSpec(data, labels, group === HISTORY, plotTheme()),
      this._missingNote(data.missing),
      { groups: String(data.groups.length), points: String(data.points.length) }
    );
  }

  private _value: HTMLSelectElement;
  private _group: HTMLSelectElement;
}

const HISTORY = ':history';

/** The contour plot: a metric over two numeric params. */
export class ContourSection extends PlotSection {
  constructor(trans: TranslationBundle, source: IPlotSource) {
    super(trans, source, trans.__('Contour plot'), 'lt-ContourSection');
    this._x = this._select('lt-ContourX', trans.__('Contour x axis'));
    this._y = this._select('lt-ContourY', trans.__('Contour y axis'));
    this._z = this._select('lt-ContourZ', trans.__('Contour color metric'));
    this._controls.append(
      el('span', 'lt-PlotLabel', trans.__('x')),
      this._x,
      el('span', 'lt-PlotLabel', trans.__('y')),
      this._y,
      el('span', 'lt-PlotLabel', trans.__('color')),
      this._z
    );
  }

  render(): void {
    const trans = this._trans;
    const runs = this._source.runs();
    const cols = availableColumns(runs);
    const numeric = new Set(cols.params.filter(p => isNumericField(runs, p)));
    const paramItems = cols.params.map(
      p =>
        [
          p,
          numeric.has(p) ? fieldLabel(p) : trans.__('%1 (text)', fieldLabel(p))
        ] as [string, string]
    );
    options(this._x, [['', paramItems]]);
    options(this._y, [['', paramItems]]);
    options(this._z, [['', cols.metrics.map(m => [m, fieldLabel(m)])]]);
    // First choices: the first two numeric params that differ, the chart's metric.
    const differing = this._source.differingParams();
    const preferred = [
      ...differing.filter(p => numeric.has(p)),
      ...cols.params.filter(p => numeric.has(p))
    ];
    if (!this._x.value) {
      keep(this._x, preferred[0] ?? '');
    }
    if (!this._y.value) {
      // Another param, even a text one (then the note says why no contour).
      const other = [...preferred, ...cols.params].find(
        p => p !== this._x.value
      );
      keep(this._y, other ?? '');
    }
    if (!this._z.value) {
      keep(this._z, `metrics.${this._source.metric()}`);
    }
    const [x, y, z] = [this._x.value, this._y.value, this._z.value];
    if (!x || !y || !z) {
      this._explain(
        trans.__(
          'A contour plot needs two params and a metric: select runs that logged them.'
        )
      );
      return;
    }
    const result = contourData(this._shown(), x, y, z);
    if (!result.ok) {
      const missing = this._missingNote(result.missing);
      this._explain(
        [this._problem(result.problem), missing].filter(Boolean).join(' ')
      );
      this._plot.dataset.problem = result.problem.kind;
      return;
    }
    const c = result.contour;
    delete this._plot.dataset.problem;
    void this._draw(
      contourSpec(c, {
        x: fieldLabel(x),
        y: fieldLabel(y),
        z: fieldLabel(z),
        run: trans.__('Run')
      }),
      this._missingNote(c.missing),
      {
        points: String(c.points.length),
        segments: String(c.segments.length),
        logX: String(c.logX),
        logY: String(c.logY)
      }
    );
  }

  private _problem(problem: ContourProblem): string {
    const trans = this._trans;
    switch (problem.kind) {
      case 'same-axis':
        return trans.__('Choose two different params for x and y.');
      case 'not-numeric':
        return trans.__(
          '%1 has text values (%2): a contour needs numbers on both axes. The box plot can group by it.',
          fieldLabel(problem.field),
          problem.examples.join(', ')
        );
      case 'too-few':
        return trans.__(
          'A contour needs runs at 3 or more distinct (x, y) positions; these runs have %1.',
          problem.distinct
        );
      case 'flat-axis':
        return trans.__(
          'Every plotted run has the same %1: there is no second dimension to draw.',
          fieldLabel(problem.field)
        );
    }
  }

  private _x: HTMLSelectElement;
  private _y: HTMLSelectElement;
  private _z: HTMLSelectElement;
}
