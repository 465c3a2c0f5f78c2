/**
 * Run detail: header and overview, notes (markdown, sanitized by
 * JupyterLab's renderer), params, metrics with charts, tags, and the
 * artifact browser with client-side previews.
 *
 * The view composes small pieces (this folder) and renders the
 * `RunDetailModel`, which does all the server traffic; it follows the shared
 * model's detail run and live updates.
 */

import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { TranslationBundle } from '@jupyterlab/translation';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { ChartGrid } from '../chartgrid';
import { IRun } from '../protocol';
import { el } from '../dom';
import { RunDetailChange, RunDetailModel } from '../rundetailmodel';
import { ILabtrackModel, ModelChange } from '../tokens';
import { ArtifactBrowser } from './artifacts';
import { RunHeader, RunOverview, RunRelatives } from './header';
import { LoggedModelsSection } from './models';
import { NotesSection } from './notes';
import { RunDataTables } from './tables';
import { ProjectSection } from '../projects/section';
import { DatasetsSection, EvaluationSection } from '../evaluation/section';
import { TagEditor } from './tagedit';

export { openablePath } from './header';
export { parseCSV } from './preview';

export interface IRunDetailOptions {
  /** The state of this view (the only server client it uses). */
  detail: RunDetailModel;
  trans: TranslationBundle;
  rendermime?: IRenderMimeRegistry | null;
  /** Open a file (server-root relative path) in JupyterLab. */
  openPath?: (path: string) => void;
}

/** The run's metric keys, sorted. */
function metricKeys(run: IRun): string[] {
  return (run.data.metrics ?? [])
    .map(m => m.key)
    .sort((a, b) => a.localeCompare(b));
}

export class RunDetailView extends Widget {
  constructor(model: ILabtrackModel, options: IRunDetailOptions) {
    super();
    this._model = model;
    this._detail = options.detail;
    this._trans = options.trans;
    this.addClass('lt-RunDetail');
    this._content = el('div', 'lt-RunDetailContent');
    this.node.append(this._content);

    this._header = new RunHeader(model, options.trans);
    this._overview = new RunOverview(options.trans, options.openPath, model);
    this._relatives = new RunRelatives(model, options.trans);
    this._notes = new NotesSection(
      this._detail,
      options.trans,
      options.rendermime ?? null
    );
    this._tables = new RunDataTables(options.trans);
    this._project = new ProjectSection(options.trans);
    this._evaluation = new EvaluationSection(
      options.trans,
      options.rendermime ?? null
    );
    this._datasets = new DatasetsSection(model, options.trans);
    this._tags = new TagEditor(model, options.trans);
    // The run's metrics as a grid of charts (its own metric each, layout
    // kept per experiment), as on the compare view.
    this._charts = new ChartGrid(
      this._detail.grid,
      options.trans,
      () => (this._detail.run ? [this._detail.run] : []),
      () => false,
      { noMetrics: options.trans.__('This run logged no metrics.') }
    );
    this._artifacts = new ArtifactBrowser(this._detail, options.trans);
    this._models = new LoggedModelsSection(this._detail, options.trans);

    model.changed.connect(this._onModelChanged, this);
    model.runsChanged.connect(this._onRunsChanged, this);
    this._detail.changed.connect(this._onDetailChanged, this);
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._charts.dispose();
    this._evaluation.dispose();
    this._notes.dispose();
    this._artifacts.dispose();
    this._model.changed.disconnect(this._onModelChanged, this);
    this._model.runsChanged.disconnect(this._onRunsChanged, this);
    this._detail.changed.disconnect(this._onDetailChanged, this);
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this._detail.load(this._model.detailRunId);
  }

  protected onResize(msg: Widget.ResizeMessage): void {
    super.onResize(msg);
    this._charts.resize();
  }

  private _onModelChanged(_: ILabtrackModel, change: ModelChange): void {
    if (change === 'view' && this.isVisible) {
      void this._detail.load(this._model.detailRunId);
    } else if (change === 'runSelection' && this._detail.run) {
      this._header.renderCompareToggle();
    }
  }

  private _onRunsChanged(_: ILabtrackModel, ids: ReadonlySet<string>): void {
    const id = this._detail.runId;
    if (id && ids.has(id) && this.isVisible) {
      void this._detail.refresh();
    }
  }

  private _onDetailChanged(_: RunDetailModel, change: RunDetailChange): void {
    switch (change) {
      case 'run':
        this._render();
        break;
      case 'live':
        this._renderLive();
        break;
      case 'notes':
        this._notes.render();
        break;
      case 'artifacts':
        this._artifacts.render();
        break;
      case 'preview':
        this._artifacts.renderPreview();
        break;
      case 'relatives':
        this._renderRelatives();
        break;
      case 'models':
        this._models.render();
        break;
    }
  }

  /** Another run (or its loading state): render the whole page. */
  private _render(): void {
    const trans = this._trans;
    const detail = this._detail;
    const run = detail.run;
    if (detail.runId === null) {
      this._content.replaceChildren(
        el(
          'p',
          'lt-Empty',
          trans.__('Open a run from the runs table or the sidebar.')
        )
      );
      return;
    }
    if (run === null) {
      const error = detail.state.error;
      this._content.replaceChildren(
        error
          ? el(
              'div',
              'lt-error',
              trans.__('Could not load the run: %1', String(error)),
              { role: 'alert' }
            )
          : el('div', 'lt-Loading', trans.__('Loading…'), { role: 'status' })
      );
      return;
    }
    this._header.render(run);
    this._overview.render(run);
    this._renderRelatives();
    this._notes.render();
    this._tables.render(run);
    this._project.render(run);
    this._evaluation.render(run);
    this._datasets.render(run);
    this._tags.render(run);
    this._charts.render(metricKeys(run));
    this._models.reset();
    this._models.render();
    this._artifacts.render();
    this._content.replaceChildren(
      this._header.node,
      this._overview.node,
      this._relatives.node,
      this._project.node,
      this._notes.node,
      this._tables.metrics,
      this._charts.node,
      this._evaluation.node,
      this._tables.params,
      this._datasets.node,
      this._tags.node,
      this._models.node,
      this._artifacts.node
    );
  }

  private _renderRelatives(): void {
    const detail = this._detail;
    this._relatives.render(
      detail.parentRunId,
      detail.parentRun,
      detail.childRuns
    );
  }

  /** The same run re-read: status, overview, tables and new charts. */
  private _renderLive(): void {
    const run = this._detail.run;
    if (!run) {
      return;
    }
    this._header.render(run);
    this._overview.render(run);
    this._tables.render(run);
    this._project.render(run);
    this._evaluation.render(run);
    this._datasets.render(run);
    this._tags.render(run);
    this._charts.render(metricKeys(run));
  }

  private _model: ILabtrackModel;
  private _detail: RunDetailModel;
  private _trans: TranslationBundle;
  private _content: HTMLElement;
  private _header: RunHeader;
  private _overview: RunOverview;
  private _relatives: RunRelatives;
  private _notes: NotesSection;
  private _tables: RunDataTables;
  private _project: ProjectSection;
  private _evaluation: EvaluationSection;
  private _datasets: DatasetsSection;
  private _tags: TagEditor;
  private _charts: ChartGrid;
  private _artifacts: ArtifactBrowser;
  private _models: LoggedModelsSection;
}
