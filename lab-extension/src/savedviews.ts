/**
 * Saved views of the runs table, per experiment: the typed filter, the
 * quick filters, the chosen columns, the sort and the compare view's chart
 * layout, under a name. Kept in the settings registry (`views`, see
 * schema/model.json) by the model plugin; this class holds them.
 */

import { ISignal, Signal } from '@lumino/signaling';

import { IChartSpec } from './chartgridmodel';
import { IQuickFilters } from './runfilters';

export interface ISavedView {
  readonly name: string;
  readonly filter: string;
  readonly quick: IQuickFilters;
  /** The chosen columns, or null for the default ones. */
  readonly columns: string[] | null;
  readonly sort: {
    readonly column: string;
    readonly ascending: boolean;
  } | null;
  /** The chart grid's layout, or null for the default one. */
  readonly charts: IChartSpec[] | null;
}

/** Views by experiment key (experiment ids joined by commas). */
export type SavedViewsByKey = Record<string, ISavedView[]>;

export class SavedViews {
  /** Emitted after any change (loaded, saved, removed). */
  get changed(): ISignal<SavedViews, void> {
    return this._changed;
  }

  viewsFor(key: string): readonly ISavedView[] {
    return this._views[key] ?? [];
  }

  /** Save (or replace, by name) a view of the experiment key. */
  save(key: string, view: ISavedView): void {
    const others = this.viewsFor(key).filter(v => v.name !== view.name);
    const list = [...others, view].sort((a, b) => a.name.localeCompare(b.name));
    this._set({ ...this._views, [key]: list });
  }

  remove(key: string, name: string): void {
    const list = this.viewsFor(key).filter(v => v.name !== name);
    const next = { ...this._views, [key]: list };
    if (list.length === 0) {
      delete next[key];
    }
    this._set(next);
  }

  /** Views read from the settings registry (no save back). */
  load(views: SavedViewsByKey): void {
    if (JSON.stringify(views) === JSON.stringify(this._views)) {
      return;
    }
    this._views = JSON.parse(JSON.stringify(views ?? {}));
    this._changed.emit();
  }

  /** Called with every change made here, to persist it. */
  onChanged: ((views: SavedViewsByKey) => void) | null = null;

  private _set(views: SavedViewsByKey): void {
    this._views = views;
    this._changed.emit();
    this.onChanged?.(views);
  }

  private _views: SavedViewsByKey = {};
  private _changed = new Signal<SavedViews, void>(this);
}
