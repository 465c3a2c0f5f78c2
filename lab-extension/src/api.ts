/**
 * The one module that talks to the labtrack server.
 *
 * Every request goes through `requestAPI`, which resolves paths under
 * `<base_url>labtrack/` (so it works behind JupyterHub and other proxies),
 * sends the Jupyter auth headers via `ServerConnection`, and turns every
 * failure into a `LabtrackAPIError`.  The response shapes below are MLflow's
 * REST shapes (`/api/2.0/mlflow/...`), which the labtrack server implements.
 */

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { TranslationBundle, nullTranslator } from '@jupyterlab/translation';

import {
  API_NAMESPACE,
  DEFAULT_MAX_POINTS,
  DEFAULT_MAX_RUNS,
  IChangesResponse,
  IExperiment,
  IFileInfo,
  ILabtrackAPI,
  IMetricSeries,
  IMlflowErrorBody,
  IModelVersion,
  IRegisteredModel,
  IRun,
  IRunCountsResponse,
  ISearchExperimentsResponse,
  ISearchRunsRequest,
  ISearchRunsResponse,
  ISeriesOptions,
  IWhoAmI,
  INVALID_RESPONSE,
  RunViewType,
  LabtrackAPIError,
  MLFLOW_API,
  NETWORK_ERROR,
  SERVER_EXTENSION_MISSING,
  ILoggedModel,
  artifactRootPath,
  artifactUriPath
} from './protocol';
import { metricHistoryAPI } from './historyapi';
import { runActionsAPI } from './runactions';

export * from './protocol';

/** Options shared by the search helpers. */
export interface ISearchRunsOptions {
  /** At most this many runs (MLflow caps a page at 50000). */
  maxResults?: number;
  /** MLflow `order_by` clauses, newest first by default. */
  orderBy?: string[];
  /** Server connection settings; `ServerConnection.makeSettings()` if absent. */
  settings?: ServerConnection.ISettings;
  /** The labtrack bundle for error messages (English if absent). */
  trans?: TranslationBundle;
}

/** The experiment page size; MLflow's own limit for experiments/search. */
const EXPERIMENT_PAGE_SIZE = 1000;

/** Stop following `next_page_token` after this many pages (a safety net). */
const MAX_PAGES = 50;

function isMlflowErrorBody(value: unknown): value is IMlflowErrorBody {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as IMlflowErrorBody).error_code === 'string'
  );
}

function parseJSON(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Call the labtrack server.
 *
 * @param path - a path relative to `<base_url>labtrack/`, e.g.
 *   `api/2.0/mlflow/experiments/search?max_results=10`.
 * @param init - the fetch options; a JSON `Content-Type` is added to requests
 *   that carry a body.
 * @param settings - server connection settings.
 * @param trans - the labtrack bundle for error messages (English if absent).
 * @returns the decoded JSON body (`{}` for an empty body).
 * @throws {LabtrackAPIError} on network errors, non-2xx answers (with the
 *   server's MLflow `error_code` and `message`), and undecodable bodies.
 */
export async function requestAPI<T>(
  path: string,
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings(),
  trans: TranslationBundle = nullTranslator.load('labtrack')
): Promise<T> {
  const url = URLExt.join(settings.baseUrl, API_NAMESPACE, path);
  const headers = new Headers(init.headers);
  if (init.body !== undefined && !headers.has('Content-Type')) {
    headers.set('Content-Type', 'application/json');
  }
  if (!headers.has('Accept')) {
    headers.set('Accept', 'application/json');
  }

  let response: Response;
  try {
    response = await ServerConnection.makeRequest(
      url,
      { ...init, headers },
      settings
    );
  } catch (reason) {
    const detail = reason instanceof Error ? reason.message : String(reason);
    throw new LabtrackAPIError(
      trans.__('Could not reach the Jupyter server: %1', detail),
      0,
      NETWORK_ERROR
    );
  }

  const text = await response.text();
  const body = text.length > 0 ? parseJSON(text) : {};

  if (!response.ok) {
    if (isMlflowErrorBody(body)) {
      throw new LabtrackAPIError(
        body.message || body.error_code,
        response.status,
        body.error_code
      );
    }
    if (response.status === 404) {
      // Jupyter's own 404 page (not an MLflow error): nothing is mounted at
      // <base_url>labtrack/, so the server half of labtrack is absent.
      throw new LabtrackAPIError(
        trans.__(
          'The labtrack server extension is not enabled. Install labtrack in the Python environment that runs Jupyter (pip install labtrack), check "jupyter server extension list", then restart JupyterLab.'
        ),
        404,
        SERVER_EXTENSION_MISSING
      );
    }
    throw new LabtrackAPIError(
      trans.__(
        'labtrack request failed: %1 %2',
        response.status,
        response.statusText
      ),
      response.status,
      'INTERNAL_ERROR'
    );
  }

  if (body === undefined) {
    throw new LabtrackAPIError(
      trans.__('labtrack answered %1 with a body that is not JSON', url),
      response.status,
      INVALID_RESPONSE
    );
  }
  return body as T;
}

/**
 * List the active experiments (all pages).
 */
export async function searchExperiments(
  settings?: ServerConnection.ISettings,
  trans?: TranslationBundle
): Promise<ISearchExperimentsResponse> {
  const experiments: IExperiment[] = [];
  let pageToken: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const query = new URLSearchParams({
      max_results: String(EXPERIMENT_PAGE_SIZE)
    });
    if (pageToken) {
      query.set('page_token', pageToken);
    }
    const reply = await requestAPI<ISearchExperimentsResponse>(
      `${MLFLOW_API}/experiments/search?${query.toString()}`,
      { method: 'GET' },
      settings,
      trans
    );
    experiments.push(...(reply.experiments ?? []));
    pageToken = reply.next_page_token;
    if (!pageToken) {
      break;
    }
  }
  return { experiments, next_page_token: pageToken };
}

/**
 * Search the runs of some experiments.
 *
 * @param experimentIds - the experiments to search.
 * @param filter - an MLflow search filter, e.g. `metrics.loss < 0.5`.
 */
export async function searchRuns(
  experimentIds: string[],
  filter = '',
  options: ISearchRunsOptions = {}
): Promise<ISearchRunsResponse> {
  const request: ISearchRunsRequest = {
    experiment_ids: experimentIds,
    filter,
    max_results: options.maxResults ?? DEFAULT_MAX_RUNS,
    order_by: options.orderBy ?? ['attributes.start_time DESC']
  };
  const reply = await requestAPI<ISearchRunsResponse>(
    `${MLFLOW_API}/runs/search`,
    { method: 'POST', body: JSON.stringify(request) },
    options.settings,
    options.trans
  );
  return { runs: reply.runs ?? [], next_page_token: reply.next_page_token };
}

/* ------------------------------------------------------------------ runs */

/** Fetch one page of runs (the model pages through big experiments). */
export async function searchRunsPage(
  experimentIds: string[],
  filter: string,
  maxResults: number,
  orderBy: string[],
  pageToken: string | undefined,
  settings?: ServerConnection.ISettings,
  trans?: TranslationBundle,
  viewType?: RunViewType
): Promise<ISearchRunsResponse> {
  const request: ISearchRunsRequest = {
    experiment_ids: experimentIds,
    filter,
    max_results: maxResults,
    order_by: orderBy
  };
  if (pageToken) {
    request.page_token = pageToken;
  }
  if (viewType) {
    request.run_view_type = viewType;
  }
  const reply = await requestAPI<ISearchRunsResponse>(
    `${MLFLOW_API}/runs/search`,
    { method: 'POST', body: JSON.stringify(request) },
    settings,
    trans
  );
  return { runs: reply.runs ?? [], next_page_token: reply.next_page_token };
}

/** One run with its data. */
export async function getRun(
  runId: string,
  settings?: ServerConnection.ISettings,
  trans?: TranslationBundle
): Promise<IRun> {
  const query = new URLSearchParams({ run_id: runId });
  const reply = await requestAPI<{ run: IRun }>(
    `${MLFLOW_API}/runs/get?${query.toString()}`,
    { method: 'GET' },
    settings,
    trans
  );
  return reply.run;
}

/** Set a run tag (e.g. `mlflow.note.content`). */
export async function setRunTag(
  runId: string,
  key: string,
  value: string,
  settings?: ServerConnection.ISettings,
  trans?: TranslationBundle
): Promise<void> {
  await requestAPI(
    `${MLFLOW_API}/runs/set-tag`,
    { method: 'POST', body: JSON.stringify({ run_id: runId, key, value }) },
    settings,
    trans
  );
}

/** List one directory of a run's artifacts ('' for the root). */
export async function listRunArtifacts(
  runId: string,
  path = '',
  settings?: ServerConnection.ISettings,
  trans?: TranslationBundle
): Promise<IFileInfo[]> {
  const query = new URLSearchParams({ run_id: runId });
  if (path) {
    query.set('path', path);
  }
  const reply = await requestAPI<{ files?: IFileInfo[] }>(
    `${MLFLOW_API}/artifacts/list?${query.toString()}`,
    { method: 'GET' },
    settings,
    trans
  );
  return reply.files ?? [];
}

/**
 * Download one artifact as a Blob. The server sends it as an
 * `application/octet-stream` attachment; we render it client-side.
 */
export async function downloadArtifact(
  run: IRun,
  path: string,
  settings: ServerConnection.ISettings = ServerConnection.makeSettings(),
  trans: TranslationBundle = nullTranslator.load('labtrack')
): Promise<Blob> {
  return downloadStorePath(`${artifactRootPath(run)}/${path}`, settings, trans);
}

/** One file of a logged model's artifacts (`MLmodel`, an input example...). */
export async function downloadModelFile(
  model: ILoggedModel,
  path: string,
  settings: ServerConnection.ISettings = ServerConnection.makeSettings(),
  trans: TranslationBundle = nullTranslator.load('labtrack')
): Promise<Blob> {
  const root =
    artifactUriPath(model.info.artifact_uri) ??
    `${model.info.experiment_id}/models/${model.info.model_id}/artifacts`;
  return downloadStorePath(`${root}/${path}`, settings, trans);
}

/** A file of the artifact store through the `mlflow-artifacts` routes. */
async function downloadStorePath(
  storePath: string,
  settings: ServerConnection.ISettings,
  trans: TranslationBundle
): Promise<Blob> {
  const segments = storePath.split('/').map(encodeURIComponent).join('/');
  const url = URLExt.join(
    settings.baseUrl,
    API_NAMESPACE,
    'api/2.0/mlflow-artifacts/artifacts',
    segments
  );
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, {}, settings);
  } catch (reason) {
    throw new LabtrackAPIError(String(reason), 0, NETWORK_ERROR);
  }
  if (!response.ok) {
    const body = parseJSON(await response.text());
    if (isMlflowErrorBody(body)) {
      throw new LabtrackAPIError(
        body.message,
        response.status,
        body.error_code
      );
    }
    throw new LabtrackAPIError(
      trans.__('artifact download failed: %1', response.status),
      response.status,
      'INTERNAL_ERROR'
    );
  }
  return response.blob();
}

/** One metric of many runs, downsampled (full resolution when zoomed in). */
export async function getMetricSeries(
  runIds: string[],
  metricKey: string,
  options: ISeriesOptions = {},
  settings?: ServerConnection.ISettings,
  trans?: TranslationBundle
): Promise<IMetricSeries[]> {
  const query = new URLSearchParams();
  for (const id of runIds) {
    query.append('run_ids', id);
  }
  query.set('metric_key', metricKey);
  query.set('max_points', String(options.maxPoints ?? DEFAULT_MAX_POINTS));
  if (options.x) {
    query.set('x', options.x);
  }
  if (options.xMin !== undefined) {
    query.set('x_min', String(Math.floor(options.xMin)));
  }
  if (options.xMax !== undefined) {
    query.set('x_max', String(Math.ceil(options.xMax)));
  }
  const reply = await requestAPI<{ series?: IMetricSeries[] }>(
    `api/labtrack/metrics/series?${query.toString()}`,
    { method: 'GET' },
    settings,
    trans
  );
  return reply.series ?? [];
}

/** Changes after `cursor` (omit it to learn the current cursor). */
export async function getChanges(
  cursor: number | null,
  settings?: ServerConnection.ISettings,
  trans?: TranslationBundle
): Promise<IChangesResponse> {
  const query = new URLSearchParams();
  if (cursor !== null) {
    query.set('cursor', String(cursor));
  }
  return requestAPI<IChangesResponse>(
    `api/labtrack/changes?${query.toString()}`,
    { method: 'GET' },
    settings,
    trans
  );
}

/** Who the server takes the user to be, and whether it serves a team. */
export async function whoAmI(
  settings?: ServerConnection.ISettings,
  trans?: TranslationBundle
): Promise<IWhoAmI> {
  return requestAPI<IWhoAmI>(
    'api/labtrack/whoami',
    { method: 'GET' },
    settings,
    trans
  );
}

/** How many runs of each experiment match `filter` (exact, whatever the page size). */
export async function countRuns(
  experimentIds: string[],
  filter = '',
  settings?: ServerConnection.ISettings,
  trans?: TranslationBundle,
  viewType?: RunViewType
): Promise<IRunCountsResponse> {
  const query = new URLSearchParams();
  for (const id of experimentIds) {
    query.append('experiment_ids', id);
  }
  if (filter) {
    query.set('filter', filter);
  }
  if (viewType) {
    query.set('run_view_type', viewType);
  }
  return requestAPI<IRunCountsResponse>(
    `api/labtrack/runs/count?${query.toString()}`,
    { method: 'GET' },
    settings,
    trans
  );
}

export async function searchRegisteredModels(
  settings?: ServerConnection.ISettings,
  trans?: TranslationBundle
): Promise<IRegisteredModel[]> {
  const reply = await requestAPI<{ registered_models?: IRegisteredModel[] }>(
    `${MLFLOW_API}/registered-models/search?max_results=1000`,
    { method: 'GET' },
    settings,
    trans
  );
  return reply.registered_models ?? [];
}

export async function getRegisteredModel(
  name: string,
  settings?: ServerConnection.ISettings,
  trans?: TranslationBundle
): Promise<IRegisteredModel> {
  const query = new URLSearchParams({ name });
  const reply = await requestAPI<{ registered_model: IRegisteredModel }>(
    `${MLFLOW_API}/registered-models/get?${query.toString()}`,
    { method: 'GET' },
    settings,
    trans
  );
  return reply.registered_model;
}

/** Quote a value for the registry's filter language. */
function quote(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export async function searchModelVersions(
  name: string,
  settings?: ServerConnection.ISettings,
  trans?: TranslationBundle
): Promise<IModelVersion[]> {
  const query = new URLSearchParams({
    filter: `name = ${quote(name)}`,
    max_results: '1000'
  });
  const reply = await requestAPI<{ model_versions?: IModelVersion[] }>(
    `${MLFLOW_API}/model-versions/search?${query.toString()}`,
    { method: 'GET' },
    settings,
    trans
  );
  return (reply.model_versions ?? []).sort(
    (a, b) => Number(b.version) - Number(a.version)
  );
}

export async function updateRegisteredModel(
  name: string,
  description: string,
  settings?: ServerConnection.ISettings,
  trans?: TranslationBundle
): Promise<void> {
  await requestAPI(
    `${MLFLOW_API}/registered-models/update`,
    { method: 'PATCH', body: JSON.stringify({ name, description }) },
    settings,
    trans
  );
}

/** Point `alias` of a registered model at `version` (moves it if set). */
export async function setModelAlias(
  name: string,
  alias: string,
  version: string,
  settings?: ServerConnection.ISettings,
  trans?: TranslationBundle
): Promise<void> {
  await requestAPI(
    `${MLFLOW_API}/registered-models/alias`,
    { method: 'POST', body: JSON.stringify({ name, alias, version }) },
    settings,
    trans
  );
}

export async function deleteModelAlias(
  name: string,
  alias: string,
  settings?: ServerConnection.ISettings,
  trans?: TranslationBundle
): Promise<void> {
  await requestAPI(
    `${MLFLOW_API}/registered-models/alias`,
    { method: 'DELETE', body: JSON.stringify({ name, alias }) },
    settings,
    trans
  );
}

export async function transitionModelVersionStage(
  name: string,
  version: string,
  stage: string,
  settings?: ServerConnection.ISettings,
  trans?: TranslationBundle
): Promise<void> {
  await requestAPI(
    `${MLFLOW_API}/model-versions/transition-stage`,
    {
      method: 'POST',
      body: JSON.stringify({
        name,
        version,
        stage,
        archive_existing_versions: false
      })
    },
    settings,
    trans
  );
}

/**
 * Register a model folder of a run: create the registered model (if new)
 * and a version whose source is the run's artifact URI + path.
 */
export async function registerModel(
  name: string,
  run: IRun,
  path: string,
  settings?: ServerConnection.ISettings,
  trans?: TranslationBundle
): Promise<IModelVersion> {
  try {
    await requestAPI(
      `${MLFLOW_API}/registered-models/create`,
      { method: 'POST', body: JSON.stringify({ name }) },
      settings,
      trans
    );
  } catch (reason) {
    if (
      !(reason instanceof LabtrackAPIError) ||
      reason.errorCode !== 'RESOURCE_ALREADY_EXISTS'
    ) {
      throw reason;
    }
  }
  const root = (run.info.artifact_uri ?? '').replace(/\/+$/, '');
  const reply = await requestAPI<{ model_version: IModelVersion }>(
    `${MLFLOW_API}/model-versions/create`,
    {
      method: 'POST',
      body: JSON.stringify({
        name,
        source: path ? `${root}/${path}` : root,
        run_id: run.info.run_id
      })
    },
    settings,
    trans
  );
  return reply.model_version;
}

/** MLflow 3 logged models (`logged-models/search`), all pages. */
export async function searchLoggedModels(
  experimentIds: string[],
  filter: string,
  settings?: ServerConnection.ISettings,
  trans?: TranslationBundle
): Promise<ILoggedModel[]> {
  const models: ILoggedModel[] = [];
  let pageToken: string | undefined;
  do {
    const reply = await requestAPI<{
      models?: ILoggedModel[];
      next_page_token?: string;
    }>(
      `${MLFLOW_API}/logged-models/search`,
      {
        method: 'POST',
        body: JSON.stringify({
          experiment_ids: experimentIds,
          filter,
          max_results: 100,
          ...(pageToken ? { page_token: pageToken } : {})
        })
      },
      settings,
      trans
    );
    models.push(...(reply.models ?? []));
    pageToken = reply.next_page_token;
  } while (pageToken && models.length < 1000);
  return models;
}

/**
 * Register a logged model: the registered model (created when missing) gets
 * a version whose source is `models:/<model_id>`, linked by `model_id`.
 */
export async function registerLoggedModel(
  name: string,
  model: ILoggedModel,
  settings?: ServerConnection.ISettings,
  trans?: TranslationBundle
): Promise<IModelVersion> {
  try {
    await requestAPI(
      `${MLFLOW_API}/registered-models/create`,
      { method: 'POST', body: JSON.stringify({ name }) },
      settings,
      trans
    );
  } catch (reason) {
    if (
      !(reason instanceof LabtrackAPIError) ||
      reason.errorCode !== 'RESOURCE_ALREADY_EXISTS'
    ) {
      throw reason;
    }
  }
  const reply = await requestAPI<{ model_version: IModelVersion }>(
    `${MLFLOW_API}/model-versions/create`,
    {
      method: 'POST',
      body: JSON.stringify({
        name,
        source: `models:/${model.info.model_id}`,
        model_id: model.info.model_id,
        ...(model.info.source_run_id
          ? { run_id: model.info.source_run_id }
          : {})
      })
    },
    settings,
    trans
  );
  return reply.model_version;
}

/**
 * The server client of the models: every function above, bound to one set
 * of connection settings and one translation bundle (for error messages).
 */
export function createAPI(
  settings: ServerConnection.ISettings = ServerConnection.makeSettings(),
  trans: TranslationBundle = nullTranslator.load('labtrack')
): ILabtrackAPI {
  return {
    searchExperiments: () => searchExperiments(settings, trans),
    searchRunsPage: (
      experimentIds,
      filter,
      maxResults,
      orderBy,
      pageToken,
      viewType
    ) =>
      searchRunsPage(
        experimentIds,
        filter,
        maxResults,
        orderBy,
        pageToken,
        settings,
        trans,
        viewType
      ),
    countRuns: (experimentIds, filter, viewType) =>
      countRuns(experimentIds, filter, settings, trans, viewType),
    getRun: runId => getRun(runId, settings, trans),
    setRunTag: (runId, key, value) =>
      setRunTag(runId, key, value, settings, trans),
    ...runActionsAPI((path, body) =>
      requestAPI(
        `${MLFLOW_API}/${path}`,
        { method: 'POST', body: JSON.stringify(body) },
        settings,
        trans
      )
    ),
    ...metricHistoryAPI((path, query) =>
      requestAPI(
        `${MLFLOW_API}/${path}?${query.toString()}`,
        { method: 'GET' },
        settings,
        trans
      )
    ),
    listRunArtifacts: (runId, path) =>
      listRunArtifacts(runId, path, settings, trans),
    downloadArtifact: (run, path) =>
      downloadArtifact(run, path, settings, trans),
    getMetricSeries: (runIds, metricKey, options) =>
      getMetricSeries(runIds, metricKey, options, settings, trans),
    getChanges: cursor => getChanges(cursor, settings, trans),
    whoAmI: () => whoAmI(settings, trans),
    searchRegisteredModels: () => searchRegisteredModels(settings, trans),
    getRegisteredModel: name => getRegisteredModel(name, settings, trans),
    searchModelVersions: name => searchModelVersions(name, settings, trans),
    updateRegisteredModel: (name, description) =>
      updateRegisteredModel(name, description, settings, trans),
    setModelAlias: (name, alias, version) =>
      setModelAlias(name, alias, version, settings, trans),
    deleteModelAlias: (name, alias) =>
      deleteModelAlias(name, alias, settings, trans),
    transitionModelVersionStage: (name, version, stage) =>
      transitionModelVersionStage(name, version, stage, settings, trans),
    registerModel: (name, run, path) =>
      registerModel(name, run, path, settings, trans),
    searchLoggedModels: (experimentIds, filter) =>
      searchLoggedModels(experimentIds, filter, settings, trans),
    downloadModelFile: (model, path) =>
      downloadModelFile(model, path, settings, trans),
    registerLoggedModel: (name, model) =>
      registerLoggedModel(name, model, settings, trans)
  };
}
