/**
 * One small curve chart per metric of the run (the first `MAX_CHARTS` by
 * key); series arrive from the run detail model one metric at a time.
 */

import { TranslationBundle } from '@jupyterlab/translation';
import { IDisposable } from '@lumino/disposable';

import { CurveChart } from '../charts';
import { el, runName, seriesColor } from '../dom';
import { IRun } from '../protocol';
import { IRunSeries } from '../rundetailmodel';

export class RunCharts implements IDisposable {
  constructor(
    private _trans: TranslationBundle,
    private _download?: (key: string) => void
  ) {
    this.node = el('div', 'lt-MetricCharts');
  }

  readonly node: HTMLElement;

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (!this._isDisposed) {
      this._isDisposed = true;
      this.clear();
    }
  }

  /** Remove every chart (another run is shown). */
  clear(): void {
    for (const chart of this._charts.values()) {
      chart.dispose();
    }
    this._charts.clear();
    this.node.replaceChildren();
  }

  /** Make sure each key has a chart (new metrics get one at the end). */
  ensure(run: IRun, keys: string[]): void {
    this._run = run;
    for (const key of keys) {
      if (this._charts.has(key)) {
        continue;
      }
      const box = el('div', 'lt-MetricChart', undefined, {
        'data-metric': key
      });
      const head = el('div', 'lt-ChartHead');
      head.append(el('h4', 'lt-ChartTitle', key));
      const download = this._download;
      if (download) {
        const csv = el('button', 'jp-Button jp-mod-styled lt-ChartCSV', 'CSV', {
          type: 'button',
          'aria-label': this._trans.__('Download %1 as CSV', key),
          title: this._trans.__('Download every point of %1 as CSV', key)
        });
        csv.addEventListener('click', () => download(key));
        head.append(csv);
      }
      box.append(head);
      const plot = el('div', 'lt-ChartPlot');
      box.append(plot);
      this.node.append(box);
      this._charts.set(
        key,
        new CurveChart(plot, {
          trans: this._trans,
          xMode: 'step',
          logY: false,
          smoothing: 0,
          height: 180
        })
      );
    }
  }

  /** Draw one metric's series (a live one keeps the zoom). */
  draw(series: IRunSeries): void {
    const chart = this._charts.get(series.key);
    if (!chart || !this._run) {
      return;
    }
    chart.setCurves(
      [
        {
          label: series.key,
          detail: runName(this._run),
          color: seriesColor(0),
          xs: series.xs,
          ys: series.ys,
          mins: series.mins,
          maxs: series.maxs
        }
      ],
      series.live
    );
  }

  resize(): void {
    for (const chart of this._charts.values()) {
      chart.resize();
    }
  }

  private _run: IRun | null = null;
  private _charts = new Map<string, CurveChart>();
  private _isDisposed = false;
}
