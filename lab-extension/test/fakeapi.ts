/**
 * A hand-written stand-in for the server client: each method answers from a
 * handler the test sets, and every call is recorded. Methods without a
 * handler reject, so a test sees any request it did not expect.
 */

import {
  IExperiment,
  ILabtrackAPI,
  IRun,
  LabtrackAPIError,
  RunStatus
} from '../src/protocol';

type Handlers = { [K in keyof ILabtrackAPI]?: ILabtrackAPI[K] };

export class FakeAPI implements ILabtrackAPI {
  /** Every call, in order: the method name and its arguments. */
  readonly calls: { method: keyof ILabtrackAPI; args: unknown[] }[] = [];

  /** Answer `method` with `handler` from now on. */
  on<K extends keyof ILabtrackAPI>(method: K, handler: ILabtrackAPI[K]): this {
    this._handlers[method] = handler;
    return this;
  }

  /** The calls of one method. */
  callsOf(method: keyof ILabtrackAPI): unknown[][] {
    return this.calls.filter(c => c.method === method).map(c => c.args);
  }

  searchExperiments: ILabtrackAPI['searchExperiments'] = (...args) =>
    this._call('searchExperiments', args);
  searchRunsPage: ILabtrackAPI['searchRunsPage'] = (...args) =>
    this._call('searchRunsPage', args);
  countRuns: ILabtrackAPI['countRuns'] = (...args) =>
    this._call('countRuns', args);
  getRun: ILabtrackAPI['getRun'] = (...args) => this._call('getRun', args);
  setRunTag: ILabtrackAPI['setRunTag'] = (...args) =>
    this._call('setRunTag', args);
  renameRun: ILabtrackAPI['renameRun'] = (...args) =>
    this._call('renameRun', args);
  deleteRun: ILabtrackAPI['deleteRun'] = (...args) =>
    this._call('deleteRun', args);
  restoreRun: ILabtrackAPI['restoreRun'] = (...args) =>
    this._call('restoreRun', args);
  deleteRunTag: ILabtrackAPI['deleteRunTag'] = (...args) =>
    this._call('deleteRunTag', args);
  getMetricHistory: ILabtrackAPI['getMetricHistory'] = (...args) =>
    this._call('getMetricHistory', args);
  listRunArtifacts: ILabtrackAPI['listRunArtifacts'] = (...args) =>
    this._call('listRunArtifacts', args);
  downloadArtifact: ILabtrackAPI['downloadArtifact'] = (...args) =>
    this._call('downloadArtifact', args);
  getMetricSeries: ILabtrackAPI['getMetricSeries'] = (...args) =>
    this._call('getMetricSeries', args);
  getChanges: ILabtrackAPI['getChanges'] = (...args) =>
    this._call('getChanges', args);
  whoAmI: ILabtrackAPI['whoAmI'] = (...args) => this._call('whoAmI', args);
  searchRegisteredModels: ILabtrackAPI['searchRegisteredModels'] = (...args) =>
    this._call('searchRegisteredModels', args);
  getRegisteredModel: ILabtrackAPI['getRegisteredModel'] = (...args) =>
    this._call('getRegisteredModel', args);
  searchModelVersions: ILabtrackAPI['searchModelVersions'] = (...args) =>
    this._call('searchModelVersions', args);
  updateRegisteredModel: ILabtrackAPI['updateRegisteredModel'] = (...args) =>
    this._call('updateRegisteredModel', args);
  setModelAlias: ILabtrackAPI['setModelAlias'] = (...args) =>
    this._call('setModelAlias', args);
  deleteModelAlias: ILabtrackAPI['deleteModelAlias'] = (...args) =>
    this._call('deleteModelAlias', args);
  transitionModelVersionStage: ILabtrackAPI['transitionModelVersionStage'] = (
    ...args
  ) => this._call('transitionModelVersionStage', args);
  registerModel: ILabtrackAPI['registerModel'] = (...args) =>
    this._call('registerModel', args);
  searchLoggedModels: ILabtrackAPI['searchLoggedModels'] = (...args) =>
    this._call('searchLoggedModels', args);
  downloadModelFile: ILabtrackAPI['downloadModelFile'] = (...args) =>
    this._call('downloadModelFile', args);
  registerLoggedModel: ILabtrackAPI['registerLoggedModel'] = (...args) =>
    this._call('registerLoggedModel', args);

  private _call<T>(method: keyof ILabtrackAPI, args: unknown[]): Promise<T> {
    this.calls.push({ method, args });
    const handler = this._handlers[method] as
      ((...a: unknown[]) => Promise<T>) | undefined;
    if (!handler) {
      return Promise.reject(
        new Error(`FakeAPI: no handler for ${String(method)}`)
      );
    }
    return handler(...args);
  }

  private _handlers: Handlers = {};
}

/** A promise the test settles by hand (to order answers). */
export class Deferred<T> {
  constructor() {
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
  readonly promise: Promise<T>;
  resolve!: (value: T) => void;
  reject!: (reason: unknown) => void;
}

/** Let pending promise callbacks run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) {
    await Promise.resolve();
  }
}

export function apiError(
  message = 'boom',
  errorCode = 'INTERNAL_ERROR',
  status = 500
): LabtrackAPIError {
  return new LabtrackAPIError(message, status, errorCode);
}

export function experiment(id: string, name: string): IExperiment {
  return { experiment_id: id, name };
}

export function run(
  id: string,
  options: {
    experimentId?: string;
    status?: RunStatus;
    metrics?: Record<string, number>;
    params?: Record<string, string>;
    tags?: Record<string, string>;
  } = {}
): IRun {
  return {
    info: {
      run_id: id,
      run_name: `run-${id}`,
      experiment_id: options.experimentId ?? '1',
      status: options.status ?? 'FINISHED',
      artifact_uri: `mlflow-artifacts:/1/${id}/artifacts`
    },
    data: {
      metrics: Object.entries(options.metrics ?? {}).map(([key, value]) => ({
        key,
        value,
        step: 0,
        timestamp: 0
      })),
      params: Object.entries(options.params ?? {}).map(([key, value]) => ({
        key,
        value
      })),
      tags: Object.entries(options.tags ?? {}).map(([key, value]) => ({
        key,
        value
      }))
    }
  };
}
