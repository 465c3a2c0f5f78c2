import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import {
  DEFAULT_MAX_RUNS,
  IExperiment,
  ILabtrackAPI,
  IRun,
  RunViewType,
  toAPIError
} from './protocol';
import {
  IQuickFilters,
  NO_QUICK_FILTERS,
  composeFilter,
  runViewType
} from './runfilters';
import { RunMarks } from './runmarks';
import { SavedViews } from './savedviews';
import { missingParentIds, quoteFilterValue } from './runtree';
import {
  DashboardView,
  IExperimentSummary,
  ILabtrackModel,
  ILoadState,
  ModelChange
} from './tokens';

/** A collection that is neither loading nor failed. */
export const IDLE: ILoadState = Object.freeze({ loading: false, error: null });

/** The first page is small so the first rows show at once. */
const FIRST_PAGE = 100;
/** Later pages of a big experiment. */
const NEXT_PAGE = 2500;
/** Runs read for the sidebar's counts and recent list. */
const SIDEBAR_RUNS = 1000;
/** Changed runs patched one by one; more than this re-reads the list. */
const MAX_PATCHED_RUNS = 25;
const ORDER = ['attributes.start_time DESC'];
/** Run ids per `IN (...)` search of parents or children. */
const RELATIVES_CHUNK = 100;
/** Matches whose children are fetched ("show children of matches"). */
const MAX_CHILDREN_OF = 1000;
/** Levels of missing parents fetched above the listed runs. */
const MAX_PARENT_LEVELS = 8;

/**
 * `filter` narrowed to the runs of `user` (their `mlflow.user` tag), or
 * `filter` itself when `user` is null. MLflow's filters are clauses joined
 * by AND, so appending one keeps the meaning of the rest.
 */
export function mineFilter(filter: string, user: string | null): string {
  if (user === null) {
    return filter;
  }
  const clause = `tags.\`mlflow.user\` = ${quoteFilterValue(user)}`;
  return filter ? `${filter} AND ${clause}` : clause;
}

/**
 * The default `ILabtrackModel`.
 *
 * Responses that arrive after a newer request was started for the same
 * collection are dropped, so a fast sequence of clicks always ends showing
 * the last selected experiment. A `Poll` on the server's change feed keeps
 * runs live (standby when the page is hidden, backoff on errors).
 */
export class LabtrackModel implements ILabtrackModel {
  constructor(options: LabtrackModel.IOptions) {
    this._api = options.api;
    this._maxRuns = options.maxRuns ?? DEFAULT_MAX_RUNS;
    this._autoSelect = options.openDefaultExperiment ?? false;
    this.marks = options.marks ?? new RunMarks();
    this._poll = new Poll({
      auto: false,
      factory: () => this._pollChanges(),
      frequency: {
        interval: options.pollInterval ?? 1000,
        backoff: true,
        max: 30 * 1000
      },
      name: 'labtrack:changes',
      standby: 'when-hidden'
    });
  }

  /** Pinned and hidden runs (`runmarks.ts`). */
  readonly marks: RunMarks;

  /** Saved views of the runs table (`savedviews.ts`). */
  readonly views = new SavedViews();

  get changed(): ISignal<ILabtrackModel, ModelChange> {
    return this._changed;
  }

  get runsChanged(): ISignal<ILabtrackModel, ReadonlySet<string>> {
    return this._runsChanged;
  }

  get experiments(): readonly IExperiment[] {
    return this._experiments;
  }

  get experimentsState(): ILoadState {
    return this._experimentsState;
  }

  get experimentIds(): readonly string[] {
    return this._experimentIds;
  }

  get selectedExperimentId(): string | null {
    return this._experimentIds[0] ?? null;
  }

  get selectedExperiment(): IExperiment | null {
    const id = this.selectedExperimentId;
    return this._experiments.find(e => e.experiment_id === id) ?? null;
  }

  get runs(): readonly IRun[] {
    return this._runs;
  }

  get runsState(): ILoadState {
    return this._runsState;
  }

  get contextRuns(): readonly IRun[] {
    return this._contextRuns;
  }

  get showChildrenOfMatches(): boolean {
    return this._showChildrenOfMatches;
  }

  async setShowChildrenOfMatches(show: boolean): Promise<void> {
    if (show === this._showChildrenOfMatches) {
      return;
    }
    this._showChildrenOfMatches = show;
    this._emit('runs');
    await this._loadRelatives(this._runsTicket, this._runs);
  }

  /**
   * All runs of the listed experiments, read when the filter was refused
   * (the count shown beside the error); null otherwise.
   */
  get unfilteredTotal(): number | null {
    return this._unfilteredTotal;
  }

  /** The experiment to open when none is selected (remembered per user). */
  set lastExperimentId(id: string | null) {
    this._lastExperimentId = id;
  }

  /** Called with each newly selected experiment, to remember it. */
  set onExperimentSelected(callback: ((id: string) => void) | null) {
    this._onExperimentSelected = callback;
  }

  /**
   * The experiment the dashboard opens on: the remembered one if it still
   * exists, else the most recently active (last update, then creation).
   */
  defaultExperimentId(): string | null {
    const experiments = this._experiments;
    if (experiments.length === 0) {
      return null;
    }
    const remembered = this._lastExperimentId;
    if (remembered && experiments.some(e => e.experiment_id === remembered)) {
      return remembered;
    }
    const active = (e: IExperiment) =>
      e.last_update_time ?? e.creation_time ?? 0;
    return [...experiments].sort((a, b) => active(b) - active(a))[0]
      .experiment_id;
  }

  get runsTotal(): number | null {
    return this._runsTotal;
  }

  get runsPaging(): boolean {
    return this._runsPaging;
  }

  get filter(): string {
    return this._filter;
  }

  /** The status, start-time and lifecycle filters of the runs table. */
  get quickFilters(): IQuickFilters {
    return this._quick;
  }

  /**
   * The filter the listed runs were fetched with: the typed filter and the
   * quick filters (a time window is fixed when the runs are fetched).
   */
  get effectiveFilter(): string {
    return this._effectiveFilter;
  }

  async setQuickFilters(patch: Partial<IQuickFilters>): Promise<void> {
    const next = { ...this._quick, ...patch };
    if (JSON.stringify(next) === JSON.stringify(this._quick)) {
      return;
    }
    this._quick = next;
    this._runsTotal = null;
    this._emit('filter');
    await this.refreshRuns();
  }

  /** Rename a run (`runs/update`). */
  async renameRun(runId: string, name: string): Promise<void> {
    await this._api.renameRun(runId, name);
    await this._afterRunAction([runId]);
  }

  /**
   * Delete runs (soft: `runs/delete`, restorable). They leave the comparison.
   * All are tried; the first failure is thrown after the list is re-read.
   */
  async deleteRuns(runIds: readonly string[]): Promise<void> {
    await this._eachRun(runIds, id => this._api.deleteRun(id));
  }

  /** Restore deleted runs (`runs/restore`). */
  async restoreRuns(runIds: readonly string[]): Promise<void> {
    await this._eachRun(runIds, id => this._api.restoreRun(id));
  }

  /** Add or change a run tag. */
  async setRunTag(runId: string, key: string, value: string): Promise<void> {
    await this._api.setRunTag(runId, key, value);
    await this._afterRunAction([runId]);
  }

  /** Remove a run tag. */
  async deleteRunTag(runId: string, key: string): Promise<void> {
    await this._api.deleteRunTag(runId, key);
    await this._afterRunAction([runId]);
  }

  get me(): string | null {
    return this._me;
  }

  get mineOnly(): boolean {
    return this._mineOnly && this._me !== null;
  }

  async setMineOnly(mine: boolean): Promise<void> {
    if (mine === this._mineOnly) {
      return;
    }
    this._mineOnly = mine;
    this._runsTotal = null;
    this._emit('filter');
    if (this._me !== null) {
      await this.refreshRuns();
    }
  }

  get searchFilter(): string {
    return mineFilter(this._filter, this.mineOnly ? this._me : null);
  }

  async loadIdentity(): Promise<void> {
    try {
      const reply = await this._api.whoAmI();
      this._me = reply.team && reply.user ? reply.user : null;
    } catch (reason) {
      // An older server has no whoami: no "mine" filter, nothing else lost.
      console.warn('labtrack: could not tell who the user is', reason);
      this._me = null;
    }
    this._emit('filter');
    if (this._mineOnly && this._me !== null) {
      await this.refreshRuns();
    }
  }

  get maxRuns(): number {
    return this._maxRuns;
  }
  set maxRuns(value: number) {
    const next = Math.max(1, Math.floor(value));
    if (next === this._maxRuns) {
      return;
    }
    this._maxRuns = next;
    if (this._experimentIds.length > 0) {
      void this.refreshRuns();
    }
  }

  /** Milliseconds between change-feed polls. */
  set pollInterval(value: number) {
    const interval = Math.max(250, value);
    this._poll.frequency = { ...this._poll.frequency, interval };
  }

  get selectedRuns(): readonly IRun[] {
    return [...this._selectedRuns.values()];
  }

  isRunSelected(runId: string): boolean {
    return this._selectedRuns.has(runId);
  }

  setRunSelected(run: IRun, selected: boolean): void {
    const id = run.info.run_id;
    if (selected === this._selectedRuns.has(id)) {
      return;
    }
    if (selected) {
      this._selectedRuns.set(id, run);
    } else {
      this._selectedRuns.delete(id);
    }
    this._emit('runSelection');
  }

  setSelectedRuns(runs: readonly IRun[]): void {
    this._selectedRuns = new Map(runs.map(r => [r.info.run_id, r]));
    this._emit('runSelection');
  }

  get view(): DashboardView {
    return this._view;
  }

  get detailRunId(): string | null {
    return this._detailRunId;
  }

  setView(view: DashboardView): void {
    if (view === this._view) {
      return;
    }
    this._view = view;
    this._emit('view');
  }

  openRun(runId: string): void {
    this._detailRunId = runId;
    this._view = 'run';
    this._emit('view');
  }

  columnsFor(experimentKey: string): string[] | null {
    return this._columns[experimentKey] ?? null;
  }

  setColumns(experimentKey: string, columns: string[] | null): void {
    const next = { ...this._columns };
    if (columns === null) {
      delete next[experimentKey];
    } else {
      next[experimentKey] = [...columns];
    }
    this._columns = next;
    this._emit('columns');
    this._onColumnsChanged?.(next);
  }

  /** Load remembered columns (from the settings registry). */
  loadColumns(columns: Record<string, string[]>): void {
    if (JSON.stringify(columns) === JSON.stringify(this._columns)) {
      return;
    }
    this._columns = { ...columns };
    this._emit('columns');
  }

  /** Called with every column change, to persist it. */
  set onColumnsChanged(
    callback: ((columns: Record<string, string[]>) => void) | null
  ) {
    this._onColumnsChanged = callback;
  }

  get summaries(): ReadonlyMap<string, IExperimentSummary> {
    return this._summaries;
  }

  get recentRuns(): readonly IRun[] {
    return this._recentRuns;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._poll.dispose();
    Signal.clearData(this);
  }

  /** Start following the change feed (idempotent). */
  startLive(): void {
    if (!this._liveStarted) {
      this._liveStarted = true;
      void this._poll.start();
    }
  }

  async selectExperiment(
    experimentId: string | null,
    add = false
  ): Promise<void> {
    let next: string[];
    if (experimentId === null) {
      next = [];
    } else if (add) {
      next = this._experimentIds.includes(experimentId)
        ? this._experimentIds.filter(id => id !== experimentId)
        : [...this._experimentIds, experimentId];
    } else {
      next = [experimentId];
    }
    if (next.join('\n') === this._experimentIds.join('\n')) {
      return;
    }
    this._experimentIds = next;
    this._autoSelect = false;
    this._runs = [];
    this._contextRuns = [];
    this._runsState = IDLE;
    this._runsTotal = null;
    if (next.length > 0) {
      this._onExperimentSelected?.(next[0]);
    }
    this._emit('selection');
    this._emit('runs');
    await this.refreshRuns();
  }

  async setFilter(filter: string): Promise<void> {
    const next = filter.trim();
    if (next === this._filter) {
      return;
    }
    this._filter = next;
    this._runsTotal = null;
    this._emit('filter');
    await this.refreshRuns();
  }

  async refreshExperiments(): Promise<void> {
    const ticket = ++this._experimentsTicket;
    this._experimentsState = {
      loading: true,
      error: this._experimentsState.error
    };
    this._emit('experiments');
    try {
      const reply = await this._api.searchExperiments();
      if (ticket !== this._experimentsTicket) {
        return;
      }
      this._experiments = [...(reply.experiments ?? [])].sort((a, b) =>
        a.name.localeCompare(b.name)
      );
      this._experimentsState = IDLE;
      // The first time experiments arrive with none selected, open one.
      const open = this._autoSelect ? this.defaultExperimentId() : null;
      if (open !== null && this._experimentIds.length === 0) {
        void this.selectExperiment(open);
      }
    } catch (reason) {
      if (ticket !== this._experimentsTicket) {
        return;
      }
      this._experimentsState = { loading: false, error: toAPIError(reason) };
    }
    this._emit('experiments');
  }

  /**
   * Fetch the runs of the listed experiments: a small first page (the first
   * rows show at once), then bigger pages up to `maxRuns`.
   */
  async refreshRuns(): Promise<void> {
    const ticket = ++this._runsTicket;
    const experimentIds = [...this._experimentIds];
    if (experimentIds.length === 0) {
      this._runs = [];
      this._contextRuns = [];
      this._runsState = IDLE;
      this._runsPaging = false;
      this._runsTotal = null;
      this._emit('runs');
      return;
    }
    const keepShowing = this._runs.length > 0;
    this._unfilteredTotal = null;
    this._runsState = { loading: !keepShowing, error: null };
    if (!keepShowing) {
      this._emit('runs');
    }
    const runs: IRun[] = [];
    let pageToken: string | undefined;
    const filter = composeFilter(this.searchFilter, this._quick, Date.now());
    this._effectiveFilter = filter;
    const view = this._viewArgs();
    // The exact total, beside the pages (a list is capped at `maxRuns`).
    void this._api.countRuns(experimentIds, filter, ...view).then(
      reply => {
        if (ticket === this._runsTicket) {
          this._runsTotal = reply.total;
          this._emit('runs');
        }
      },
      () => undefined // a bad filter is reported by the search itself
    );
    try {
      do {
        const size = Math.min(
          runs.length === 0 ? FIRST_PAGE : NEXT_PAGE,
          this._maxRuns - runs.length
        );
        const reply = await this._api.searchRunsPage(
          experimentIds,
          filter,
          size,
          ORDER,
          pageToken,
          ...view
        );
        if (ticket !== this._runsTicket) {
          return;
        }
        runs.push(...(reply.runs ?? []));
        pageToken = reply.next_page_token;
        const more = !!pageToken && runs.length < this._maxRuns;
        // Show the first page at once; later pages replace the list when
        // complete, or when the old list was shorter (keeps live refreshes
        // from flickering).
        if (!more || !keepShowing) {
          this._runs = [...runs];
          this._runsState = IDLE;
          this._runsPaging = more;
          this._emit('runs');
        }
        if (!more) {
          break;
        }
      } while (ticket === this._runsTicket);
      if (ticket === this._runsTicket) {
        await this._loadRelatives(ticket, runs);
      }
    } catch (reason) {
      if (ticket !== this._runsTicket) {
        return;
      }
      this._runs = [];
      this._contextRuns = [];
      this._runsPaging = false;
      this._runsTotal = null;
      const error = toAPIError(reason);
      this._runsState = { loading: false, error };
      this._emit('runs');
      if (error.errorCode === 'INVALID_PARAMETER_VALUE' && filter) {
        // A refused filter: say how many runs there are without it.
        try {
          const counted = await this._api.countRuns(experimentIds, '');
          if (ticket === this._runsTicket) {
            this._unfilteredTotal = counted.total;
            this._emit('runs');
          }
        } catch {
          // The count is a nicety; the error is already shown.
        }
      }
    }
  }

  async refreshSidebar(): Promise<void> {
    const ticket = ++this._sidebarTicket;
    const ids = this._experiments.map(e => e.experiment_id);
    if (ids.length === 0) {
      return;
    }
    try {
      const [reply, counted] = await Promise.all([
        this._api.searchRunsPage(ids, '', SIDEBAR_RUNS, ORDER),
        this._api.countRuns(ids, '')
      ]);
      if (ticket !== this._sidebarTicket) {
        return;
      }
      const runs = reply.runs ?? [];
      const summaries = new Map<string, IExperimentSummary>();
      for (const id of ids) {
        summaries.set(id, { count: counted.counts[id] ?? 0 });
      }
      this._summaries = summaries;
      this._recentRuns = runs.slice(0, 30);
      this._emit('sidebar');
    } catch (reason) {
      console.warn('labtrack: could not load the sidebar summary', reason);
    }
  }

  async refresh(): Promise<void> {
    await Promise.all([this.refreshExperiments(), this.refreshRuns()]);
    await this.refreshSidebar();
  }

  /**
   * The runs shown around the matches, for the tree: the missing parents
   * (and their parents) of listed runs, and with `showChildrenOfMatches` and
   * a filter, the children of the matches. Failures leave the tree flatter.
   */
  private async _loadRelatives(
    ticket: number,
    runs: readonly IRun[]
  ): Promise<void> {
    const experimentIds = [...this._experimentIds];
    const known = new Set(runs.map(r => r.info.run_id));
    const context: IRun[] = [];
    const add = (found: readonly IRun[]) => {
      for (const run of found) {
        if (!known.has(run.info.run_id)) {
          known.add(run.info.run_id);
          context.push(run);
        }
      }
    };
    try {
      if (
        this._showChildrenOfMatches &&
        this._effectiveFilter &&
        runs.length > 0
      ) {
        const ids = runs.slice(0, MAX_CHILDREN_OF).map(r => r.info.run_id);
        add(
          await this._searchIn(experimentIds, 'tags.`mlflow.parentRunId`', ids)
        );
      }
      let level: readonly IRun[] = [...runs, ...context];
      for (let depth = 0; depth < MAX_PARENT_LEVELS; depth++) {
        const missing = missingParentIds(level, known);
        if (missing.length === 0 || ticket !== this._runsTicket) {
          break;
        }
        const found = await this._searchIn(
          experimentIds,
          'attributes.run_id',
          missing
        );
        // A parent that cannot be found is not asked for again.
        missing.forEach(id => known.add(id));
        context.push(...found.filter(r => !runs.includes(r)));
        level = found;
      }
    } catch (reason) {
      console.warn('labtrack: could not load parent or child runs', reason);
    }
    if (ticket !== this._runsTicket || this._isDisposed) {
      return;
    }
    if (context.length === 0 && this._contextRuns.length === 0) {
      return;
    }
    this._contextRuns = context;
    this._emit('runs');
  }

  /** Runs whose `key` is one of `values`, in chunks. */
  private async _searchIn(
    experimentIds: string[],
    key: string,
    values: readonly string[]
  ): Promise<IRun[]> {
    const found: IRun[] = [];
    for (let i = 0; i < values.length; i += RELATIVES_CHUNK) {
      const chunk = values.slice(i, i + RELATIVES_CHUNK);
      const filter = `${key} IN (${chunk.map(quoteFilterValue).join(', ')})`;
      let pageToken: string | undefined;
      do {
        // Relatives of deleted runs may be deleted or active.
        const reply = await this._api.searchRunsPage(
          experimentIds,
          filter,
          NEXT_PAGE,
          ORDER,
          pageToken,
          ...(this._quick.lifecycle === 'active' ? [] : ['ALL' as const])
        );
        found.push(...(reply.runs ?? []));
        pageToken = reply.next_page_token;
      } while (pageToken && found.length < this._maxRuns);
    }
    return found;
  }

  /** One poll of the change feed: patch what changed. */
  private async _pollChanges(): Promise<void> {
    if (this._isDisposed) {
      return;
    }
    const reply = await this._api.getChanges(this._cursor);
    const first = this._cursor === null;
    this._cursor = reply.cursor;
    const changes = reply.changes ?? [];
    if (first || changes.length === 0) {
      return;
    }
    const runIds = new Set<string>();
    let experimentsChanged = false;
    let newRuns = false;
    let sidebarStale = false;
    const listed = new Set(this._experimentIds);
    for (const change of changes) {
      if (change.kind === 'experiment') {
        experimentsChanged = true;
      }
      if (change.run_id) {
        runIds.add(change.run_id);
        const known = this._runs.some(r => r.info.run_id === change.run_id);
        if (
          change.kind === 'run' &&
          !this._recentRuns.some(r => r.info.run_id === change.run_id)
        ) {
          sidebarStale = true;
        }
        if (
          change.kind === 'run' &&
          !known &&
          change.experiment_id !== undefined &&
          listed.has(change.experiment_id)
        ) {
          newRuns = true;
        }
      }
    }
    if (experimentsChanged) {
      void this.refreshExperiments();
    }
    if (sidebarStale || experimentsChanged) {
      void this.refreshSidebar();
    }
    if (newRuns || runIds.size > MAX_PATCHED_RUNS) {
      void this.refreshRuns();
    }
    if (runIds.size > MAX_PATCHED_RUNS) {
      void this.refreshSidebar();
    } else if (runIds.size > 0) {
      // Also when the list is re-read: a run shown elsewhere (the sidebar's
      // running and recent runs, the compared runs) may not match the
      // filter, and must not keep a stale status until the next re-read.
      await this._patchRuns(runIds);
    }
    if (runIds.size > 0 && !this._isDisposed) {
      this._runsChanged.emit(runIds);
    }
  }

  /** Re-read a few changed runs and replace them wherever they are shown. */
  private async _patchRuns(runIds: Set<string>): Promise<void> {
    const shown = new Set<string>([
      ...this._runs.map(r => r.info.run_id),
      ...this._contextRuns.map(r => r.info.run_id),
      ...this._recentRuns.map(r => r.info.run_id),
      ...this._selectedRuns.keys()
    ]);
    const wanted = [...runIds].filter(id => shown.has(id));
    const fresh = await Promise.all(
      wanted.map(id => this._api.getRun(id).catch(() => null))
    );
    const byId = new Map<string, IRun>();
    for (const run of fresh) {
      if (run) {
        byId.set(run.info.run_id, run);
      }
    }
    if (byId.size === 0) {
      return;
    }
    const swap = (run: IRun) => byId.get(run.info.run_id) ?? run;
    const ticket = this._runsTicket;
    this._runs = this._runs.map(swap);
    this._contextRuns = this._contextRuns.map(swap);
    this._recentRuns = this._recentRuns.map(swap);
    for (const [id, run] of byId) {
      if (this._selectedRuns.has(id)) {
        this._selectedRuns.set(id, run);
      }
    }
    if (ticket === this._runsTicket) {
      this._emit('runs');
    }
    this._emit('sidebar');
  }

  /** `run_view_type` as trailing arguments: none for the default (active). */
  private _viewArgs(): [] | [RunViewType] {
    const view = runViewType(this._quick.lifecycle);
    return view === 'ACTIVE_ONLY' ? [] : [view];
  }

  private async _eachRun(
    runIds: readonly string[],
    action: (runId: string) => Promise<void>
  ): Promise<void> {
    const results = await Promise.allSettled(runIds.map(id => action(id)));
    const done = runIds.filter((_, i) => results[i].status === 'fulfilled');
    const kept = [...this._selectedRuns.values()].filter(
      run => !done.includes(run.info.run_id)
    );
    if (kept.length !== this._selectedRuns.size) {
      this.setSelectedRuns(kept);
    }
    await this._afterRunAction(done);
    const failed = results.find(r => r.status === 'rejected');
    if (failed) {
      throw toAPIError((failed as PromiseRejectedResult).reason);
    }
  }

  /** After a change made here: re-read the list, tell the open views. */
  private async _afterRunAction(runIds: readonly string[]): Promise<void> {
    if (runIds.length > 0 && !this._isDisposed) {
      this._runsChanged.emit(new Set(runIds));
    }
    await this.refreshRuns();
    void this.refreshSidebar();
  }

  private _emit(change: ModelChange): void {
    if (!this._isDisposed) {
      this._changed.emit(change);
    }
  }

  private _api: ILabtrackAPI;
  private _maxRuns: number;
  private _experiments: IExperiment[] = [];
  private _experimentsState: ILoadState = IDLE;
  private _experimentsTicket = 0;
  private _experimentIds: string[] = [];
  private _runs: IRun[] = [];
  private _runsState: ILoadState = IDLE;
  private _runsTicket = 0;
  private _contextRuns: IRun[] = [];
  private _showChildrenOfMatches = false;
  private _runsPaging = false;
  private _runsTotal: number | null = null;
  private _unfilteredTotal: number | null = null;
  private _autoSelect: boolean;
  private _lastExperimentId: string | null = null;
  private _onExperimentSelected: ((id: string) => void) | null = null;
  private _filter = '';
  private _effectiveFilter = '';
  private _quick: IQuickFilters = NO_QUICK_FILTERS;
  private _me: string | null = null;
  private _mineOnly = false;
  private _selectedRuns = new Map<string, IRun>();
  private _view: DashboardView = 'runs';
  private _detailRunId: string | null = null;
  private _columns: Record<string, string[]> = {};
  private _onColumnsChanged:
    ((columns: Record<string, string[]>) => void) | null = null;
  private _summaries = new Map<string, IExperimentSummary>();
  private _recentRuns: IRun[] = [];
  private _sidebarTicket = 0;
  private _cursor: number | null = null;
  private _poll: Poll;
  private _liveStarted = false;
  private _isDisposed = false;
  private _changed = new Signal<ILabtrackModel, ModelChange>(this);
  private _runsChanged = new Signal<ILabtrackModel, ReadonlySet<string>>(this);
}

export namespace LabtrackModel {
  export interface IOptions {
    /** The server client (`createAPI()` from `api.ts`, a stub in tests). */
    api: ILabtrackAPI;
    /** The maximum number of runs fetched per experiment. */
    maxRuns?: number;
    /** Milliseconds between change-feed polls (default 1000). */
    pollInterval?: number;
    /**
     * When the experiments first arrive and none is selected, select the
     * remembered (`lastExperimentId`) or most recently active one.
     */
    openDefaultExperiment?: boolean;
    /** Pinned and hidden runs (kept in local storage by default). */
    marks?: RunMarks;
  }
}
