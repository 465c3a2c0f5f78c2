/**
 * The evaluation artifacts of one run, fetched for the run page: the
 * predictions table, the Vega-Lite charts and the PNG plots `lt.evaluate`
 * logged at the run's artifact root.
 */

import { ServerConnection } from '@jupyterlab/services';
import { TranslationBundle } from '@jupyterlab/translation';
import { JSONObject } from '@lumino/coreutils';
import { ISignal, Signal } from '@lumino/signaling';

import { downloadArtifact, listRunArtifacts } from '../api';
import { IRun } from '../protocol';
import {
  IEvaluationFiles,
  ITableJSON,
  evaluationFiles,
  parseTable
} from './data';

export interface IEvaluationState {
  runId: string | null;
  files: IEvaluationFiles | null;
  table: ITableJSON | null;
  charts: Map<string, JSONObject>;
  images: Map<string, Blob>;
  loading: boolean;
  error: string | null;
}

function emptyState(runId: string | null): IEvaluationState {
  return {
    runId,
    files: null,
    table: null,
    charts: new Map(),
    images: new Map(),
    loading: false,
    error: null
  };
}

export class EvaluationModel {
  constructor(
    private _settings?: ServerConnection.ISettings,
    private _trans?: TranslationBundle
  ) {}

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get state(): IEvaluationState {
    return this._state;
  }

  /**
   * Fetch the run's evaluation artifacts, again only when the run moved on
   * (its status or number of metrics changed: an evaluation logged since).
   */
  async load(run: IRun): Promise<void> {
    const key = `${run.info.run_id}|${run.info.status}|${run.data.metrics?.length ?? 0}`;
    if (key === this._key) {
      return;
    }
    this._key = key;
    const runId = run.info.run_id;
    const sameRun = this._state.runId === runId;
    this._state = {
      ...(sameRun ? this._state : emptyState(runId)),
      loading: true
    };
    this._changed.emit();
    try {
      const listing = await listRunArtifacts(
        runId,
        '',
        this._settings,
        this._trans
      );
      const files = evaluationFiles(
        listing.filter(f => !f.is_dir).map(f => f.path)
      );
      const next = emptyState(runId);
      next.files = files;
      const text = async (path: string) =>
        (await downloadArtifact(run, path, this._settings, this._trans)).text();
      if (files.table) {
        next.table = parseTable(await text(files.table));
      }
      for (const path of files.charts) {
        try {
          next.charts.set(path, JSON.parse(await text(path)) as JSONObject);
        } catch {
          // A chart that is not JSON is left out; the artifact browser has it.
        }
      }
      for (const path of files.images) {
        next.images.set(
          path,
          await downloadArtifact(run, path, this._settings, this._trans)
        );
      }
      if (this._key === key) {
        this._state = next;
        this._changed.emit();
      }
    } catch (reason) {
      if (this._key === key) {
        this._state = { ...emptyState(runId), error: String(reason) };
        this._changed.emit();
      }
    }
  }

  private _key = '';
  private _state: IEvaluationState = emptyState(null);
  private _changed = new Signal<this, void>(this);
}
