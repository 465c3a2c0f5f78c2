/**
 * The chart grid's state: several metric charts at once, each with its own
 * metric (as MLflow's model-metrics view), the layout kept per experiment
 * in the browser's local storage; and a chart's metric as CSV at full
 * resolution (every point, `metrics/get-history`). The view is
 * `chartgrid.ts`; the compare view and the run page each have one.
 */

import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { metricCSV } from './csv';
import { runName } from './dom';
import {
  DEFAULT_MAX_POINTS,
  ILabtrackAPI,
  IRun,
  metricNumber,
  toAPIError
} from './protocol';
import { ILabtrackModel } from './tokens';

/** One chart of the grid. */
export interface IChartSpec {
  readonly id: string;
  readonly metric: string;
}

/**
 * Layouts by key: the listed experiment ids, comma-joined (compare view), or
 * `run:<experiment id>` (run pages).
 */
export type ChartLayouts = Record<string, IChartSpec[]>;

/** Where layouts are kept. */
export interface ILayoutStore {
  load(): ChartLayouts;
  save(layouts: ChartLayouts): void;
}

/** Charts shown before the user arranged any. */
export const DEFAULT_CHARTS = 4;

const STORAGE_KEY = 'labtrack:chart-layouts';

/** Layouts in `localStorage` (per browser profile); failures are ignored. */
export function localLayoutStore(
  storage: Storage | null = typeof localStorage === 'undefined'
    ? null
    : localStorage
): ILayoutStore {
  return {
    load: () => {
      try {
        const parsed = JSON.parse(storage?.getItem(STORAGE_KEY) ?? '{}');
        return parsed && typeof parsed === 'object' ? parsed : {};
      } catch {
        return {};
      }
    },
    save: layouts => {
      try {
        storage?.setItem(STORAGE_KEY, JSON.stringify(layouts));
      } catch {
        // Private mode or a full quota: the layout lasts the session.
      }
    }
  };
}

export class ChartGridModel implements IDisposable {
  constructor(options: ChartGridModel.IOptions) {
    this._api = options.api;
    const model = options.model;
    this._keyOf =
      options.key ?? (() => (model ? model.experimentIds.join(',') : ''));
    this._defaultCharts = options.defaultCharts ?? DEFAULT_CHARTS;
    this._store = options.store ?? localLayoutStore();
    this._maxPoints = options.maxPoints ?? (() => DEFAULT_MAX_POINTS);
  }

  get layoutChanged(): ISignal<ChartGridModel, void> {
    return this._layoutChanged;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (!this._isDisposed) {
      this._isDisposed = true;
      Signal.clearData(this);
    }
  }

  private get _key(): string {
    return this._keyOf();
  }

  /**
   * The charts of the listed experiments: the saved layout, or one chart
   * for each of the first metrics.
   */
  layout(metrics: readonly string[]): readonly IChartSpec[] {
    // Read each time: a saved view may have replaced the layout.
    const saved = this._store.load()[this._key];
    if (saved) {
      return saved;
    }
    return metrics
      .slice(0, this._defaultCharts)
      .map((metric, i) => ({ id: `c${i}`, metric }));
  }

  /** True when the layout was arranged by the user (and is kept). */
  get isSaved(): boolean {
    return this._key in this._store.load();
  }

  addChart(metrics: readonly string[], metric: string): void {
    const charts = [...this.layout(metrics)];
    let n = charts.length;
    while (charts.some(c => c.id === `c${n}`)) {
      n++;
    }
    charts.push({ id: `c${n}`, metric });
    this._save(charts);
  }

  removeChart(metrics: readonly string[], id: string): void {
    this._save(this.layout(metrics).filter(c => c.id !== id));
  }

  setMetric(metrics: readonly string[], id: string, metric: string): void {
    this._save(
      this.layout(metrics).map(c => (c.id === id ? { id, metric } : c))
    );
  }

  /** Forget the arrangement of the listed experiments (back to default). */
  resetLayout(): void {
    const next = this._store.load();
    delete next[this._key];
    this._store.save(next);
    this._layoutChanged.emit();
  }

  /** One metric of the runs, downsampled for a chart, by run id. */
  async fetchSeries(
    runs: readonly IRun[],
    metric: string
  ): Promise<Map<string, { xs: number[]; ys: number[] }>> {
    const series = await this._api.getMetricSeries(
      runs.map(r => r.info.run_id),
      metric,
      { maxPoints: this._maxPoints(), x: 'step' }
    );
    return new Map(
      series.map(s => [
        s.run_id,
        { xs: s.steps, ys: s.values.map(metricNumber) }
      ])
    );
  }

  /** Every point of a metric of the runs as CSV (runs without it: none). */
  async metricCSV(runs: readonly IRun[], metric: string): Promise<string> {
    const all = await Promise.all(
      runs.map(run =>
        this._api.getMetricHistory(run.info.run_id, metric).catch(reason => {
          const error = toAPIError(reason);
          if (error.errorCode === 'RESOURCE_DOES_NOT_EXIST') {
            return null;
          }
          throw error;
        })
      )
    );
    const names = new Map(runs.map(r => [r.info.run_id, runName(r)]));
    return metricCSV(
      all.filter(s => s !== null && s.steps.length > 0).map(s => s!),
      names
    );
  }

  private _save(charts: IChartSpec[]): void {
    this._store.save({ ...this._store.load(), [this._key]: charts });
    this._layoutChanged.emit();
  }

  private _api: ILabtrackAPI;
  private _keyOf: () => string;
  private _defaultCharts: number;
  private _store: ILayoutStore;
  private _maxPoints: () => number;
  private _isDisposed = false;
  private _layoutChanged = new Signal<ChartGridModel, void>(this);
}

export namespace ChartGridModel {
  export interface IOptions {
    api: ILabtrackAPI;
    /** The shared model: layouts are kept per listed experiments. */
    model?: ILabtrackModel;
    /**
     * The layout's key instead (e.g. `run:<experiment id>` for run pages,
     * kept apart from the compare view's layouts).
     */
    key?: () => string;
    /** Charts shown before the user arranged any (default 4). */
    defaultCharts?: number;
    /** Where layouts are kept (local storage by default). */
    store?: ILayoutStore;
    maxPoints?: () => number;
  }
}
