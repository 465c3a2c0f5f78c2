/**
 * The runs table: a virtualized DOM table (only the rows in view exist), so
 * 10,000 runs scroll smoothly while every cell stays real, accessible,
 * selectable text rendered with `textContent`.
 */

import { TranslationBundle } from '@jupyterlab/translation';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { IRun } from './protocol';
import {
  button,
  columnValue,
  el,
  formatMetric,
  formatTime,
  runDuration,
  runName,
  statusBadge
} from './dom';
import { ILabtrackModel, ModelChange } from './tokens';

/** Fixed row height (px): the virtualization arithmetic depends on it. */
const ROW_HEIGHT = 30;
/** Rows rendered above and below the viewport. */
const OVERSCAN = 10;
/** "Select all" picks at most this many runs (a readable comparison). */
const MAX_SELECT_ALL = 100;
/** Default columns when the user chose none: this many of each kind. */
const DEFAULT_PER_KIND = 8;

type Item =
  { kind: 'group'; label: string; count: number } | { kind: 'run'; run: IRun };

interface ISort {
  column: string;
  ascending: boolean;
}

/** The built-in columns; the others are `params.*`, `metrics.*`, `tags.*`. */
function fixedColumns(
  trans: TranslationBundle
): { id: string; title: string }[] {
  return [
    { id: 'attributes.run_name', title: trans.__('Run') },
    { id: 'attributes.status', title: trans.__('Status') },
    { id: 'attributes.start_time', title: trans.__('Started') },
    { id: 'attributes.duration', title: trans.__('Duration') }
  ];
}
/** How many built-in columns there are. */
const FIXED_COLUMN_COUNT = 4;

export interface IRunsTableOptions {
  trans: TranslationBundle;
}

function compareValues(
  a: string | number | undefined,
  b: string | number | undefined
): number {
  // Missing values sort last whatever the direction (handled by caller).
  if (typeof a === 'number' && typeof b === 'number') {
    return a - b;
  }
  const na = Number(a);
  const nb = Number(b);
  if (a !== '' && b !== '' && Number.isFinite(na) && Number.isFinite(nb)) {
    return na - nb;
  }
  return String(a).localeCompare(String(b));
}

function sortValue(run: IRun, column: string): string | number | undefined {
  switch (column) {
    case 'attributes.run_name':
      return runName(run);
    case 'attributes.status':
      return run.info.status;
    case 'attributes.start_time':
      return run.info.start_time;
    case 'attributes.duration':
      return run.info.end_time && run.info.start_time
        ? run.info.end_time - run.info.start_time
        : undefined;
    default:
      return columnValue(run, column);
  }
}

/** All column ids present in the runs, metrics then params then tags. */
export function availableColumns(runs: readonly IRun[]): {
  metrics: string[];
  params: string[];
  tags: string[];
} {
  const metrics = new Set<string>();
  const params = new Set<string>();
  const tags = new Set<string>();
  for (const run of runs) {
    for (const m of run.data.metrics ?? []) {
      metrics.add(m.key);
    }
    for (const p of run.data.params ?? []) {
      params.add(p.key);
    }
    for (const t of run.data.tags ?? []) {
      if (!t.key.startsWith('mlflow.')) {
        tags.add(t.key);
      }
    }
  }
  const sorted = (s: Set<string>, prefix: string) =>
    [...s].sort((a, b) => a.localeCompare(b)).map(k => `${prefix}.${k}`);
  return {
    metrics: sorted(metrics, 'metrics'),
    params: sorted(params, 'params'),
    tags: sorted(tags, 'tags')
  };
}

function columnTitle(column: string): string {
  return column.slice(column.indexOf('.') + 1);
}

/**
 * The runs table view of the dashboard.
 */
export class RunsTableView extends Widget {
  constructor(model: ILabtrackModel, options: IRunsTableOptions) {
    super();
    this._model = model;
    const trans = (this._trans = options.trans);
    this.addClass('lt-RunsView');

    const toolbar = el('div', 'lt-RunsToolbar');
    this._columnsButton = button(trans.__('Columns'), () =>
      this._toggleColumnPicker()
    );
    this._columnsButton.setAttribute('aria-haspopup', 'true');
    this._columnsButton.setAttribute('aria-expanded', 'false');
    this._groupSelect = el('select', 'jp-mod-styled lt-GroupBy', undefined, {
      'aria-label': trans.__('Group runs by a parameter')
    });
    this._groupSelect.addEventListener('change', () => this._render());
    const differLabel = el('label', 'lt-Check');
    this._differBox = el('input', 'lt-OnlyDiffer', undefined, {
      type: 'checkbox'
    });
    this._differBox.addEventListener('change', () => this._render());
    differLabel.append(
      this._differBox,
      ' ' + trans.__('Only columns that differ')
    );
    this._compareButton = button(
      trans.__('Compare'),
      () => model.setView('compare'),
      'jp-mod-accept lt-CompareButton'
    );
    this._selectAllButton = button(
      trans.__('Select all'),
      () => {
        const runs = this._items
          .filter(item => item.kind === 'run')
          .slice(0, MAX_SELECT_ALL)
          .map(item => (item as { run: IRun }).run);
        this._model.setSelectedRuns(runs);
      },
      'lt-SelectAll',
      {
        title: trans.__(
          'Select the first %1 runs in table order',
          MAX_SELECT_ALL
        )
      }
    );
    this._clearButton = button(
      trans.__('Clear selection'),
      () => model.setSelectedRuns([]),
      'lt-ClearSelection'
    );
    this._count = el('span', 'lt-RunsCount', '', {
      role: 'status',
      'aria-live': 'polite'
    });
    toolbar.append(
      this._count,
      el('span', 'lt-Spacer'),
      this._columnsButton,
      this._groupSelect,
      differLabel,
      this._selectAllButton,
      this._clearButton,
      this._compareButton
    );
    this._picker = el('div', 'lt-ColumnPicker', undefined, {
      role: 'dialog',
      'aria-label': trans.__('Choose columns')
    });
    this._picker.hidden = true;

    this._scroller = el('div', 'lt-RunsScroller', undefined, {
      tabindex: '-1'
    });
    this._table = el('table', 'lt-RunsTable', undefined, {
      'aria-label': trans.__('Runs'),
      'aria-rowcount': '0'
    });
    this._head = el('thead');
    this._body = el('tbody');
    this._table.append(this._head, this._body);
    this._scroller.append(this._table);
    this._scroller.addEventListener('scroll', this._onScroll, {
      passive: true
    });

    this.node.append(toolbar, this._picker, this._scroller);
    model.changed.connect(this._onModelChanged, this);
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._model.changed.disconnect(this._onModelChanged, this);
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._renderRows();
  }

  protected onResize(msg: Widget.ResizeMessage): void {
    super.onResize(msg);
    this._renderRows();
  }

  /** Re-render everything (runs changed, columns changed, ...). */
  refresh(): void {
    this._render();
  }

  private _onModelChanged(_: ILabtrackModel, change: ModelChange): void {
    if (change === 'runs' || change === 'columns' || change === 'selection') {
      this._render();
    } else if (change === 'runSelection') {
      this._renderSelectionState();
    }
  }

  private get _experimentKey(): string {
    return this._model.experimentIds.join(',');
  }

  /** The chosen columns, or a default of the first metrics and params. */
  private _chosenColumns(): string[] {
    const chosen = this._model.columnsFor(this._experimentKey);
    if (chosen) {
      return chosen;
    }
    const all = this._available;
    return [
      ...all.metrics.slice(0, DEFAULT_PER_KIND),
      ...all.params.slice(0, DEFAULT_PER_KIND)
    ];
  }

  private _render(): void {
    const runs = this._model.runs;
    this._available = availableColumns(runs);
    this._renderGroupOptions();
    let columns = this._chosenColumns();
    if (this._differBox.checked && runs.length > 1) {
      columns = columns.filter(column => {
        const first = columnValue(runs[0], column);
        return runs.some(run => columnValue(run, column) !== first);
      });
    }
    this._columns = columns;
    this._items = this._buildItems(runs);
    this._renderHead();
    this._table.setAttribute('aria-rowcount', String(this._items.length + 1));
    const n = runs.length;
    this._count.textContent =
      this._model.experimentIds.length === 0 || this._model.runsState.loading
        ? ''
        : runCountText(
            n,
            this._model.runsTotal,
            this._model.runsPaging,
            this._trans
          );
    this._table.hidden = n === 0;
    this._renderRows();
    this._renderSelectionState();
    if (!this._picker.hidden) {
      this._renderPicker();
    }
  }

  private _renderGroupOptions(): void {
    const current = this._groupSelect.value;
    const trans = this._trans;
    const options = [el('option', '', trans.__('No grouping'), { value: '' })];
    for (const column of this._available.params) {
      options.push(
        el('option', '', trans.__('Group by %1', columnTitle(column)), {
          value: column
        })
      );
    }
    this._groupSelect.replaceChildren(...options);
    this._groupSelect.value = this._available.params.includes(current)
      ? current
      : '';
  }

  private _buildItems(runs: readonly IRun[]): Item[] {
    let sorted = [...runs];
    const sort = this._sort;
    if (sort) {
      const sign = sort.ascending ? 1 : -1;
      sorted.sort((a, b) => {
        const va = sortValue(a, sort.column);
        const vb = sortValue(b, sort.column);
        if (va === undefined || vb === undefined) {
          return va === vb ? 0 : va === undefined ? 1 : -1;
        }
        return sign * compareValues(va, vb);
      });
    }
    const group = this._groupSelect.value;
    if (!group) {
      return sorted.map(run => ({ kind: 'run', run }));
    }
    const groups = new Map<string, IRun[]>();
    for (const run of sorted) {
      const value = columnValue(run, group);
      const label =
        value === undefined
          ? this._trans.__('(not set)')
          : `${columnTitle(group)} = ${value}`;
      let list = groups.get(label);
      if (!list) {
        list = [];
        groups.set(label, list);
      }
      list.push(run);
    }
    sorted = [];
    const items: Item[] = [];
    const labels = [...groups.keys()].sort((a, b) => compareValues(a, b));
    for (const label of labels) {
      const list = groups.get(label)!;
      items.push({ kind: 'group', label, count: list.length });
      for (const run of list) {
        items.push({ kind: 'run', run });
      }
    }
    return items;
  }

  private _renderHead(): void {
    const row = el('tr');
    const selectHeader = el('th', 'lt-SelectCell', undefined, {
      scope: 'col'
    });
    selectHeader.append(
      el('span', 'lt-VisuallyHidden', this._trans.__('Select'))
    );
    row.append(selectHeader);
    const all = [
      ...fixedColumns(this._trans),
      ...this._columns.map(id => ({ id, title: columnTitle(id) }))
    ];
    for (const column of all) {
      const kind = column.id.slice(0, column.id.indexOf('.'));
      const th = el('th', `lt-ColumnHeader lt-kind-${kind}`, undefined, {
        scope: 'col',
        title: column.id
      });
      const sortButton = el('button', 'lt-SortButton', column.title, {
        type: 'button',
        'data-column': column.id
      });
      if (this._sort?.column === column.id) {
        th.setAttribute(
          'aria-sort',
          this._sort.ascending ? 'ascending' : 'descending'
        );
        sortButton.append(
          el('span', 'lt-SortMark', this._sort.ascending ? ' ▲' : ' ▼', {
            'aria-hidden': 'true'
          })
        );
      }
      sortButton.addEventListener('click', () => {
        if (this._sort?.column === column.id) {
          this._sort = this._sort.ascending
            ? { column: column.id, ascending: false }
            : null;
        } else {
          this._sort = { column: column.id, ascending: true };
        }
        this._items = this._buildItems(this._model.runs);
        this._renderHead();
        this._renderRows();
      });
      th.append(sortButton);
      row.append(th);
    }
    this._head.replaceChildren(row);
  }

  private _onScroll = (): void => {
    if (this._frame) {
      return;
    }
    this._frame = requestAnimationFrame(() => {
      this._frame = 0;
      this._renderRows();
    });
  };

  /** Render only the rows in (and near) the viewport. */
  private _renderRows(): void {
    const items = this._items;
    const height = this._scroller.clientHeight || 600;
    const top = this._scroller.scrollTop;
    const start = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const end = Math.min(
      items.length,
      Math.ceil((top + height) / ROW_HEIGHT) + OVERSCAN
    );
    const colspan = String(this._columns.length + 1 + FIXED_COLUMN_COUNT);
    const rows: HTMLTableRowElement[] = [];
    if (start > 0) {
      const spacer = el('tr', 'lt-Spacer', undefined, {
        'aria-hidden': 'true'
      });
      spacer.style.height = `${start * ROW_HEIGHT}px`;
      spacer.append(el('td', '', undefined, { colspan }));
      rows.push(spacer);
    }
    for (let i = start; i < end; i++) {
      const item = items[i];
      const row =
        item.kind === 'run'
          ? this._runRow(item.run)
          : this._groupRow(item.label, item.count, colspan);
      row.setAttribute('aria-rowindex', String(i + 2));
      rows.push(row);
    }
    if (end < items.length) {
      const spacer = el('tr', 'lt-Spacer', undefined, {
        'aria-hidden': 'true'
      });
      spacer.style.height = `${(items.length - end) * ROW_HEIGHT}px`;
      spacer.append(el('td', '', undefined, { colspan }));
      rows.push(spacer);
    }
    // Keep keyboard focus on the same control of the same run.
    const active = document.activeElement as HTMLElement | null;
    const focusRun =
      active && this._body.contains(active)
        ? active.closest<HTMLElement>('tr')?.dataset.runId
        : undefined;
    const focusClass = active?.className;
    this._body.replaceChildren(...rows);
    if (focusRun) {
      const again = this._body.querySelector<HTMLElement>(
        `tr[data-run-id="${CSS.escape(focusRun)}"] .${(focusClass ?? '').split(' ')[0]}`
      );
      again?.focus();
    }
  }

  private _groupRow(
    label: string,
    count: number,
    colspan: string
  ): HTMLTableRowElement {
    const row = el('tr', 'lt-GroupRow');
    const cell = el('th', '', undefined, { colspan, scope: 'rowgroup' });
    cell.append(
      el('span', 'lt-GroupLabel', label),
      el('span', 'lt-GroupCount', ` (${count})`)
    );
    row.append(cell);
    return row;
  }

  private _runRow(run: IRun): HTMLTableRowElement {
    const { info } = run;
    const name = runName(run);
    const selected = this._model.isRunSelected(info.run_id);
    const row = el('tr', 'lt-run-row', undefined, {
      'data-run-id': info.run_id,
      'data-run-name': name,
      'data-status': info.status,
      'aria-selected': selected ? 'true' : 'false'
    });
    row.classList.toggle('lt-mod-selected', selected);

    const selectCell = el('td', 'lt-SelectCell');
    const box = el('input', 'lt-RunSelect', undefined, {
      type: 'checkbox',
      'aria-label': this._trans.__('Select run %1 for comparison', name)
    });
    box.checked = selected;
    box.addEventListener('change', () => {
      this._model.setRunSelected(run, box.checked);
    });
    selectCell.append(box);
    row.append(selectCell);

    const nameCell = el('th', 'lt-RunName', undefined, {
      scope: 'row',
      title: this._trans.__('Run ID: %1', info.run_id)
    });
    const link = el('button', 'lt-RunNameText', name, {
      type: 'button',
      title: this._trans.__('Open run %1', name)
    });
    link.addEventListener('click', () => this._model.openRun(info.run_id));
    nameCell.append(link);
    row.append(nameCell);

    const statusCell = el('td');
    statusCell.append(statusBadge(info.status));
    row.append(statusCell);
    row.append(
      el('td', 'lt-Time', formatTime(info.start_time), {
        title: info.start_time ? new Date(info.start_time).toISOString() : ''
      }),
      el('td', 'lt-Duration', runDuration(run))
    );
    for (const column of this._columns) {
      const kind = column.slice(0, column.indexOf('.'));
      const key = columnTitle(column);
      const value = columnValue(run, column);
      const attr =
        kind === 'metrics'
          ? 'data-metric'
          : kind === 'params'
            ? 'data-param'
            : 'data-tag';
      const text =
        value === undefined
          ? ''
          : kind === 'metrics'
            ? formatMetric(value)
            : String(value);
      row.append(
        el('td', `lt-Cell lt-kind-${kind}`, text, {
          [attr]: key,
          title: value === undefined ? undefined : String(value)
        })
      );
    }
    return row;
  }

  private _renderSelectionState(): void {
    const n = this._model.selectedRuns.length;
    this._compareButton.textContent = this._trans.__('Compare (%1)', n);
    this._compareButton.disabled = n === 0;
    this._clearButton.disabled = n === 0;
    for (const row of Array.from(
      this._body.querySelectorAll<HTMLElement>('.lt-run-row')
    )) {
      const selected = this._model.isRunSelected(row.dataset.runId ?? '');
      row.classList.toggle('lt-mod-selected', selected);
      row.setAttribute('aria-selected', selected ? 'true' : 'false');
      const box = row.querySelector<HTMLInputElement>('.lt-RunSelect');
      if (box) {
        box.checked = selected;
      }
    }
  }

  private _toggleColumnPicker(): void {
    this._picker.hidden = !this._picker.hidden;
    this._columnsButton.setAttribute(
      'aria-expanded',
      this._picker.hidden ? 'false' : 'true'
    );
    if (!this._picker.hidden) {
      this._renderPicker();
      this._picker.querySelector<HTMLElement>('input')?.focus();
    }
  }

  private _renderPicker(): void {
    const chosen = new Set(this._chosenColumns());
    const sections: HTMLElement[] = [];
    const trans = this._trans;
    const kinds: [string, string[]][] = [
      [trans.__('Metrics'), this._available.metrics],
      [trans.__('Parameters'), this._available.params],
      [trans.__('Tags'), this._available.tags]
    ];
    for (const [title, columns] of kinds) {
      if (columns.length === 0) {
        continue;
      }
      const fieldset = el('fieldset', 'lt-PickerGroup');
      fieldset.append(el('legend', '', title));
      for (const column of columns) {
        const label = el('label', 'lt-Check');
        const box = el('input', '', undefined, {
          type: 'checkbox',
          'data-column': column
        });
        box.checked = chosen.has(column);
        box.addEventListener('change', () => {
          const next = this._chosenColumns().filter(c => c !== column);
          if (box.checked) {
            next.push(column);
          }
          this._model.setColumns(this._experimentKey, next);
        });
        label.append(box, ` ${columnTitle(column)}`);
        fieldset.append(label);
      }
      sections.push(fieldset);
    }
    const footer = el('div', 'lt-PickerFooter');
    footer.append(
      button(trans.__('Reset'), () =>
        this._model.setColumns(this._experimentKey, null)
      ),
      button(trans.__('Close'), () => this._toggleColumnPicker())
    );
    this._picker.replaceChildren(...sections, footer);
  }

  private _model: ILabtrackModel;
  private _trans: TranslationBundle;
  private _available = availableColumns([]);
  private _columns: string[] = [];
  private _items: Item[] = [];
  private _sort: ISort | null = null;
  private _frame = 0;
  private _scroller: HTMLElement;
  private _table: HTMLTableElement;
  private _head: HTMLTableSectionElement;
  private _body: HTMLTableSectionElement;
  private _count: HTMLElement;
  private _columnsButton: HTMLButtonElement;
  private _groupSelect: HTMLSelectElement;
  private _differBox: HTMLInputElement;
  private _compareButton: HTMLButtonElement;
  private _clearButton: HTMLButtonElement;
  private _selectAllButton: HTMLButtonElement;
  private _picker: HTMLElement;
}

/** "12 runs", or "1,000 of 12,345 runs" when the list holds fewer than match. */
export function runCountText(
  shown: number,
  total: number | null,
  paging: boolean,
  trans: TranslationBundle
): string {
  const fmt = (n: number) => n.toLocaleString('en-US');
  const all = total !== null && total > shown ? total : shown;
  const text =
    all > shown
      ? trans._n('%2 of %3 run', '%2 of %3 runs', all, fmt(shown), fmt(all))
      : trans._n('%2 run', '%2 runs', shown, fmt(shown));
  return paging ? trans.__('%1 (loading more…)', text) : text;
}
