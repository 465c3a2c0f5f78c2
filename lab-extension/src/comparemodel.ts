/**
 * The state of the compare view's curve chart: one metric of the runs picked
 * for comparison (the shared model's `selectedRuns`), downsampled by the
 * server, at full resolution inside a zoom range.
 */

import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import {
  DEFAULT_MAX_POINTS,
  ILabtrackAPI,
  IRun,
  metricNumber,
  toAPIError
} from './protocol';
import { ChartGridModel } from './chartgridmodel';
import { IRunHistory } from './compareplots';
import { IDLE } from './model';
import { ILabtrackModel, ILoadState } from './tokens';

/** The x axis of the curves. */
export type XMode = 'step' | 'timestamp';

/** What the chart shows. */
export interface ICurveQuery {
  /** The metric key ('' for none). */
  readonly metric: string;
  readonly xMode: XMode;
  /** The zoomed x range, or null for all points. */
  readonly zoom: { readonly min: number; readonly max: number } | null;
}

/** One run's series of the queried metric. */
export interface IRunCurve {
  readonly run: IRun;
  /** The run's position among the compared runs (its color). */
  readonly index: number;
  readonly xs: number[];
  readonly ys: number[];
  readonly mins?: number[];
  readonly maxs?: number[];
}

/** Emitted when curves (or the error) changed. */
export interface ICurvesChange {
  /** Keep the chart's current zoom (a zoom or live refresh). */
  readonly keepZoom: boolean;
}

export class CompareModel implements IDisposable {
  constructor(options: CompareModel.IOptions) {
    this._api = options.api;
    this._model = options.model;
    this._maxPoints = options.maxPoints ?? (() => DEFAULT_MAX_POINTS);
    this.grid = new ChartGridModel({
      api: options.api,
      model: options.model,
      maxPoints: this._maxPoints
    });
  }

  /** The chart grid's layouts and data (`chartgrid.ts`). */
  readonly grid: ChartGridModel;

  get curvesChanged(): ISignal<CompareModel, ICurvesChange> {
    return this._curvesChanged;
  }

  /** The compared runs (the shared model's selection, in pick order). */
  get runs(): readonly IRun[] {
    return this._model.selectedRuns;
  }

  /** The query of the curves shown (or being fetched). */
  get query(): ICurveQuery | null {
    return this._query;
  }

  /** The curves of the last successful fetch, in run order. */
  get curves(): readonly IRunCurve[] {
    return this._curves;
  }

  get state(): ILoadState {
    return this._state;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this.grid.dispose();
    Signal.clearData(this);
  }

  /**
   * Fetch one metric of the compared runs. With no runs or no metric the
   * curves are cleared. Answers to older fetches are dropped.
   */
  async fetchCurves(query: ICurveQuery, keepZoom = false): Promise<void> {
    const runs = [...this.runs];
    const hidden = this._model.marks;
    const shown = runs.filter(r => !hidden.isHidden(r.info.run_id));
    const ticket = ++this._ticket;
    this._query = query;
    if (shown.length === 0 || !query.metric) {
      this._curves = [];
      this._state = IDLE;
      this._emit({ keepZoom: false });
      return;
    }
    this._state = { loading: true, error: null };
    try {
      const series = await this._api.getMetricSeries(
        shown.map(r => r.info.run_id),
        query.metric,
        {
          maxPoints: this._maxPoints(),
          x: query.xMode,
          xMin: query.zoom?.min,
          xMax: query.zoom?.max
        }
      );
      if (ticket !== this._ticket) {
        return;
      }
      const byRun = new Map(series.map(s => [s.run_id, s]));
      const curves: IRunCurve[] = [];
      runs.forEach((run, index) => {
        // Hidden runs have no curve; indices keep the others' colors.
        const s = byRun.get(run.info.run_id);
        if (s) {
          curves.push({
            run,
            index,
            xs: query.xMode === 'timestamp' ? s.timestamps : s.steps,
            ys: s.values.map(metricNumber),
            mins: s.mins?.map(metricNumber),
            maxs: s.maxs?.map(metricNumber)
          });
        }
      });
      this._curves = curves;
      this._state = IDLE;
    } catch (reason) {
      if (ticket !== this._ticket) {
        return;
      }
      // The last curves stay drawn; the error is shown beside them.
      this._state = { loading: false, error: toAPIError(reason) };
    }
    this._emit({ keepZoom });
  }

  /**
   * A metric's logged values per shown compared run (the downsampled
   * series: up to `maxPoints` per run), for the box plot per run; runs
   * without the metric are left out. Indices keep the runs' colors.
   */
  async fetchHistories(metric: string): Promise<IRunHistory[]> {
    const runs = [...this.runs];
    const hidden = this._model.marks;
    const shown = runs.filter(r => !hidden.isHidden(r.info.run_id));
    if (shown.length === 0 || !metric) {
      return [];
    }
    const series = await this._api.getMetricSeries(
      shown.map(r => r.info.run_id),
      metric,
      { maxPoints: this._maxPoints(), x: 'step' }
    );
    const byRun = new Map(series.map(s => [s.run_id, s]));
    return runs.flatMap((run, index) => {
      const s = byRun.get(run.info.run_id);
      return s ? [{ run, index, values: s.values.map(metricNumber) }] : [];
    });
  }

  private _emit(change: ICurvesChange): void {
    if (!this._isDisposed) {
      this._curvesChanged.emit(change);
    }
  }

  private _api: ILabtrackAPI;
  private _model: ILabtrackModel;
  private _maxPoints: () => number;
  private _query: ICurveQuery | null = null;
  private _curves: IRunCurve[] = [];
  private _state: ILoadState = IDLE;
  private _ticket = 0;
  private _isDisposed = false;
  private _curvesChanged = new Signal<CompareModel, ICurvesChange>(this);
}

export namespace CompareModel {
  export interface IOptions {
    /** The server client (`createAPI()` from `api.ts`, a stub in tests). */
    api: ILabtrackAPI;
    /** The shared model, whose selected runs are compared. */
    model: ILabtrackModel;
    /** Points per series requested from the server (default 1000). */
    maxPoints?: () => number;
  }
}
