/**
 * Saved views in the runs table's filter row: pick a view to apply it
 * (filter, quick filters, columns, sort, chart layout), save the current
 * state under a name, delete the picked view.
 */

import { InputDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';

import { localLayoutStore } from './chartgridmodel';
import { button, el } from './dom';
import { ISavedView } from './savedviews';
import { ILabtrackModel } from './tokens';

type Sort = ISavedView['sort'];

export class SavedViewsBar {
  constructor(
    private _model: ILabtrackModel,
    private _trans: TranslationBundle,
    private _table: { sort: Sort; setSort(sort: Sort): void }
  ) {
    const trans = _trans;
    this.node = el('span', 'lt-SavedViews');
    this._select = el('select', 'jp-mod-styled lt-ViewSelect', undefined, {
      'aria-label': trans.__('Saved views')
    });
    this._select.addEventListener('change', () => {
      const view = this._views().find(v => v.name === this._select.value);
      if (view) {
        void this.apply(view);
      }
      this._renderButtons();
    });
    this._save = button(
      trans.__('Save view…'),
      () => void this._saveView(),
      'lt-SaveView'
    );
    this._delete = button(
      trans.__('Delete view'),
      () => {
        const name = this._select.value;
        if (name) {
          this._model.views.remove(this._key, name);
        }
      },
      'lt-DeleteView'
    );
    this.node.append(this._select, this._save, this._delete);
    _model.views.changed.connect(this.render, this);
    this.render();
  }

  readonly node: HTMLElement;

  /** The controls, for the table's overflow rule (each may move into its
   * "More" menu in a narrow pane). */
  get controls(): {
    select: HTMLSelectElement;
    save: HTMLButtonElement;
    delete: HTMLButtonElement;
  } {
    return { select: this._select, save: this._save, delete: this._delete };
  }

  dispose(): void {
    this._model.views.changed.disconnect(this.render, this);
  }

  private get _key(): string {
    return this._model.experimentIds.join(',');
  }

  private _views(): readonly ISavedView[] {
    return this._model.views.viewsFor(this._key);
  }

  /** Follow the listed experiments and their views. */
  render(): void {
    const views = this._views();
    const current = this._select.value;
    this._select.replaceChildren(
      el('option', '', this._trans.__('Saved views'), { value: '' }),
      ...views.map(v => el('option', '', v.name, { value: v.name }))
    );
    this._select.value = views.some(v => v.name === current) ? current : '';
    this._select.disabled = views.length === 0;
    this._save.disabled = this._model.experimentIds.length === 0;
    this._renderButtons();
  }

  /** The table's state now, as a view named `name`. */
  current(name: string): ISavedView {
    const key = this._key;
    return {
      name,
      filter: this._model.filter,
      quick: { ...this._model.quickFilters },
      columns: this._model.columnsFor(key),
      sort: this._table.sort,
      charts: localLayoutStore().load()[key] ?? null
    };
  }

  async apply(view: ISavedView): Promise<void> {
    const key = this._key;
    const model = this._model;
    model.setColumns(key, view.columns);
    this._table.setSort(view.sort);
    const store = localLayoutStore();
    const layouts = store.load();
    if (view.charts) {
      layouts[key] = view.charts;
    } else {
      delete layouts[key];
    }
    store.save(layouts);
    await Promise.all([
      model.setQuickFilters(view.quick),
      model.setFilter(view.filter)
    ]);
  }

  private _renderButtons(): void {
    this._delete.hidden = !this._select.value;
  }

  private async _saveView(): Promise<void> {
    const trans = this._trans;
    const result = await InputDialog.getText({
      title: trans.__('Save view'),
      label: trans.__(
        'Name (filter, status and time filters, columns, sort and charts are kept):'
      ),
      text: this._select.value,
      okLabel: trans.__('Save'),
      cancelLabel: trans.__('Cancel')
    });
    const name = result.value?.trim();
    if (!result.button.accept || !name) {
      return;
    }
    this._model.views.save(this._key, this.current(name));
    this._select.value = name;
    this._renderButtons();
  }

  private _select: HTMLSelectElement;
  private _save: HTMLButtonElement;
  private _delete: HTMLButtonElement;
}
