/**
 * The state of the model registry view: the registered models, the selected
 * model with its versions and aliases, and the changes a user can make
 * (aliases, stages, description). After each change the selected model is
 * read again, so the view shows what the server now has.
 */

import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import {
  ILabtrackAPI,
  IModelVersion,
  IRegisteredModel,
  MODEL_STAGES,
  toAPIError
} from './protocol';
import { IDLE } from './model';
import { ILoadState } from './tokens';

/**
 * What changed: `models` (the list or its state), `selection` (another model
 * picked), `detail` (the selected model's versions or state), `description`.
 */
export type RegistryChange = 'models' | 'selection' | 'detail' | 'description';

/** The selected registered model as last read. */
export interface IModelDetail {
  readonly registered: IRegisteredModel;
  /** Newest first. */
  readonly versions: readonly IModelVersion[];
  /** Alias -> version, from the model's aliases and its versions'. */
  readonly aliases: ReadonlyMap<string, string>;
}

/** Alias -> version of a registered model and its versions. */
export function modelAliases(
  registered: IRegisteredModel,
  versions: readonly IModelVersion[]
): Map<string, string> {
  const aliases = new Map<string, string>();
  for (const a of registered.aliases ?? []) {
    aliases.set(a.alias, a.version);
  }
  for (const v of versions) {
    for (const a of v.aliases ?? []) {
      aliases.set(a, v.version);
    }
  }
  return aliases;
}

export class RegistryModel implements IDisposable {
  constructor(options: RegistryModel.IOptions) {
    this._api = options.api;
  }

  get changed(): ISignal<RegistryModel, RegistryChange> {
    return this._changed;
  }

  /** The stages a version can be moved to (MLflow's). */
  get stages(): readonly string[] {
    return MODEL_STAGES;
  }

  get models(): readonly IRegisteredModel[] {
    return this._models;
  }

  get modelsState(): ILoadState {
    return this._modelsState;
  }

  get selectedName(): string | null {
    return this._selected;
  }

  /** The selected model, once read (null while none is selected). */
  get detail(): IModelDetail | null {
    return this._detail;
  }

  get detailState(): ILoadState {
    return this._detailState;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    Signal.clearData(this);
  }

  /**
   * Read the list again, then the selected model (or the first one when the
   * selected one is gone).
   */
  async refresh(): Promise<void> {
    const ticket = ++this._modelsTicket;
    this._modelsState = { loading: true, error: null };
    try {
      const models = await this._api.searchRegisteredModels();
      if (ticket !== this._modelsTicket) {
        return;
      }
      this._models = models;
      this._modelsState = IDLE;
    } catch (reason) {
      if (ticket !== this._modelsTicket) {
        return;
      }
      this._modelsState = { loading: false, error: toAPIError(reason) };
      this._emit('models');
      return;
    }
    this._emit('models');
    const current =
      this._models.find(m => m.name === this._selected)?.name ??
      this._models[0]?.name ??
      null;
    if (current !== null) {
      await this.select(current);
    } else {
      this._selected = null;
      this._detail = null;
      this._detailState = IDLE;
      this._emit('selection');
      this._emit('detail');
    }
  }

  /** Select a model and read it with its versions. */
  async select(name: string): Promise<void> {
    const ticket = ++this._detailTicket;
    if (name !== this._selected) {
      this._selected = name;
      this._detail = null;
      this._emit('selection');
    }
    this._detailState = { loading: true, error: null };
    try {
      const [registered, versions] = await Promise.all([
        this._api.getRegisteredModel(name),
        this._api.searchModelVersions(name)
      ]);
      if (ticket !== this._detailTicket) {
        return;
      }
      this._detail = {
        registered,
        versions,
        aliases: modelAliases(registered, versions)
      };
      this._detailState = IDLE;
    } catch (reason) {
      if (ticket !== this._detailTicket) {
        return;
      }
      this._detailState = { loading: false, error: toAPIError(reason) };
    }
    this._emit('detail');
  }

  /** Point `alias` at `version` (moves it from another version). */
  async setAlias(name: string, alias: string, version: string): Promise<void> {
    await this._change(name, () =>
      this._api.setModelAlias(name, alias, version)
    );
  }

  async removeAlias(name: string, alias: string): Promise<void> {
    await this._change(name, () => this._api.deleteModelAlias(name, alias));
  }

  async setStage(name: string, version: string, stage: string): Promise<void> {
    await this._change(name, () =>
      this._api.transitionModelVersionStage(name, version, stage)
    );
  }

  /** Save a model's description (markdown). */
  async setDescription(name: string, description: string): Promise<void> {
    await this._api.updateRegisteredModel(name, description);
    const detail = this._detail;
    if (detail && detail.registered.name === name) {
      this._detail = {
        ...detail,
        registered: { ...detail.registered, description }
      };
      this._emit('description');
    }
  }

  /**
   * Make one change, then read the selected model again whether the change
   * worked or not; a failure is re-thrown afterwards.
   */
  private async _change(
    name: string,
    action: () => Promise<void>
  ): Promise<void> {
    let failure: unknown = null;
    try {
      await action();
    } catch (reason) {
      failure = reason;
    }
    if (name === this._selected) {
      await this.select(name);
    }
    if (failure !== null) {
      throw toAPIError(failure);
    }
  }

  private _emit(change: RegistryChange): void {
    if (!this._isDisposed) {
      this._changed.emit(change);
    }
  }

  private _api: ILabtrackAPI;
  private _models: IRegisteredModel[] = [];
  private _modelsState: ILoadState = IDLE;
  private _modelsTicket = 0;
  private _selected: string | null = null;
  private _detail: IModelDetail | null = null;
  private _detailState: ILoadState = IDLE;
  private _detailTicket = 0;
  private _isDisposed = false;
  private _changed = new Signal<RegistryModel, RegistryChange>(this);
}

export namespace RegistryModel {
  export interface IOptions {
    /** The server client (`createAPI()` from `api.ts`, a stub in tests). */
    api: ILabtrackAPI;
  }
}
