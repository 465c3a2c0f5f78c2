/**
 * The state of one permissions dialog: the grants on an experiment or a
 * registered model, the caller's own level, and the changes a MANAGE holder
 * makes (grant, change a level, revoke). After each change the grants are
 * read again, so the dialog shows what the server now holds; a refused
 * change is kept as `actionError` (the server's message) until the next one.
 */

import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { LabtrackAPIError, toAPIError } from '../protocol';
import { ILoadState } from '../tokens';
import {
  GranteeKind,
  IEffectiveLevel,
  IGrant,
  IPermissionResource,
  IPermissionsAPI,
  PERMISSION_LEVELS,
  PermissionLevel
} from './protocol';

/** A level's place in MLflow's order (NO_PERMISSIONS is 0, MANAGE 4). */
export function levelRank(level: PermissionLevel): number {
  return PERMISSION_LEVELS.indexOf(level);
}

/** Why a grantee name is refused before a request, or null. */
export type GranteeProblem = 'empty' | 'spaces';

/** Hub user and group names: not empty, no whitespace inside. */
export function granteeProblem(name: string): GranteeProblem | null {
  const trimmed = name.trim();
  if (trimmed === '') {
    return 'empty';
  }
  if (/\s/.test(trimmed)) {
    return 'spaces';
  }
  return null;
}

/** Users first, then groups, each by name. */
function sortGrants(grants: readonly IGrant[]): IGrant[] {
  return [...grants].sort(
    (a, b) =>
      (a.grantee_kind === b.grantee_kind
        ? 0
        : a.grantee_kind === 'user'
          ? -1
          : 1) || a.grantee.localeCompare(b.grantee)
  );
}

export class PermissionsModel implements IDisposable {
  constructor(options: PermissionsModel.IOptions) {
    this._api = options.api;
    this.resource = options.resource;
    this.me = options.me ?? null;
  }

  /** The experiment or registered model whose grants these are. */
  readonly resource: IPermissionResource;
  /** The signed-in user (their own grant is marked). */
  readonly me: string | null;

  /** Emitted after any change of state. */
  get changed(): ISignal<PermissionsModel, void> {
    return this._changed;
  }

  /** The grants, users first, then groups (empty until loaded). */
  get grants(): readonly IGrant[] {
    return this._grants;
  }

  get state(): ILoadState {
    return this._state;
  }

  /** True once a listing arrived. */
  get loaded(): boolean {
    return this._myLevel !== null;
  }

  /** The level of admitted users without a grant. */
  get defaultLevel(): PermissionLevel | null {
    return this._default;
  }

  /** The caller's effective level (null until loaded). */
  get myLevel(): PermissionLevel | null {
    return this._myLevel;
  }

  /** Where the caller's level comes from (null until loaded). */
  get mySource(): IEffectiveLevel | null {
    return this._mySource;
  }

  /** Hub names matching what was last typed in the grant form. */
  get suggestions(): readonly string[] {
    return this._suggestions;
  }

  /** Whether the caller may change grants (MANAGE, or a hub admin). */
  get canManage(): boolean {
    return this._canManage;
  }

  /** The levels the caller may grant: none above their own. */
  get grantableLevels(): readonly PermissionLevel[] {
    if (!this._canManage || this._myLevel === null) {
      return [];
    }
    const mine = levelRank(this._myLevel);
    return PERMISSION_LEVELS.filter(level => levelRank(level) <= mine);
  }

  /** A change in flight (another one is ignored meanwhile). */
  get busy(): boolean {
    return this._busy;
  }

  /** The last refused change (cleared when the next one starts). */
  get actionError(): LabtrackAPIError | null {
    return this._actionError;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    Signal.clearData(this);
  }

  /** Read the grants again (an answer to an older request is dropped). */
  async load(): Promise<void> {
    const request = ++this._request;
    this._state = { loading: true, error: this._state.error };
    this._emit();
    try {
      const reply = await this._api.list(this.resource);
      if (request !== this._request) {
        return;
      }
      this._grants = sortGrants(reply.permissions ?? []);
      this._default = reply.default_permission;
      this._myLevel = reply.my_permission;
      this._mySource = reply.my_source ?? null;
      this._canManage = reply.can_manage;
      this._state = { loading: false, error: null };
    } catch (reason) {
      if (request !== this._request) {
        return;
      }
      this._state = { loading: false, error: toAPIError(reason) };
    }
    this._emit();
  }

  /**
   * Grant a user or a hub group a level (or change the level they hold).
   * Resolves to true when the server took it.
   */
  grant(
    kind: GranteeKind,
    grantee: string,
    level: PermissionLevel
  ): Promise<boolean> {
    const name = grantee.trim();
    return this._change(() =>
      this._api.grant(this.resource, kind, name, level)
    );
  }

  /**
   * Grant a name typed in the form. A name with no grant here yet is first
   * looked up in the hub: one the hub does not know is not granted
   * ('unknown'); when the hub cannot say, the grant goes ahead.
   */
  async grantNew(
    kind: GranteeKind,
    grantee: string,
    level: PermissionLevel
  ): Promise<'granted' | 'unknown' | 'refused'> {
    const name = grantee.trim();
    const listed = this._grants.some(
      g => g.grantee_kind === kind && g.grantee === name
    );
    if (!listed && !this._busy) {
      let known: boolean | null = null;
      try {
        known = (await this._api.names(this.resource, kind, name)).known;
      } catch {
        known = null; // the grant's own answer will say what is wrong
      }
      if (known === false) {
        return 'unknown';
      }
    }
    return (await this.grant(kind, name, level)) ? 'granted' : 'refused';
  }

  /**
   * Ask the hub for names containing `typed` (MANAGE holders only; an answer
   * to an older request is dropped, a failure leaves no suggestions).
   */
  async suggest(kind: GranteeKind, typed: string): Promise<void> {
    const request = ++this._suggestRequest;
    let names: string[] = [];
    if (this._canManage) {
      try {
        const reply = await this._api.names(this.resource, kind, typed.trim());
        names = kind === 'user' ? reply.users : reply.groups;
      } catch {
        names = [];
      }
    }
    if (request !== this._suggestRequest) {
      return;
    }
    this._suggestions = names;
    this._emit();
  }

  /** Remove a grant: the grantee falls back to their groups' or the default. */
  revoke(kind: GranteeKind, grantee: string): Promise<boolean> {
    return this._change(() => this._api.revoke(this.resource, kind, grantee));
  }

  /** Whether `grant` is the signed-in user's own. */
  isMine(grant: IGrant): boolean {
    return grant.grantee_kind === 'user' && grant.grantee === this.me;
  }

  private async _change(request: () => Promise<void>): Promise<boolean> {
    if (this._busy) {
      return false; // one change at a time (the first one's answer decides)
    }
    this._busy = true;
    this._actionError = null;
    this._emit();
    let ok = true;
    try {
      await request();
    } catch (reason) {
      ok = false;
      this._actionError = toAPIError(reason);
    }
    this._busy = false;
    // Refused or not, read what the server holds now: a refusal may mean
    // the caller's own level changed meanwhile.
    await this.load();
    return ok;
  }

  private _emit(): void {
    if (!this._disposed) {
      this._changed.emit();
    }
  }

  private _api: IPermissionsAPI;
  private _grants: IGrant[] = [];
  private _default: PermissionLevel | null = null;
  private _myLevel: PermissionLevel | null = null;
  private _mySource: IEffectiveLevel | null = null;
  private _suggestions: string[] = [];
  private _suggestRequest = 0;
  private _canManage = false;
  private _state: ILoadState = { loading: false, error: null };
  private _busy = false;
  private _actionError: LabtrackAPIError | null = null;
  private _request = 0;
  private _disposed = false;
  private _changed = new Signal<PermissionsModel, void>(this);
}

export namespace PermissionsModel {
  export interface IOptions {
    api: IPermissionsAPI;
    resource: IPermissionResource;
    me?: string | null;
  }
}
