/**
 * A chart grid (the compare view's and the run page's): an "Add chart"
 * choice and a card per chart (its metric, CSV download, remove); state in
 * `chartgridmodel.ts`.
 */

import { TranslationBundle } from '@jupyterlab/translation';
import { IDisposable } from '@lumino/disposable';

import { ChartGridModel, IChartSpec } from './chartgridmodel';
import { CurveChart } from './charts';
import { downloadText, safeFileName } from './csv';
import { button, el, runName, seriesColor } from './dom';
import { IRun, toAPIError } from './protocol';

/** Download a metric of the runs as CSV (full resolution). */
export async function downloadMetricCSV(
  grid: ChartGridModel,
  runs: readonly IRun[],
  metric: string
): Promise<void> {
  const text = await grid.metricCSV(runs, metric);
  downloadText(text, `${safeFileName(metric, 'metric')}.csv`);
}

interface ICard {
  spec: IChartSpec;
  node: HTMLElement;
  select: HTMLSelectElement;
  box: HTMLElement;
  status: HTMLElement;
  download: HTMLButtonElement;
  remove: HTMLButtonElement;
  chart: CurveChart;
  ticket: number;
}

/**
 * The grid's view: an "Add chart" button and a card per chart (its metric
 * choice, CSV download, remove). Colors follow the runs' positions among
 * the compared runs, as in the main chart and the chips.
 */
export class ChartGrid implements IDisposable {
  constructor(
    private _grid: ChartGridModel,
    private _trans: TranslationBundle,
    private _runsOf: () => readonly IRun[],
    private _isHidden: (runId: string) => boolean = () => false,
    texts: { noMetrics?: string } = {}
  ) {
    this._noMetrics =
      texts.noMetrics ?? _trans.__('The compared runs logged no metrics.');
    const trans = _trans;
    this.node = el(
      'section',
      'lt-CompareSection lt-ChartGridSection',
      undefined,
      {
        'aria-label': trans.__('Metric charts')
      }
    );
    const head = el('div', 'lt-SectionHeader');
    this._add = el('select', 'jp-mod-styled lt-AddChart', undefined, {
      'aria-label': trans.__('Add a chart of a metric')
    });
    this._add.addEventListener('change', () => {
      const metric = this._add.value;
      if (metric) {
        this._grid.addChart(this._metrics, metric);
      }
    });
    this._reset = button(
      trans.__('Reset charts'),
      () => this._grid.resetLayout(),
      'lt-ResetCharts'
    );
    head.append(
      el('h3', 'lt-SectionHeading', trans.__('Metric charts')),
      this._add,
      this._reset
    );
    this._body = el('div', 'lt-ChartGrid');
    this.node.append(head, this._body);
    _grid.layoutChanged.connect(this._onLayout, this);
  }

  readonly node: HTMLElement;

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._grid.layoutChanged.disconnect(this._onLayout, this);
    for (const card of this._cards.values()) {
      card.chart.dispose();
    }
    this._cards.clear();
  }

  /** Show the runs' charts (`metrics`: the keys they logged). */
  render(metrics: readonly string[]): void {
    this._metrics = metrics;
    const trans = this._trans;
    this._add.replaceChildren(
      el('option', '', trans.__('Add chart…'), { value: '' }),
      ...metrics.map(m => el('option', '', m, { value: m }))
    );
    this._add.value = '';
    this._add.disabled = metrics.length === 0;
    this._reset.hidden = !this._grid.isSaved;
    const layout = this._grid.layout(metrics);
    const keep = new Set(layout.map(c => c.id));
    for (const [id, card] of this._cards) {
      if (!keep.has(id)) {
        card.chart.dispose();
        this._cards.delete(id);
      }
    }
    const nodes: HTMLElement[] = [];
    layout.forEach((spec, i) => {
      let card = this._cards.get(spec.id);
      if (!card) {
        card = this._card(spec);
        this._cards.set(spec.id, card);
      }
      card.spec = spec;
      card.node.dataset.metric = spec.metric;
      card.select.setAttribute(
        'aria-label',
        trans.__('Metric of chart %1', i + 1)
      );
      card.select.replaceChildren(
        ...[...new Set([spec.metric, ...metrics])].map(m =>
          el('option', '', m, { value: m })
        )
      );
      card.select.value = spec.metric;
      card.download.setAttribute(
        'aria-label',
        trans.__('Download %1 as CSV', spec.metric)
      );
      card.remove.setAttribute(
        'aria-label',
        trans.__('Remove the chart of %1', spec.metric)
      );
      nodes.push(card.node);
    });
    if (nodes.length === 0) {
      nodes.push(
        el(
          'p',
          'lt-Empty',
          metrics.length === 0
            ? this._noMetrics
            : trans.__('No charts: add one for a metric.')
        )
      );
    }
    this._body.replaceChildren(...nodes);
    this.refresh();
    // Charts made before the grid was laid out take their cell's width.
    requestAnimationFrame(() => this.resize());
  }

  /** Fetch every chart's curves again (runs changed or logged more). */
  refresh(): void {
    for (const card of this._cards.values()) {
      void this._draw(card);
    }
  }

  resize(): void {
    for (const card of this._cards.values()) {
      card.chart.resize();
    }
  }

  private _onLayout(): void {
    this.render(this._metrics);
  }

  private _card(spec: IChartSpec): ICard {
    const trans = this._trans;
    const node = el('div', 'lt-ChartCard', undefined, {
      'data-chart-id': spec.id
    });
    const head = el('div', 'lt-ChartCardHead');
    const select = el('select', 'jp-mod-styled lt-ChartMetric');
    select.addEventListener('change', () =>
      this._grid.setMetric(this._metrics, spec.id, select.value)
    );
    const status = el('span', 'lt-ActionStatus', '', {
      role: 'status',
      'aria-live': 'polite'
    });
    const download = button(
      trans.__('CSV'),
      () => void this._download(card),
      'lt-ChartCSV',
      { title: trans.__('Download every point of this metric as CSV') }
    );
    const remove = button(
      '×',
      () => this._grid.removeChart(this._metrics, card.spec.id),
      'lt-RemoveChart'
    );
    head.append(select, el('span', 'lt-Spacer'), status, download, remove);
    const box = el('div', 'lt-ChartPlot lt-GridChart', undefined, {
      'data-series-count': '0'
    });
    node.append(head, box);
    const chart = new CurveChart(box, {
      xMode: 'step',
      logY: false,
      smoothing: 0,
      height: 200,
      trans
    });
    const card: ICard = {
      spec,
      node,
      select,
      box,
      status,
      download,
      remove,
      chart,
      ticket: 0
    };
    return card;
  }

  private async _draw(card: ICard): Promise<void> {
    const runs = this._runsOf();
    const ticket = ++card.ticket;
    const metric = card.spec.metric;
    const shown = runs.filter(r => !this._isHidden(r.info.run_id));
    if (shown.length === 0) {
      card.chart.setCurves([]);
      card.box.dataset.seriesCount = '0';
      return;
    }
    try {
      const byRun = await this._grid.fetchSeries(shown, metric);
      if (ticket !== card.ticket || this._isDisposed) {
        return;
      }
      const curves = runs.flatMap((run, index) => {
        const s = byRun.get(run.info.run_id);
        return s && s.xs.length > 0
          ? [
              {
                label: runName(run),
                detail: '',
                color: seriesColor(index),
                xs: s.xs,
                ys: s.ys
              }
            ]
          : [];
      });
      card.chart.setCurves(curves);
      card.box.dataset.seriesCount = String(curves.length);
      card.status.textContent = '';
    } catch (reason) {
      if (ticket === card.ticket) {
        card.status.textContent = toAPIError(reason).message;
      }
    }
  }

  private async _download(card: ICard): Promise<void> {
    try {
      await downloadMetricCSV(this._grid, this._runsOf(), card.spec.metric);
    } catch (reason) {
      card.status.textContent = this._trans.__(
        'Download failed: %1',
        toAPIError(reason).message
      );
    }
  }

  private _noMetrics: string;
  private _metrics: readonly string[] = [];
  private _cards = new Map<string, ICard>();
  private _add: HTMLSelectElement;
  private _reset: HTMLButtonElement;
  private _body: HTMLElement;
  private _isDisposed = false;
}
