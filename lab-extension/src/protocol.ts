/**
 * The shapes of labtrack's server protocol: MLflow's REST types, labtrack's
 * own endpoints, the error class and `ILabtrackAPI`, the interface of the
 * server client the models use.
 *
 * This module has no runtime dependencies, so the models (and their unit
 * tests) load it without JupyterLab's services stack; `api.ts` implements
 * `ILabtrackAPI` over `ServerConnection`.
 */

/** Path segment under the Jupyter base URL where labtrack is served. */
export const API_NAMESPACE = 'labtrack';

/** The MLflow-compatible REST root, relative to `API_NAMESPACE`. */
export const MLFLOW_API = 'api/2.0/mlflow';

/**
 * Points per chart series when nothing else is set: the default of the
 * `maxPoints` setting (schema/model.json) and of the server (labtrack's
 * `entities.points.CHART_POINTS`); a Python test keeps the three equal.
 */
export const DEFAULT_MAX_POINTS = 1000;

/** Error code used when the server extension does not answer at all. */
export const SERVER_EXTENSION_MISSING = 'LABTRACK_SERVER_EXTENSION_MISSING';

/** Error code used when the request could not reach the server. */
export const NETWORK_ERROR = 'LABTRACK_NETWORK_ERROR';

/** Error code used when a response body is not the JSON we expected. */
export const INVALID_RESPONSE = 'LABTRACK_INVALID_RESPONSE';

/**
 * An error raised by any labtrack request.
 *
 * `errorCode` is MLflow's `error_code` (e.g. `RESOURCE_DOES_NOT_EXIST`,
 * `INVALID_PARAMETER_VALUE`) when the server sent one, or one of the
 * `LABTRACK_*` codes above for client-side failures.
 */
export class LabtrackAPIError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly errorCode: string
  ) {
    super(message);
    this.name = 'LabtrackAPIError';
  }

  /** True when the labtrack server extension is not installed or enabled. */
  get isServerExtensionMissing(): boolean {
    return this.errorCode === SERVER_EXTENSION_MISSING;
  }
}

/** Any rejection as a `LabtrackAPIError` (the type of the models' `error`). */
export function toAPIError(reason: unknown): LabtrackAPIError {
  if (reason instanceof LabtrackAPIError) {
    return reason;
  }
  const message = reason instanceof Error ? reason.message : String(reason);
  return new LabtrackAPIError(message, 0, 'INTERNAL_ERROR');
}

/** The JSON error body MLflow (and labtrack) send with 4xx/5xx answers. */
export interface IMlflowErrorBody {
  error_code: string;
  message: string;
}

export interface ITag {
  key: string;
  value: string;
}

export interface IParam {
  key: string;
  value: string;
}

export interface IMetric {
  key: string;
  value: number;
  timestamp: number;
  step: number;
}

export type LifecycleStage = 'active' | 'deleted';

export interface IExperiment {
  experiment_id: string;
  name: string;
  artifact_location?: string;
  lifecycle_stage?: LifecycleStage;
  creation_time?: number;
  last_update_time?: number;
  tags?: ITag[];
}

export type RunStatus =
  'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';

export interface IRunInfo {
  run_id: string;
  run_name?: string;
  experiment_id: string;
  status: RunStatus;
  start_time?: number;
  end_time?: number;
  user_id?: string;
  artifact_uri?: string;
  lifecycle_stage?: LifecycleStage;
}

export interface IRunData {
  metrics?: IMetric[];
  params?: IParam[];
  tags?: ITag[];
}

export interface IRun {
  info: IRunInfo;
  data: IRunData;
}

export interface ISearchExperimentsResponse {
  experiments?: IExperiment[];
  next_page_token?: string;
}

export interface ISearchRunsRequest {
  experiment_ids: string[];
  filter: string;
  max_results: number;
  order_by: string[];
  page_token?: string;
  run_view_type?: RunViewType;
}

/** Which runs a search lists: MLflow's `ViewType` by lifecycle stage. */
export type RunViewType = 'ACTIVE_ONLY' | 'DELETED_ONLY' | 'ALL';

export interface ISearchRunsResponse {
  runs?: IRun[];
  next_page_token?: string;
}

/** The default number of runs fetched for one experiment. */
export const DEFAULT_MAX_RUNS = 1000;

/* ------------------------------------------------------------- artifacts */

export interface IFileInfo {
  /** Path relative to the run's artifact root. */
  path: string;
  is_dir: boolean;
  file_size?: number;
}

/** The store-relative path (`<exp>/<run>/artifacts`) of a run's artifacts. */
export function artifactRootPath(run: IRun): string {
  const uri = run.info.artifact_uri ?? '';
  const match = /^mlflow-artifacts:(?:\/\/[^/]*)?\/(.*)$/.exec(uri);
  if (match) {
    return match[1].replace(/\/+$/, '');
  }
  return `${run.info.experiment_id}/${run.info.run_id}/artifacts`;
}

/** The artifact store path of an `mlflow-artifacts:` URI (null for others). */
export function artifactUriPath(uri: string | undefined): string | null {
  const match = /^mlflow-artifacts:(?:\/\/[^/]*)?\/(.*)$/.exec(uri ?? '');
  return match ? match[1].replace(/\/+$/, '') : null;
}

/* -------------------------------------------------- MLflow 3 logged models */

export interface ILoggedModel {
  info: {
    model_id: string;
    experiment_id: string;
    name?: string;
    artifact_uri?: string;
    status?: string;
    model_type?: string;
    source_run_id?: string;
    creation_timestamp_ms?: number;
    tags?: ITag[];
  };
  data?: { params?: IParam[]; metrics?: IMetric[] };
}

/* ------------------------------------------------------- metric series */

export interface IMetricSeries {
  run_id: string;
  key: string;
  steps: number[];
  timestamps: number[];
  values: (number | string)[];
  mins?: (number | string)[];
  maxs?: (number | string)[];
  total_points?: number;
}

export interface ISeriesOptions {
  maxPoints?: number;
  x?: 'step' | 'timestamp';
  xMin?: number;
  xMax?: number;
}

/** Decode a wire metric value ("NaN", "Infinity" are strings). */
export function metricNumber(value: number | string): number {
  return typeof value === 'number' ? value : Number(value);
}

/* --------------------------------------------------------- change feed */

export interface IChange {
  seq: number;
  time: number;
  kind: string;
  experiment_id?: string;
  run_id?: string;
}

export interface IChangesResponse {
  cursor: number;
  changes?: IChange[];
}

/** Who the server takes the browser's user to be (`api/labtrack/whoami`). */
export interface IWhoAmI {
  user: string;
  /** True on a team service: runs belong to the authenticated user. */
  team: boolean;
}

export interface IRunCountsResponse {
  /** Experiment id -> matching runs (0 for an unknown id). */
  counts: Record<string, number>;
  total: number;
}

/* ------------------------------------------------------------- registry */

export interface IRegisteredModel {
  name: string;
  creation_timestamp?: number;
  last_updated_timestamp?: number;
  description?: string;
  latest_versions?: IModelVersion[];
  tags?: ITag[];
  aliases?: { alias: string; version: string }[];
}

export interface IModelVersion {
  name: string;
  version: string;
  creation_timestamp?: number;
  last_updated_timestamp?: number;
  user_id?: string;
  current_stage?: string;
  description?: string;
  source?: string;
  run_id?: string;
  status?: string;
  tags?: ITag[];
  aliases?: string[];
}

/** The stages MLflow knows (deprecated in MLflow 3, still served). */
export const MODEL_STAGES = ['None', 'Staging', 'Production', 'Archived'];

/**
 * The server client the models use (`createAPI()` in `api.ts` is the real
 * one). Only models call it; views talk to models.
 */
export interface ILabtrackAPI {
  searchExperiments(): Promise<ISearchExperimentsResponse>;
  searchRunsPage(
    experimentIds: string[],
    filter: string,
    maxResults: number,
    orderBy: string[],
    pageToken?: string,
    viewType?: RunViewType
  ): Promise<ISearchRunsResponse>;
  countRuns(
    experimentIds: string[],
    filter: string,
    viewType?: RunViewType
  ): Promise<IRunCountsResponse>;
  getRun(runId: string): Promise<IRun>;
  setRunTag(runId: string, key: string, value: string): Promise<void>;
  /** Run actions (`runactions.ts`): rename, delete, restore, remove a tag. */
  renameRun(runId: string, name: string): Promise<void>;
  deleteRun(runId: string): Promise<void>;
  restoreRun(runId: string): Promise<void>;
  deleteRunTag(runId: string, key: string): Promise<void>;
  /** Every point of a run's metric (`historyapi.ts`; CSV downloads). */
  getMetricHistory(runId: string, key: string): Promise<IMetricSeries>;
  listRunArtifacts(runId: string, path: string): Promise<IFileInfo[]>;
  downloadArtifact(run: IRun, path: string): Promise<Blob>;
  getMetricSeries(
    runIds: string[],
    metricKey: string,
    options: ISeriesOptions
  ): Promise<IMetricSeries[]>;
  getChanges(cursor: number | null): Promise<IChangesResponse>;
  whoAmI(): Promise<IWhoAmI>;
  searchRegisteredModels(): Promise<IRegisteredModel[]>;
  getRegisteredModel(name: string): Promise<IRegisteredModel>;
  searchModelVersions(name: string): Promise<IModelVersion[]>;
  updateRegisteredModel(name: string, description: string): Promise<void>;
  setModelAlias(name: string, alias: string, version: string): Promise<void>;
  deleteModelAlias(name: string, alias: string): Promise<void>;
  transitionModelVersionStage(
    name: string,
    version: string,
    stage: string
  ): Promise<void>;
  registerModel(name: string, run: IRun, path: string): Promise<IModelVersion>;
  /** MLflow 3 logged models of the experiments matching `filter`. */
  searchLoggedModels(
    experimentIds: string[],
    filter: string
  ): Promise<ILoggedModel[]>;
  /** One file of a logged model's artifacts. */
  downloadModelFile(model: ILoggedModel, path: string): Promise<Blob>;
  /** Register a logged model (a new version of `name`, created if needed). */
  registerLoggedModel(
    name: string,
    model: ILoggedModel
  ): Promise<IModelVersion>;
}
