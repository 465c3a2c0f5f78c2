import { Token } from '@lumino/coreutils';
import { IDisposable } from '@lumino/disposable';
import { ISignal } from '@lumino/signaling';

import { IExperiment, IRun, LabtrackAPIError } from './protocol';
import { IQuickFilters } from './runfilters';
import { RunMarks } from './runmarks';
import { SavedViews } from './savedviews';

/** The views of the dashboard's main area. */
export type DashboardView = 'runs' | 'compare' | 'run' | 'models';

/** Command ids, shared by the plugins and anything that wants to call them. */
export namespace CommandIDs {
  export const openDashboard = 'labtrack:open-dashboard';
  export const refresh = 'labtrack:refresh';
  export const openCompare = 'labtrack:open-compare';
  export const openRegistry = 'labtrack:open-registry';
  export const openRun = 'labtrack:open-run';
  export const showSidebar = 'labtrack:show-sidebar';
}

/** The loading state of one collection in the model. */
export interface ILoadState {
  /** A request for this collection is in flight. */
  readonly loading: boolean;
  /** The last request failed with this error (cleared on the next success). */
  readonly error: LabtrackAPIError | null;
}

/** What part of the model changed; views re-render only that part. */
export type ModelChange =
  | 'experiments'
  | 'selection'
  | 'runs'
  | 'filter'
  | 'runSelection'
  | 'view'
  | 'columns'
  | 'sidebar';

/** Summary of one experiment for the sidebar. */
export interface IExperimentSummary {
  /** The experiment's active runs. */
  count: number;
}

/**
 * The shared state of labtrack's views: experiments, the selection, and the
 * runs of the selected experiment, so two views never disagree about what is
 * selected. Views never call the server: this model and the models of the
 * compare, run detail and registry views (`comparemodel.ts`,
 * `rundetailmodel.ts`, `registrymodel.ts`) do, through `ILabtrackAPI`.
 */
export interface ILabtrackModel extends IDisposable {
  /** The active experiments, as last fetched. */
  readonly experiments: readonly IExperiment[];
  readonly experimentsState: ILoadState;

  /** The selected experiment id, or null. */
  readonly selectedExperimentId: string | null;
  readonly selectedExperiment: IExperiment | null;

  /** The runs of the selected experiment that match `filter`. */
  readonly runs: readonly IRun[];
  readonly runsState: ILoadState;

  /**
   * Runs shown only to place the matches in their tree: missing parents of
   * listed runs and, with `showChildrenOfMatches`, the matches' children.
   */
  readonly contextRuns: readonly IRun[];
  /** With a filter, also list the children of matching runs. */
  readonly showChildrenOfMatches: boolean;
  setShowChildrenOfMatches(show: boolean): Promise<void>;

  /** The MLflow search filter applied to runs ('' for none). */
  readonly filter: string;
  /** Status, start-time and lifecycle filters (`runfilters.ts`). */
  readonly quickFilters: IQuickFilters;
  setQuickFilters(patch: Partial<IQuickFilters>): Promise<void>;
  /** The typed and quick filters joined, as the listed runs were fetched. */
  readonly effectiveFilter: string;

  /** Pinned runs (top of the table) and hidden runs (out of the charts). */
  readonly marks: RunMarks;
  /** Saved views of the runs table, per experiment (`savedviews.ts`). */
  readonly views: SavedViews;

  /** Run actions (re-read the list and emit `runsChanged` when done). */
  renameRun(runId: string, name: string): Promise<void>;
  deleteRuns(runIds: readonly string[]): Promise<void>;
  restoreRuns(runIds: readonly string[]): Promise<void>;
  setRunTag(runId: string, key: string, value: string): Promise<void>;
  deleteRunTag(runId: string, key: string): Promise<void>;

  /**
   * The signed-in user on a team service (runs belong to whoever logged
   * them), else null: then there is no "mine / everyone" choice.
   */
  readonly me: string | null;
  /** List only the runs of `me` (ignored while `me` is null). */
  readonly mineOnly: boolean;
  setMineOnly(mine: boolean): Promise<void>;
  /**
   * The filter the runs are searched with: `filter`, and with `mineOnly`
   * the clause on `tags.mlflow.user`.
   */
  readonly searchFilter: string;
  /** Ask the server who the user is (once; failures leave `me` null). */
  loadIdentity(): Promise<void>;

  /** The maximum number of runs fetched per experiment. */
  maxRuns: number;

  /** All experiments whose runs are listed (compare across experiments). */
  readonly experimentIds: readonly string[];

  /** True while later pages of a big experiment are still arriving. */
  readonly runsPaging: boolean;
  /** Runs matching the filter in the listed experiments (null until known). */
  readonly runsTotal: number | null;
  /** All runs of the listed experiments after a refused filter, else null. */
  readonly unfilteredTotal: number | null;

  /** Runs picked for comparison (any experiment), in pick order. */
  readonly selectedRuns: readonly IRun[];
  isRunSelected(runId: string): boolean;
  setRunSelected(run: IRun, selected: boolean): void;
  setSelectedRuns(runs: readonly IRun[]): void;

  /** The dashboard view and the run shown in the detail view. */
  readonly view: DashboardView;
  readonly detailRunId: string | null;
  setView(view: DashboardView): void;
  openRun(runId: string): void;

  /** The chosen columns (`params.x`, `metrics.y`, `tags.z`) of an experiment. */
  columnsFor(experimentKey: string): string[] | null;
  setColumns(experimentKey: string, columns: string[] | null): void;

  /** Sidebar data: experiment run counts, recent and running runs. */
  readonly summaries: ReadonlyMap<string, IExperimentSummary>;
  readonly recentRuns: readonly IRun[];
  refreshSidebar(): Promise<void>;

  /** Runs whose status or data changed on the server (live updates). */
  readonly runsChanged: ISignal<ILabtrackModel, ReadonlySet<string>>;

  /** Emitted after any part of the state changed. */
  readonly changed: ISignal<ILabtrackModel, ModelChange>;

  /**
   * Select an experiment (or none) and fetch its runs; with `add`, toggle it
   * in the listed set instead (runs of several experiments side by side).
   */
  selectExperiment(experimentId: string | null, add?: boolean): Promise<void>;

  /** Set the run filter and fetch the runs again. */
  setFilter(filter: string): Promise<void>;

  /** Fetch the experiments list again. */
  refreshExperiments(): Promise<void>;

  /** Fetch the runs of the selected experiment again. */
  refreshRuns(): Promise<void>;

  /** Fetch everything again. */
  refresh(): Promise<void>;
}

/** The labtrack model, provided by the `labtrack:model` plugin. */
export const ILabtrackModel = new Token<ILabtrackModel>(
  'labtrack:ILabtrackModel',
  'The shared labtrack state: experiments, selection and runs.'
);
