/**
 * The compare view: metric curves of the selected runs (uPlot), parallel
 * coordinates, a param-vs-metric scatter, box and contour plots
 * (`compareplotsview.ts`) and a side-by-side table that highlights
 * differences.
 */

import { TranslationBundle } from '@jupyterlab/translation';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { ChartGrid, downloadMetricCSV } from './chartgrid';
import { experimentLabel } from './rundetail/header';
import { CompareModel, ICurvesChange } from './comparemodel';
import {
  BoxPlotSection,
  ContourSection,
  IPlotSource
} from './compareplotsview';
import { IRun } from './protocol';
import {
  CurveChart,
  ICurve,
  IMark,
  parallelCoordinates,
  scatterPlot
} from './charts';
import {
  columnValue,
  el,
  formatMetric,
  formatTime,
  runDuration,
  runName,
  seriesColor
} from './dom';
import { EvaluationCompare } from './evaluation/compare';
import { availableColumns } from './table';
import { ILabtrackModel, ModelChange } from './tokens';

export interface ICompareOptions {
  /** The curves' state (the only server client of this view). */
  compare: CompareModel;
  trans: TranslationBundle;
}

function paramsText(run: IRun): string {
  const params = run.data.params ?? [];
  return params
    .slice(0, 8)
    .map(p => `${p.key}=${p.value}`)
    .join(', ');
}

export class CompareView extends Widget {
  constructor(model: ILabtrackModel, options: ICompareOptions) {
    super();
    this._model = model;
    this._compare = options.compare;
    const trans = (this._trans = options.trans);
    this.addClass('lt-CompareView');

    this._header = el('div', 'lt-CompareHeader');
    const controls = el('div', 'lt-ChartControls');
    this._metricSelect = el(
      'select',
      'jp-mod-styled lt-MetricSelect',
      undefined,
      {
        'aria-label': trans.__('Metric')
      }
    );
    this._metricSelect.addEventListener('change', () => {
      this._zoom = null;
      this._renderAll();
    });
    this._xSelect = el('select', 'jp-mod-styled lt-XSelect', undefined, {
      'aria-label': trans.__('X axis')
    });
    this._xSelect.append(
      el('option', '', trans.__('by step'), { value: 'step' }),
      el('option', '', trans.__('by time'), { value: 'timestamp' })
    );
    this._xSelect.addEventListener('change', () => {
      this._zoom = null;
      this._rebuildChart();
    });
    const smoothLabel = el('label', 'lt-Check', trans.__('Smoothing') + ' ');
    this._smoothing = el('input', 'lt-Smoothing', undefined, {
      type: 'range',
      min: '0',
      max: '0.99',
      step: '0.01',
      value: '0'
    });
    this._smoothValue = el('span', 'lt-SmoothValue', '0');
    this._smoothing.addEventListener('input', () => {
      this._smoothValue.textContent = this._smoothing.value;
      this._rebuildChart(true);
    });
    smoothLabel.append(this._smoothing, this._smoothValue);
    const logLabel = el('label', 'lt-Check');
    this._logBox = el('input', 'lt-LogScale', undefined, { type: 'checkbox' });
    this._logBox.addEventListener('change', () => this._rebuildChart(true));
    logLabel.append(this._logBox, ' ' + trans.__('Log scale'));
    this._zoomNote = el(
      'span',
      'lt-ZoomNote',
      trans.__('Drag to zoom, double-click to reset')
    );
    const csv = el(
      'button',
      'jp-Button jp-mod-styled lt-MetricCSV',
      trans.__('Download CSV'),
      {
        type: 'button',
        title: trans.__('Download every point of this metric as CSV')
      }
    );
    csv.addEventListener('click', () => {
      const metric = this._metricSelect.value;
      if (metric) {
        void downloadMetricCSV(this._compare.grid, this._runs, metric);
      }
    });
    controls.append(
      this._metricSelect,
      this._xSelect,
      smoothLabel,
      logLabel,
      csv,
      this._zoomNote
    );

    this._chartBox = el('div', 'lt-CurveChart', undefined, {
      'data-series-count': '0'
    });
    this._chartStatus = el('div', 'lt-StatusArea');

    const parSection = el('section', 'lt-CompareSection');
    parSection.append(
      el('h3', 'lt-SectionHeading', trans.__('Parameters → metric'))
    );
    this._parBox = el('div', 'lt-ParBox');
    parSection.append(this._parBox);

    const scatterSection = el('section', 'lt-CompareSection');
    const scatterHead = el('div', 'lt-SectionHeader');
    this._scatterSelect = el(
      'select',
      'jp-mod-styled lt-ScatterParam',
      undefined,
      {
        'aria-label': trans.__('Scatter x axis parameter')
      }
    );
    this._scatterSelect.addEventListener('change', () => this._renderScatter());
    scatterHead.append(
      el('h3', 'lt-SectionHeading', trans.__('Scatter')),
      this._scatterSelect
    );
    this._scatterBox = el('div', 'lt-ScatterBox');
    scatterSection.append(scatterHead, this._scatterBox);

    const tableSection = el('section', 'lt-CompareSection');
    const tableHead = el('div', 'lt-SectionHeader');
    const diffLabel = el('label', 'lt-Check');
    this._onlyDiff = el('input', 'lt-OnlyDiff', undefined, {
      type: 'checkbox'
    });
    this._onlyDiff.addEventListener('change', () => this._renderTable());
    diffLabel.append(this._onlyDiff, ' ' + trans.__('Only differences'));
    tableHead.append(
      el('h3', 'lt-SectionHeading', trans.__('Side by side')),
      diffLabel
    );
    this._tableBox = el('div', 'lt-SideBySideBox');
    tableSection.append(tableHead, this._tableBox);

    this._evaluation = new EvaluationCompare(trans);
    const plots = el('div', 'lt-PlotRow');
    plots.append(parSection, scatterSection);
    const source: IPlotSource = {
      runs: () => this._runs,
      isHidden: id => model.marks.isHidden(id),
      differingParams: () => this._differingParams(),
      metric: () => this._metricSelect.value
    };
    this._box = new BoxPlotSection(trans, source, this._compare);
    this._contour = new ContourSection(trans, source);
    const morePlots = el('div', 'lt-PlotRow');
    morePlots.append(this._box.node, this._contour.node);

    this._grid = new ChartGrid(
      this._compare.grid,
      trans,
      () => this._runs,
      id => model.marks.isHidden(id)
    );
    this.node.append(
      this._header,
      controls,
      this._chartStatus,
      this._chartBox,
      this._grid.node,
      plots,
      morePlots,
      this._evaluation.node,
      tableSection
    );
    this._chart = this._newChart();
    model.changed.connect(this._onModelChanged, this);
    model.runsChanged.connect(this._onRunsChanged, this);
    model.marks.changed.connect(this._onMarks, this);
    this._compare.curvesChanged.connect(this._onCurves, this);
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._chart.dispose();
    this._grid.dispose();
    this._box.dispose();
    this._contour.dispose();
    this._model.changed.disconnect(this._onModelChanged, this);
    this._model.runsChanged.disconnect(this._onRunsChanged, this);
    this._model.marks.changed.disconnect(this._onMarks, this);
    this._compare.curvesChanged.disconnect(this._onCurves, this);
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    if (this._stale) {
      this._renderAll();
    } else {
      // A saved view may have changed the chart layout meanwhile.
      this._grid.render(this._metricKeys());
    }
  }

  protected onResize(msg: Widget.ResizeMessage): void {
    super.onResize(msg);
    this._chart.resize();
    this._grid.resize();
  }

  private get _runs(): readonly IRun[] {
    return this._model.selectedRuns;
  }

  private _onModelChanged(_: ILabtrackModel, change: ModelChange): void {
    if (change === 'runSelection') {
      this._stale = true;
      if (this.isVisible) {
        this._renderAll();
      }
    }
  }

  private _onRunsChanged(_: ILabtrackModel, ids: ReadonlySet<string>): void {
    if (this.isVisible && this._runs.some(r => ids.has(r.info.run_id))) {
      this._renderHeader();
      void this._fetchCurves(true);
      this._grid.refresh();
      this._renderPlots();
      this._renderTable();
      this._evaluation.render(this._runs, seriesColor);
    }
  }

  /** A run hidden or shown: redraw the charts (curves are re-read). */
  private _onMarks(): void {
    this._stale = true;
    if (this.isVisible) {
      this._renderAll();
    }
  }

  private _renderAll(): void {
    this._stale = false;
    this._renderHeader();
    this._renderMetricOptions();
    void this._fetchCurves(false);
    this._grid.render(this._metricKeys());
    this._renderPlots();
    this._renderTable();
    this._evaluation.render(this._runs, seriesColor);
  }

  private _renderHeader(): void {
    const runs = this._runs;
    const chips = el('ul', 'lt-RunChips', undefined, {
      'aria-label': this._trans.__('Compared runs')
    });
    runs.forEach((run, i) => {
      const chip = el('li', 'lt-RunChip', undefined, {
        'data-run-id': run.info.run_id
      });
      const swatch = el('span', 'lt-Swatch', undefined, {
        'aria-hidden': 'true'
      });
      swatch.style.background = seriesColor(i);
      const open = el('button', 'lt-LinkButton', runName(run), {
        type: 'button',
        title: this._trans.__('Open run %1', runName(run))
      });
      open.addEventListener('click', () =>
        this._model.openRun(run.info.run_id)
      );
      const remove = el('button', 'lt-IconButton', '×', {
        type: 'button',
        'aria-label': this._trans.__(
          'Remove %1 from the comparison',
          runName(run)
        )
      });
      remove.addEventListener('click', () =>
        this._model.setRunSelected(run, false)
      );
      chip.append(swatch, open, remove);
      chips.append(chip);
    });
    const title = el(
      'h2',
      'lt-PaneHeading',
      runs.length === 0
        ? this._trans.__('Compare runs')
        : this._trans._n('Comparing %1 run', 'Comparing %1 runs', runs.length)
    );
    this._header.replaceChildren(title, chips);
    if (runs.length === 0) {
      this._header.append(
        el(
          'p',
          'lt-Empty',
          this._trans.__(
            'Pick runs with the checkboxes in the runs table or the sidebar, then open Compare.'
          )
        )
      );
    }
  }

  private _metricKeys(): string[] {
    return availableColumns(this._runs).metrics.map(c => c.slice(8));
  }

  private _renderMetricOptions(): void {
    const keys = this._metricKeys();
    const current = this._metricSelect.value;
    this._metricSelect.replaceChildren(
      ...keys.map(k => el('option', '', k, { value: k }))
    );
    if (keys.includes(current)) {
      this._metricSelect.value = current;
    } else {
      // Prefer the metric with the longest history (the interesting curve).
      let best = keys[0] ?? '';
      let most = -1;
      for (const key of keys) {
        const steps = Math.max(
          ...this._runs.map(
            r => r.data.metrics?.find(m => m.key === key)?.step ?? -1
          )
        );
        if (steps > most) {
          most = steps;
          best = key;
        }
      }
      this._metricSelect.value = best;
    }
  }

  private _newChart(): CurveChart {
    return new CurveChart(this._chartBox, {
      trans: this._trans,
      xMode: this._xSelect.value === 'timestamp' ? 'timestamp' : 'step',
      logY: this._logBox.checked,
      smoothing: Number(this._smoothing.value),
      onZoom: range => {
        this._zoom = range;
        void this._fetchCurves(true);
      }
    });
  }

  /** New chart options: rebuild the chart from the last fetched data. */
  private _rebuildChart(keepZoom = false): void {
    this._chart.dispose();
    this._chartBox.replaceChildren();
    this._chart = this._newChart();
    if (keepZoom && this._curves.length > 0) {
      this._draw(this._curves, false);
      return;
    }
    this._zoom = null;
    void this._fetchCurves(false);
  }

  /** Ask the compare model for the curves of the chosen metric. */
  private async _fetchCurves(keepZoom: boolean): Promise<void> {
    this._fetchStarted = performance.now();
    await this._compare.fetchCurves(
      {
        metric: this._metricSelect.value,
        xMode: this._xSelect.value === 'timestamp' ? 'timestamp' : 'step',
        zoom: this._zoom
      },
      keepZoom
    );
  }

  /** The compare model has new curves (or an error): draw them. */
  private _onCurves(_: CompareModel, change: ICurvesChange): void {
    const compare = this._compare;
    const query = compare.query;
    if (compare.runs.length === 0 || !query?.metric) {
      this._curves = [];
      this._chart.dispose();
      this._chartBox.replaceChildren();
      this._chart = this._newChart();
      this._chartBox.dataset.seriesCount = '0';
      this._chartStatus.replaceChildren();
      return;
    }
    const error = compare.state.error;
    if (error) {
      this._chartStatus.replaceChildren(
        el(
          'div',
          'lt-error',
          this._trans.__('Could not load %1: %2', query.metric, String(error)),
          { role: 'alert' }
        )
      );
      return;
    }
    const curves: ICurve[] = compare.curves.map(curve => ({
      label: runName(curve.run),
      detail: paramsText(curve.run),
      color: seriesColor(curve.index),
      xs: curve.xs,
      ys: curve.ys,
      mins: curve.mins,
      maxs: curve.maxs
    }));
    this._curves = curves;
    this._chartStatus.replaceChildren();
    this._draw(curves, change.keepZoom);
    this._chartBox.dataset.drawMs = (
      performance.now() - this._fetchStarted
    ).toFixed(0);
  }

  private _draw(curves: ICurve[], keepZoom: boolean): void {
    this._chart.setCurves(curves, keepZoom);
    this._chartBox.dataset.seriesCount = String(curves.length);
    this._chartBox.dataset.points = String(
      curves.reduce((n, c) => n + c.xs.length, 0)
    );
    this._chartBox.dataset.zoomed = this._zoom ? 'true' : 'false';
  }

  /** Params that differ between the compared runs (the interesting ones). */
  private _differingParams(): string[] {
    const runs = this._runs;
    const params = availableColumns(runs).params;
    const differing = params.filter(c => {
      const first = columnValue(runs[0], c);
      return runs.some(r => columnValue(r, c) !== first);
    });
    return differing.length > 0 ? differing : params;
  }

  /** Marks of the runs that are not hidden (colors by position). */
  private _visibleMarks(
    runs: readonly IRun[],
    mark: (run: IRun, index: number) => IMark
  ): IMark[] {
    const hidden = this._model.marks;
    return runs.flatMap((run, i) =>
      hidden.isHidden(run.info.run_id) ? [] : [mark(run, i)]
    );
  }

  private _renderPlots(): void {
    const runs = this._runs;
    const metric = this._metricSelect.value;
    const params = this._differingParams().slice(0, 8);
    this._parBox.replaceChildren();
    this._scatterBox.replaceChildren();
    if (runs.length < 2 || !metric || params.length === 0) {
      this._parBox.append(
        el(
          'p',
          'lt-Empty',
          this._trans.__('Select two or more runs with params and a metric.')
        )
      );
    } else {
      const titles = [...params.map(p => p.slice(7)), metric];
      const marks: IMark[] = this._visibleMarks(runs, (run, i) => ({
        label: `${runName(run)}: ${paramsText(run)}`,
        color: seriesColor(i),
        values: [
          ...params.map(p => columnValue(run, p)),
          columnValue(run, `metrics.${metric}`)
        ]
      }));
      this._parBox.append(parallelCoordinates(titles, marks, this._trans));
    }
    const current = this._scatterSelect.value;
    this._scatterSelect.replaceChildren(
      ...params.map(p => el('option', '', p.slice(7), { value: p }))
    );
    if (params.includes(current)) {
      this._scatterSelect.value = current;
    }
    this._renderScatter();
    this._box.render();
    this._contour.render();
  }

  private _renderScatter(): void {
    const runs = this._runs;
    const metric = this._metricSelect.value;
    const param = this._scatterSelect.value;
    this._scatterBox.replaceChildren();
    if (runs.length === 0 || !metric || !param) {
      return;
    }
    const marks: IMark[] = this._visibleMarks(runs, (run, i) => ({
      label: runName(run),
      color: seriesColor(i),
      values: [columnValue(run, param), columnValue(run, `metrics.${metric}`)]
    }));
    this._scatterBox.append(
      scatterPlot(param.slice(7), metric, marks, this._trans)
    );
  }

  private _renderTable(): void {
    const runs = this._runs;
    this._tableBox.replaceChildren();
    if (runs.length === 0) {
      return;
    }
    const all = availableColumns(runs);
    const table = el('table', 'lt-SideBySide', undefined, {
      'aria-label': this._trans.__('Runs side by side')
    });
    const head = el('tr');
    head.append(el('th', '', this._trans.__('Field'), { scope: 'col' }));
    runs.forEach((run, i) => {
      const th = el('th', '', runName(run), { scope: 'col' });
      th.style.borderTop = `3px solid ${seriesColor(i)}`;
      head.append(th);
    });
    const thead = el('thead');
    thead.append(head);
    const body = el('tbody');
    const addRow = (label: string, values: string[], kind: string): void => {
      const differs = values.some(v => v !== values[0]);
      if (this._onlyDiff.checked && !differs) {
        return;
      }
      const row = el('tr', `lt-kind-${kind}`, undefined, {
        'data-differs': differs ? 'true' : 'false'
      });
      row.classList.toggle('lt-mod-differs', differs);
      row.append(el('th', '', label, { scope: 'row' }));
      for (const v of values) {
        row.append(el('td', '', v));
      }
      body.append(row);
    };
    const trans = this._trans;
    addRow(
      trans.__('Status'),
      runs.map(r => r.info.status),
      'attr'
    );
    addRow(
      trans.__('Started'),
      runs.map(r => formatTime(r.info.start_time)),
      'attr'
    );
    addRow(trans.__('Duration'), runs.map(runDuration), 'attr');
    addRow(
      trans.__('Experiment'),
      runs.map(r => experimentLabel(this._model, r.info.experiment_id)),
      'attr'
    );
    for (const c of all.params) {
      addRow(
        c.slice(7),
        runs.map(r => String(columnValue(r, c) ?? '')),
        'params'
      );
    }
    for (const c of all.metrics) {
      addRow(
        c.slice(8),
        runs.map(r => formatMetric(columnValue(r, c))),
        'metrics'
      );
    }
    for (const c of all.tags) {
      addRow(
        c.slice(5),
        runs.map(r => String(columnValue(r, c) ?? '')),
        'tags'
      );
    }
    table.append(thead, body);
    this._tableBox.append(table);
  }

  private _model: ILabtrackModel;
  private _compare: CompareModel;
  private _trans: TranslationBundle;
  private _fetchStarted = 0;
  private _chart: CurveChart;
  private _grid: ChartGrid;
  private _box: BoxPlotSection;
  private _contour: ContourSection;
  private _curves: ICurve[] = [];
  private _zoom: { min: number; max: number } | null = null;
  private _stale = true;
  private _header: HTMLElement;
  private _metricSelect: HTMLSelectElement;
  private _xSelect: HTMLSelectElement;
  private _smoothing: HTMLInputElement;
  private _smoothValue: HTMLElement;
  private _logBox: HTMLInputElement;
  private _zoomNote: HTMLElement;
  private _chartBox: HTMLElement;
  private _chartStatus: HTMLElement;
  private _parBox: HTMLElement;
  private _scatterBox: HTMLElement;
  private _scatterSelect: HTMLSelectElement;
  private _onlyDiff: HTMLInputElement;
  private _tableBox: HTMLElement;
  private _evaluation: EvaluationCompare;
}
