/**
 * Pinned and hidden runs (as in MLflow's runs table): a pinned run stays at
 * the top of the table whatever the filter; a hidden run stays in the table
 * but is left out of the charts. Kept in the browser's local storage (per
 * browser profile), by run id (ids are unique across experiments).
 */

import { ISignal, Signal } from '@lumino/signaling';

import { IRun } from './protocol';

const STORAGE_KEY = 'labtrack:run-marks';

interface IStored {
  pinned?: string[];
  hidden?: string[];
}

export class RunMarks {
  constructor(
    storage: Storage | null = typeof localStorage === 'undefined'
      ? null
      : localStorage
  ) {
    this._storage = storage;
    let stored: IStored = {};
    try {
      stored = JSON.parse(storage?.getItem(STORAGE_KEY) ?? '{}') ?? {};
    } catch {
      stored = {};
    }
    this._pinned = new Set(Array.isArray(stored.pinned) ? stored.pinned : []);
    this._hidden = new Set(Array.isArray(stored.hidden) ? stored.hidden : []);
  }

  /** Emitted when a run is pinned, unpinned, hidden or shown. */
  get changed(): ISignal<RunMarks, void> {
    return this._changed;
  }

  isPinned(runId: string): boolean {
    return this._pinned.has(runId);
  }

  isHidden(runId: string): boolean {
    return this._hidden.has(runId);
  }

  setPinned(run: IRun, pinned: boolean): void {
    const id = run.info.run_id;
    if (pinned) {
      this._known.set(id, run);
    }
    this._toggle(this._pinned, id, pinned);
  }

  setHidden(run: IRun, hidden: boolean): void {
    this._toggle(this._hidden, run.info.run_id, hidden);
  }

  /**
   * Remember the latest copy of pinned runs seen in a list, so they can be
   * shown when a filter leaves them out.
   */
  see(runs: readonly IRun[]): void {
    for (const run of runs) {
      if (this._pinned.has(run.info.run_id)) {
        this._known.set(run.info.run_id, run);
      }
    }
  }

  /**
   * The pinned runs of the listed experiments (latest copies seen), in pin
   * order; pins of runs not seen since the page opened are left out.
   */
  pinnedRuns(experimentIds: readonly string[]): IRun[] {
    const listed = new Set(experimentIds);
    return [...this._pinned]
      .map(id => this._known.get(id))
      .filter(
        (run): run is IRun =>
          run !== undefined && listed.has(run.info.experiment_id)
      );
  }

  /** The runs that are not hidden (what the charts draw). */
  visible<T extends IRun>(runs: readonly T[]): T[] {
    return runs.filter(run => !this._hidden.has(run.info.run_id));
  }

  private _toggle(set: Set<string>, id: string, on: boolean): void {
    if (on === set.has(id)) {
      return;
    }
    if (on) {
      set.add(id);
    } else {
      set.delete(id);
    }
    try {
      this._storage?.setItem(
        STORAGE_KEY,
        JSON.stringify({ pinned: [...this._pinned], hidden: [...this._hidden] })
      );
    } catch {
      // Private mode or a full quota: the marks last the session.
    }
    this._changed.emit();
  }

  private _storage: Storage | null;
  private _pinned: Set<string>;
  private _hidden: Set<string>;
  private _known = new Map<string, IRun>();
  private _changed = new Signal<RunMarks, void>(this);
}
