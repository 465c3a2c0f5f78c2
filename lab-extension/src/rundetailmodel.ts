/**
 * The state of the run detail view: one run, its notes, its artifact folder
 * and preview, and its chart grid's layouts. The view renders this
 * model and calls its methods; only the model talks to the server.
 */

import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import {
  IFileInfo,
  ILabtrackAPI,
  ILoggedModel,
  IModelVersion,
  IRun,
  LabtrackAPIError,
  toAPIError
} from './protocol';
import { ChartGridModel, ILayoutStore } from './chartgridmodel';
import { IModelSummary, summarizeMLmodel } from './mlmodel';
import { IDLE } from './model';
import { PARENT_TAG, parentRunId, quoteFilterValue } from './runtree';
import { ILoadState } from './tokens';

/** The tag MLflow keeps a run's markdown notes in. */
export const NOTE_TAG = 'mlflow.note.content';
/** Metric charts on a run's page before the user arranges them. */
export const MAX_CHARTS = 8;

/**
 * What changed: `run` (another run, or its loading state), `live` (the same
 * run re-read), `notes`, `artifacts` (folder or its listing), `preview`.
 */
export type RunDetailChange =
  'run' | 'live' | 'notes' | 'artifacts' | 'preview' | 'relatives' | 'models';

/** Logged models whose MLmodel files are read on a run's page. */
export const MAX_LOGGED_MODELS = 20;
/** Characters of an input example or requirements file shown. */
export const MAX_MODEL_TEXT = 4000;

/** A logged model of the run, with what its MLmodel file says. */
export interface IRunLoggedModel {
  readonly model: ILoggedModel;
  /** Flavors, signature, input example path (null until read or unreadable). */
  readonly summary: IModelSummary | null;
  /** The input example's text (cut at `MAX_MODEL_TEXT`), or null. */
  readonly inputExample: string | null;
  /** `requirements.txt`, or null. */
  readonly requirements: string | null;
  /** Reading the MLmodel file failed. */
  readonly error: LabtrackAPIError | null;
}

/** Child runs listed on a run's page. */
export const MAX_CHILD_RUNS = 200;

/** A downloaded (or downloading) artifact. */
export interface IArtifactPreview {
  readonly file: IFileInfo;
  /** The bytes, once downloaded. */
  readonly blob: Blob | null;
  readonly loading: boolean;
  readonly error: LabtrackAPIError | null;
}

export class RunDetailModel implements IDisposable {
  constructor(options: RunDetailModel.IOptions) {
    this._api = options.api;
    this.grid = new ChartGridModel({
      api: options.api,
      key: () => `run:${this._run?.info.experiment_id ?? ''}`,
      defaultCharts: MAX_CHARTS,
      store: options.layoutStore
    });
  }

  /**
   * The run's chart grid (`chartgrid.ts`): layouts kept per experiment,
   * apart from the compare view's.
   */
  readonly grid: ChartGridModel;

  get changed(): ISignal<RunDetailModel, RunDetailChange> {
    return this._changed;
  }

  /** The id of the run shown (or being loaded). */
  get runId(): string | null {
    return this._runId;
  }

  /** The run, once loaded. */
  get run(): IRun | null {
    return this._run;
  }

  get state(): ILoadState {
    return this._state;
  }

  /** The run's markdown notes ('' for none). */
  get note(): string {
    return this._run?.data.tags?.find(t => t.key === NOTE_TAG)?.value ?? '';
  }

  /** The run's parent run (null for a top-level run, or until loaded). */
  get parentRun(): IRun | null {
    return this._parentRun;
  }

  /** The parent's id from the run's tag (known before the parent loads). */
  get parentRunId(): string | null {
    return this._run ? (parentRunId(this._run) ?? null) : null;
  }

  /** The run's child runs, newest first (at most `MAX_CHILD_RUNS`). */
  get childRuns(): readonly IRun[] {
    return this._childRuns;
  }

  /** The run's MLflow 3 logged models (`source_run_id` = this run). */
  get loggedModels(): readonly IRunLoggedModel[] {
    return this._loggedModels;
  }

  get loggedModelsState(): ILoadState {
    return this._loggedModelsState;
  }

  /** Register one of the run's logged models as a version of `name`. */
  async registerLoggedModel(
    name: string,
    model: ILoggedModel
  ): Promise<IModelVersion> {
    return this._api.registerLoggedModel(name, model);
  }

  /** The artifact folder shown ('' for the root). */
  get artifactDir(): string {
    return this._artifactDir;
  }

  /** The folder's entries: folders first, then by path. */
  get files(): readonly IFileInfo[] {
    return this._files;
  }

  get filesState(): ILoadState {
    return this._filesState;
  }

  /** The folder holds an MLmodel file (it can be registered). */
  get isModelFolder(): boolean {
    return this._files.some(
      f => !f.is_dir && (f.path.split('/').pop() ?? '') === 'MLmodel'
    );
  }

  get preview(): IArtifactPreview | null {
    return this._preview;
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
   * Show a run (null for none). Loading the run already shown, or already
   * loading, does nothing; another run starts afresh at its artifact root.
   */
  async load(runId: string | null): Promise<void> {
    if (runId === this._runId && (this._run !== null || this._state.loading)) {
      return;
    }
    this._runId = runId;
    this._run = null;
    this._parentRun = null;
    this._childRuns = [];
    this._loggedModels = [];
    this._loggedModelsState = IDLE;
    this._artifactDir = '';
    this._files = [];
    this._filesState = IDLE;
    this._preview = null;
    ++this._previewTicket;
    if (runId === null) {
      ++this._runTicket;
      this._state = IDLE;
      this._emit('run');
      return;
    }
    this._state = { loading: true, error: null };
    this._emit('run');
    await this._read(runId);
  }

  /**
   * Read the run again (live updates). A failure keeps the run shown and
   * sets `state.error` until the next success.
   */
  async refresh(): Promise<void> {
    if (this._runId !== null) {
      await this._read(this._runId);
    }
  }

  /** Save the notes, then show them as the server now has them. */
  async saveNote(text: string): Promise<void> {
    const run = this._run;
    if (!run) {
      return;
    }
    const id = run.info.run_id;
    await this._api.setRunTag(id, NOTE_TAG, text);
    const fresh = await this._api.getRun(id);
    if (id === this._runId) {
      this._run = fresh;
      this._emit('notes');
    }
  }

  /** Show another artifact folder ('' for the root) and list it. */
  async openDir(dir: string): Promise<void> {
    const run = this._run;
    if (!run) {
      return;
    }
    const ticket = ++this._filesTicket;
    this._artifactDir = dir;
    this._files = [];
    this._filesState = { loading: true, error: null };
    this._preview = null;
    ++this._previewTicket;
    this._emit('artifacts');
    try {
      const files = await this._api.listRunArtifacts(run.info.run_id, dir);
      if (ticket !== this._filesTicket) {
        return;
      }
      this._files = [...files].sort(
        (a, b) =>
          Number(b.is_dir) - Number(a.is_dir) || a.path.localeCompare(b.path)
      );
      this._filesState = IDLE;
    } catch (reason) {
      if (ticket !== this._filesTicket) {
        return;
      }
      this._filesState = { loading: false, error: toAPIError(reason) };
    }
    this._emit('artifacts');
  }

  /** Download one artifact for the preview (the last request wins). */
  async showPreview(file: IFileInfo): Promise<void> {
    const run = this._run;
    if (!run) {
      return;
    }
    const ticket = ++this._previewTicket;
    this._preview = { file, blob: null, loading: true, error: null };
    this._emit('preview');
    try {
      const blob = await this._api.downloadArtifact(run, file.path);
      if (ticket !== this._previewTicket) {
        return;
      }
      this._preview = { file, blob, loading: false, error: null };
    } catch (reason) {
      if (ticket !== this._previewTicket) {
        return;
      }
      this._preview = {
        file,
        blob: null,
        loading: false,
        error: toAPIError(reason)
      };
    }
    this._emit('preview');
  }

  /** Register a model folder of the run under `name`. */
  async register(name: string, path: string): Promise<IModelVersion> {
    const run = this._run;
    if (!run) {
      throw new LabtrackAPIError('No run is shown.', 0, 'INVALID_STATE');
    }
    return this._api.registerModel(name, run, path);
  }

  private async _read(runId: string): Promise<void> {
    const ticket = ++this._runTicket;
    try {
      const run = await this._api.getRun(runId);
      if (ticket !== this._runTicket) {
        return;
      }
      const live = this._run !== null;
      this._run = run;
      this._state = IDLE;
      this._emit(live ? 'live' : 'run');
      if (!live) {
        void this.openDir(this._artifactDir);
        void this._readRelatives(run);
        void this._readLoggedModels(run);
      }
    } catch (reason) {
      if (ticket !== this._runTicket) {
        return;
      }
      this._state = { loading: false, error: toAPIError(reason) };
      this._emit(this._run === null ? 'run' : 'live');
    }
  }

  /** The run's logged models, then each one's MLmodel, example, requirements. */
  private async _readLoggedModels(run: IRun): Promise<void> {
    const runId = run.info.run_id;
    const current = () => this._run?.info.run_id === runId && !this._isDisposed;
    this._loggedModelsState = { loading: true, error: null };
    this._emit('models');
    let models: ILoggedModel[];
    try {
      models = await this._api.searchLoggedModels(
        [run.info.experiment_id],
        `source_run_id = ${quoteFilterValue(runId)}`
      );
    } catch (reason) {
      if (current()) {
        this._loggedModelsState = { loading: false, error: toAPIError(reason) };
        this._emit('models');
      }
      return;
    }
    if (!current()) {
      return;
    }
    this._loggedModels = models.slice(0, MAX_LOGGED_MODELS).map(model => ({
      model,
      summary: null,
      inputExample: null,
      requirements: null,
      error: null
    }));
    this._loggedModelsState = IDLE;
    this._emit('models');
    const read = async (model: ILoggedModel, path: string) => {
      const text = await (
        await this._api.downloadModelFile(model, path)
      ).text();
      return text.length > MAX_MODEL_TEXT
        ? text.slice(0, MAX_MODEL_TEXT) + '…'
        : text;
    };
    for (const [index, entry] of this._loggedModels.entries()) {
      const model = entry.model;
      let next: IRunLoggedModel;
      try {
        const summary = summarizeMLmodel(
          await (await this._api.downloadModelFile(model, 'MLmodel')).text()
        );
        const [inputExample, requirements] = await Promise.all([
          summary.inputExamplePath
            ? read(model, summary.inputExamplePath).catch(() => null)
            : Promise.resolve(null),
          read(model, 'requirements.txt').catch(() => null)
        ]);
        next = { model, summary, inputExample, requirements, error: null };
      } catch (reason) {
        next = { ...entry, error: toAPIError(reason) };
      }
      if (!current()) {
        return;
      }
      const list = [...this._loggedModels];
      list[index] = next;
      this._loggedModels = list;
      this._emit('models');
    }
  }

  /** The parent and children of a run (for links on its page). */
  private async _readRelatives(run: IRun): Promise<void> {
    const runId = run.info.run_id;
    const parentId = parentRunId(run);
    const [parent, children] = await Promise.all([
      parentId
        ? this._api.getRun(parentId).catch(() => null)
        : Promise.resolve(null),
      this._api
        .searchRunsPage(
          [run.info.experiment_id],
          `tags.\`${PARENT_TAG}\` = ${quoteFilterValue(runId)}`,
          MAX_CHILD_RUNS,
          ['attributes.start_time DESC']
        )
        .then(reply => reply.runs ?? [])
        .catch(() => [] as IRun[])
    ]);
    if (this._run?.info.run_id !== runId || this._isDisposed) {
      return;
    }
    this._parentRun = parent;
    this._childRuns = children;
    this._emit('relatives');
  }

  private _emit(change: RunDetailChange): void {
    if (!this._isDisposed) {
      this._changed.emit(change);
    }
  }

  private _api: ILabtrackAPI;
  private _runId: string | null = null;
  private _run: IRun | null = null;
  private _parentRun: IRun | null = null;
  private _childRuns: IRun[] = [];
  private _loggedModels: IRunLoggedModel[] = [];
  private _loggedModelsState: ILoadState = IDLE;
  private _state: ILoadState = IDLE;
  private _runTicket = 0;
  private _artifactDir = '';
  private _files: IFileInfo[] = [];
  private _filesState: ILoadState = IDLE;
  private _filesTicket = 0;
  private _preview: IArtifactPreview | null = null;
  private _previewTicket = 0;
  private _isDisposed = false;
  private _changed = new Signal<RunDetailModel, RunDetailChange>(this);
}

export namespace RunDetailModel {
  export interface IOptions {
    /** The server client (`createAPI()` from `api.ts`, a stub in tests). */
    api: ILabtrackAPI;
    /** Where chart layouts are kept (local storage by default). */
    layoutStore?: ILayoutStore;
  }
}
