/**
 * The runs table: a virtualized DOM table (only the rows in view exist), so
 * 10,000 runs scroll smoothly while every cell stays real, accessible,
 * selectable text rendered with `textContent`.
 */

import { Clipboard } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { DEFAULT_ORDER_BY, orderByClause, searchRunsCode } from './code';
import { IRun } from './protocol';
import {
  button,
  columnValue,
  el,
  formatMetric,
  formatTime,
  runDuration,
  runName,
  statusBadge,
  tagValue
} from './dom';
import { downloadText, runsCSV, safeFileName } from './csv';
import { runViewType } from './runfilters';
import { RunsFilterBar } from './runsfilterbar';
import { SavedViewsBar } from './viewsbar';
import { OverflowMenu } from './toolbarmenu';
import { ITreeRow, buildRunTree, flattenTree, IRunNode } from './runtree';
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
  | { kind: 'group'; label: string; count: number }
  | { kind: 'run'; run: IRun; row: ITreeRow };

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
    { id: 'attributes.user_id', title: trans.__('User') },
    { id: 'attributes.status', title: trans.__('Status') },
    { id: 'attributes.start_time', title: trans.__('Started') },
    { id: 'attributes.duration', title: trans.__('Duration') }
  ];
}
/** How many built-in columns there are. */
const FIXED_COLUMN_COUNT = 5;

/** Who logged a run: its user, else its `mlflow.user` tag. */
export function runUser(run: IRun): string {
  return run.info.user_id || tagValue(run, 'mlflow.user') || '';
}

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
    case 'attributes.user_id':
      return runUser(run) || undefined;
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

/** A pin or hide toggle of a run row (out of the tab order, as the row's
 * other controls; the row's keys select and open). */
function runMarkButton(
  className: string,
  symbol: string,
  pressed: boolean,
  label: string,
  onClick: () => void
): HTMLButtonElement {
  const node = el('button', `lt-RunMark ${className}`, undefined, {
    type: 'button',
    tabindex: '-1',
    'aria-pressed': pressed ? 'true' : 'false',
    'aria-label': label,
    title: label
  });
  node.append(el('span', '', symbol, { 'aria-hidden': 'true' }));
  node.addEventListener('click', event => {
    event.stopPropagation();
    onClick();
  });
  return node;
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
    // Team services only (the model knows who "me" is): whose runs to list.
    this._ownerSelect = el(
      'select',
      'jp-mod-styled lt-OwnerFilter',
      undefined,
      {
        'aria-label': trans.__('Whose runs to list')
      }
    );
    this._ownerSelect.append(
      el('option', '', trans.__('Everyone'), { value: 'everyone' }),
      el('option', '', trans.__('Mine'), { value: 'mine' })
    );
    this._ownerSelect.addEventListener('change', () => {
      void this._model.setMineOnly(this._ownerSelect.value === 'mine');
    });
    this._renderOwnerFilter();
    const differLabel = el('label', 'lt-Check');
    this._differBox = el('input', 'lt-OnlyDiffer', undefined, {
      type: 'checkbox'
    });
    this._differBox.addEventListener('change', () => this._render());
    differLabel.append(
      this._differBox,
      ' ' + trans.__('Only columns that differ')
    );
    this._childrenLabel = el('label', 'lt-Check lt-ShowChildrenLabel', '', {
      title: trans.__(
        'With a filter, also list the child runs of the runs that match'
      )
    });
    this._childrenBox = el('input', 'lt-ShowChildren', undefined, {
      type: 'checkbox'
    });
    this._childrenBox.addEventListener('change', () => {
      void this._model.setShowChildrenOfMatches(this._childrenBox.checked);
    });
    this._childrenLabel.append(
      this._childrenBox,
      ' ' + trans.__('Show children of matches')
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
    this._copyButton = button(
      trans.__('Copy as code'),
      () => this._copyAsCode(),
      'lt-CopyAsCode',
      {
        title: trans.__(
          'Copy the lt.search_runs(...) call that lists these runs (filter and sort)'
        )
      }
    );
    this._copyStatus = el('span', 'lt-CopyStatus', '', {
      role: 'status',
      'aria-live': 'polite'
    });
    this._count = el('span', 'lt-RunsCount', '', {
      role: 'status',
      'aria-live': 'polite'
    });
    // Two rows: the first has the count, saved views, columns and Compare
    // (the second the filters and the selection's actions); grouping and
    // the less used actions and options are under "More", and so are the
    // controls that do not fit their row in a narrow pane (below).
    this._more = new OverflowMenu(trans);
    toolbar.append(
      this._count,
      el('span', 'lt-Spacer'),
      this._ownerSelect,
      this._columnsButton,
      this._more.node,
      this._compareButton,
      this._copyStatus
    );
    this._picker = el('div', 'lt-ColumnPicker', undefined, {
      role: 'dialog',
      'aria-label': trans.__('Choose columns')
    });
    this._picker.hidden = true;
    // Search, the column list (scrolls) and the buttons (always in view);
    // made once so the search keeps its text and focus while columns change.
    this._pickerSearch = el(
      'input',
      'jp-mod-styled lt-ColumnSearch',
      undefined,
      {
        type: 'search',
        placeholder: trans.__('Search columns'),
        'aria-label': trans.__('Search columns'),
        spellcheck: 'false',
        autocomplete: 'off'
      }
    );
    this._pickerSearch.addEventListener('input', () => this._renderPicker());
    this._pickerSearch.addEventListener('keydown', event => {
      if (event.key === 'Escape') {
        event.preventDefault();
        this._toggleColumnPicker();
        this._more.focus(this._columnsButton);
      }
    });
    this._pickerBody = el('div', 'lt-PickerBody');
    const pickerFooter = el('div', 'lt-PickerFooter');
    pickerFooter.append(
      button(
        trans.__('Reset'),
        () => this._model.setColumns(this._experimentKey, null),
        'lt-PickerReset'
      ),
      button(
        trans.__('Close'),
        () => this._toggleColumnPicker(),
        'lt-PickerClose'
      )
    );
    this._picker.append(this._pickerSearch, this._pickerBody, pickerFooter);

    this._scroller = el('div', 'lt-RunsScroller', undefined, {
      tabindex: '-1'
    });
    this._table = el('table', 'lt-RunsTable', undefined, {
      role: 'treegrid',
      'aria-label': trans.__('Runs'),
      'aria-rowcount': '0',
      'aria-multiselectable': 'true'
    });
    this._head = el('thead');
    this._body = el('tbody');
    this._table.append(this._head, this._body);
    this._body.addEventListener('keydown', this._onKeydown);
    this._scroller.append(this._table);
    this._scroller.addEventListener('scroll', this._onScroll, {
      passive: true
    });

    this._filterBar = new RunsFilterBar(model, trans, () => this.downloadCSV());
    this._viewsBar = new SavedViewsBar(model, trans, this);
    this._count.after(this._viewsBar.node);
    const groupLabel = el('label', 'lt-FilterField', trans.__('Group by'));
    groupLabel.append(this._groupSelect);
    this._more.add(
      groupLabel,
      this._selectAllButton,
      this._clearButton,
      this._copyButton,
      this._filterBar.download,
      differLabel,
      this._childrenLabel
    );
    this.node.append(
      toolbar,
      this._filterBar.node,
      this._picker,
      this._scroller
    );
    // Each row stays one line (a narrow pane, a filter and a selection of
    // active and deleted runs show every control): what does not fit goes
    // into "More", lowest priority first. The count, "More" and Compare
    // always stay; the selection's actions and the lifecycle filter stay
    // longest.
    const views = this._viewsBar.controls;
    const row2 = this._filterBar.controls;
    this._more.manage(
      [toolbar, this._filterBar.node],
      [
        { node: views.select, priority: 20 },
        { node: views.save, priority: 10 },
        { node: views.delete, priority: 5 },
        { node: this._ownerSelect, priority: 25 },
        { node: this._columnsButton, priority: 30 },
        { node: row2.started, priority: 10 },
        { node: row2.status, priority: 20 },
        { node: row2.reset, priority: 30 },
        { node: row2.lifecycle, priority: 40 },
        { node: row2.restore, priority: 50 },
        { node: row2.delete, priority: 60 }
      ],
      [this._copyStatus]
    );
    model.changed.connect(this._onModelChanged, this);
    model.marks.changed.connect(this._onMarks, this);
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._model.changed.disconnect(this._onModelChanged, this);
    this._model.marks.changed.disconnect(this._onMarks, this);
    this._viewsBar.dispose();
    this._more.dispose();
    super.dispose();
  }

  private _onMarks(): void {
    this._render();
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
    if (change === 'filter') {
      this._renderOwnerFilter();
    }
    if (change === 'runs' || change === 'columns' || change === 'selection') {
      this._render();
      this._filterBar.render();
      if (change === 'selection') {
        this._viewsBar.render();
      }
    } else if (change === 'runSelection') {
      this._renderSelectionState();
      this._filterBar.render();
    } else if (change === 'filter') {
      this._filterBar.render();
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
    this._model.marks.see(runs);
    this._model.marks.see(this._model.contextRuns);
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
    const refused =
      this._model.runsState.error?.errorCode === 'INVALID_PARAMETER_VALUE';
    const all = this._model.unfilteredTotal;
    this._count.textContent =
      this._model.experimentIds.length === 0 || this._model.runsState.loading
        ? ''
        : refused
          ? all === null
            ? this._trans.__('Invalid filter')
            : this._trans._n(
                'Invalid filter (%2 run in all)',
                'Invalid filter (%2 runs in all)',
                all,
                all.toLocaleString('en-US')
              )
          : runCountText(
              n,
              this._model.runsTotal,
              this._model.runsPaging,
              this._trans
            );
    this._count.classList.toggle('lt-mod-error', refused);
    this._table.hidden = n === 0;
    this._copyButton.disabled = this._model.experimentIds.length === 0;
    this._syncCopyStatus();
    this._childrenBox.checked = this._model.showChildrenOfMatches;
    this._childrenBox.disabled = !this._model.effectiveFilter;
    this._childrenLabel.classList.toggle(
      'lt-mod-disabled',
      !this._model.effectiveFilter
    );
    this._renderRows();
    this._renderSelectionState();
    if (!this._picker.hidden) {
      this._renderPicker();
    }
  }

  private _renderOwnerFilter(): void {
    const me = this._model.me;
    this._ownerSelect.hidden = me === null;
    this._ownerSelect.value = this._model.mineOnly ? 'mine' : 'everyone';
    this._ownerSelect.title =
      me === null ? '' : this._trans.__('Mine: the runs logged as %1', me);
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

  /**
   * The visible rows: the runs as a tree (sorting among siblings), grouped
   * by a parameter of the top-level runs when a grouping is chosen.
   */
  private _buildItems(all: readonly IRun[]): Item[] {
    // Pinned runs first, whatever the filter, sort or grouping.
    const marks = this._model.marks;
    const pinned = marks.pinnedRuns(this._model.experimentIds);
    const pinnedItems: Item[] = pinned.map((run, i) => ({
      kind: 'run',
      run,
      row: {
        run,
        level: 1,
        parentId: null,
        childCount: 0,
        expanded: false,
        matched: true,
        posInSet: i + 1,
        setSize: pinned.length
      }
    }));
    const runs = all.filter(r => !marks.isPinned(r.info.run_id));
    return [...pinnedItems, ...this._treeItems(runs)];
  }

  private _treeItems(runs: readonly IRun[]): Item[] {
    const sort = this._sort;
    let compare: ((a: IRun, b: IRun) => number) | undefined;
    if (sort) {
      const sign = sort.ascending ? 1 : -1;
      compare = (a, b) => {
        const va = sortValue(a, sort.column);
        const vb = sortValue(b, sort.column);
        if (va === undefined || vb === undefined) {
          return va === vb ? 0 : va === undefined ? 1 : -1;
        }
        return sign * compareValues(va, vb);
      };
    }
    const forest = buildRunTree(runs, {
      context: this._model.contextRuns.filter(
        r => !this._model.marks.isPinned(r.info.run_id)
      ),
      compare
    });
    const filtered = !!this._model.effectiveFilter;
    const rows = (nodes: readonly IRunNode[]): Item[] =>
      flattenTree(nodes, this._expanded, filtered).map(row => ({
        kind: 'run',
        run: row.run,
        row
      }));
    const group = this._groupSelect.value;
    if (!group) {
      return rows(forest);
    }
    const groups = new Map<string, IRunNode[]>();
    for (const node of forest) {
      const value = columnValue(node.run, group);
      const label =
        value === undefined
          ? this._trans.__('(not set)')
          : `${columnTitle(group)} = ${value}`;
      let list = groups.get(label);
      if (!list) {
        list = [];
        groups.set(label, list);
      }
      list.push(node);
    }
    const items: Item[] = [];
    const labels = [...groups.keys()].sort((a, b) => compareValues(a, b));
    for (const label of labels) {
      const list = groups.get(label)!;
      items.push({ kind: 'group', label, count: list.length });
      items.push(...rows(list));
    }
    return items;
  }

  /** The table's sort (null: newest first, as fetched). */
  get sort(): ISort | null {
    return this._sort ? { ...this._sort } : null;
  }

  setSort(sort: ISort | null): void {
    this._sort = sort ? { ...sort } : null;
    this._render();
  }

  /** The listed runs as CSV: visible columns, in table order. */
  csv(): string {
    const runs = this._items
      .filter(item => item.kind === 'run')
      .map(item => (item as { run: IRun }).run);
    return runsCSV(runs, this._columns);
  }

  downloadCSV(): void {
    const names = this._model.experimentIds.map(
      id =>
        this._model.experiments.find(e => e.experiment_id === id)?.name ?? id
    );
    downloadText(
      this.csv(),
      `${safeFileName(names.join('+'), 'runs')}-runs.csv`
    );
  }

  /** The `lt.search_runs(...)` call of the table's experiments, filter, sort. */
  searchRunsCode(): string {
    const sort = this._sort;
    const clause = sort ? orderByClause(sort.column, sort.ascending) : null;
    return searchRunsCode(
      this._model.experimentIds,
      this._model.effectiveFilter,
      clause ? [clause] : DEFAULT_ORDER_BY,
      runViewType(this._model.quickFilters.lifecycle)
    );
  }

  /** "Copied: ..." stays only while it still describes the table. */
  private _syncCopyStatus(): void {
    if (this._copied !== null && this._copied !== this.searchRunsCode()) {
      this._copied = null;
      this._copyStatus.replaceChildren();
    }
  }

  private _copyAsCode(): void {
    const code = this.searchRunsCode();
    Clipboard.copyToSystem(code);
    this._copied = code;
    this._copyStatus.replaceChildren(
      this._trans.__('Copied: '),
      el('code', 'lt-CopiedCode', code)
    );
  }

  /** Expand or collapse a parent run (the user's choice is remembered). */
  private _setExpanded(runId: string, expanded: boolean): void {
    this._expanded.set(runId, expanded);
    this._items = this._buildItems(this._model.runs);
    this._table.setAttribute('aria-rowcount', String(this._items.length + 1));
    this._renderRows();
  }

  /** Move keyboard focus to the run row at `index` of the items. */
  private _focusItem(index: number): void {
    const item = this._items[index];
    if (!item || item.kind !== 'run') {
      return;
    }
    this._focusId = item.run.info.run_id;
    const top = index * ROW_HEIGHT;
    const header = this._head.offsetHeight || ROW_HEIGHT;
    const view = this._scroller.clientHeight || 600;
    if (top < this._scroller.scrollTop) {
      this._scroller.scrollTop = top;
    } else if (top + ROW_HEIGHT + header > this._scroller.scrollTop + view) {
      this._scroller.scrollTop = top + ROW_HEIGHT + header - view;
    }
    this._renderRows();
    this._rowElement(this._focusId)?.focus();
  }

  private _rowElement(runId: string): HTMLElement | null {
    return this._body.querySelector<HTMLElement>(
      `tr.lt-run-row[data-run-id="${CSS.escape(runId)}"]`
    );
  }

  /**
   * The treegrid's keys: arrows move (Right/Left expand, collapse, go to the
   * first child or the parent), Home/End, Space selects, Enter opens.
   */
  private _onKeydown = (event: KeyboardEvent): void => {
    const target = event.target as HTMLElement;
    const rowNode = target.closest<HTMLElement>('tr.lt-run-row');
    if (!rowNode) {
      return;
    }
    const onRow = target === rowNode;
    const runId = rowNode.dataset.runId ?? '';
    const index = this._items.findIndex(
      item => item.kind === 'run' && item.run.info.run_id === runId
    );
    if (index < 0) {
      return;
    }
    const item = this._items[index] as Extract<Item, { kind: 'run' }>;
    const runIndexes = this._items
      .map((it, i) => (it.kind === 'run' ? i : -1))
      .filter(i => i >= 0);
    const at = runIndexes.indexOf(index);
    let next: number | null = null;
    switch (event.key) {
      case 'ArrowDown':
        next = runIndexes[Math.min(at + 1, runIndexes.length - 1)];
        break;
      case 'ArrowUp':
        next = runIndexes[Math.max(at - 1, 0)];
        break;
      case 'Home':
        next = runIndexes[0];
        break;
      case 'End':
        next = runIndexes[runIndexes.length - 1];
        break;
      case 'ArrowRight':
        if (item.row.childCount > 0 && !item.row.expanded) {
          this._setExpanded(runId, true);
          next = index;
        } else if (item.row.expanded) {
          next = index + 1;
        }
        break;
      case 'ArrowLeft':
        if (item.row.expanded) {
          this._setExpanded(runId, false);
          next = index;
        } else if (item.row.parentId) {
          const parent = item.row.parentId;
          next = this._items.findIndex(
            it => it.kind === 'run' && it.run.info.run_id === parent
          );
        }
        break;
      case ' ':
        if (!onRow) {
          return;
        }
        this._model.setRunSelected(item.run, !this._model.isRunSelected(runId));
        break;
      case 'Enter':
        if (!onRow) {
          return;
        }
        this._model.openRun(runId);
        break;
      default:
        return;
    }
    event.preventDefault();
    event.stopPropagation();
    if (next !== null && next >= 0) {
      this._focusItem(next);
    }
  };

  private _renderHead(): void {
    const row = el('tr', '', undefined, { role: 'row' });
    const selectHeader = el('th', 'lt-SelectCell', undefined, {
      scope: 'col',
      role: 'columnheader'
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
        role: 'columnheader',
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
        this._syncCopyStatus();
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
      this._renderRows(true);
    });
  };

  /**
   * Render only the rows in (and near) the viewport. `scrolled`: only the
   * viewport moved since the last render, so the rows already built stay
   * (building every row of the window each frame was most of a scrolled
   * frame's script and style time); any other change builds them anew.
   */
  private _renderRows(scrolled = false): void {
    const items = this._items;
    const built = scrolled
      ? this._builtRows
      : new Map<number, HTMLTableRowElement>();
    const kept = new Map<number, HTMLTableRowElement>();
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
      let row = built.get(i);
      if (!row) {
        const item = items[i];
        row =
          item.kind === 'run'
            ? this._runRow(item.run, item.row)
            : this._groupRow(item.label, item.count, colspan);
        row.setAttribute('aria-rowindex', String(i + 2));
      }
      kept.set(i, row);
      rows.push(row);
    }
    this._builtRows = kept;
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
    const rowFocused = active?.tagName === 'TR';
    this._body.replaceChildren(...rows);
    // One row is the tab stop (roving tabindex): the focused one, else the first.
    for (const row of this._body.querySelectorAll<HTMLElement>(
      'tr[tabindex="0"]'
    )) {
      row.tabIndex = -1;
    }
    const tabStop =
      (this._focusId && this._rowElement(this._focusId)) ||
      this._body.querySelector<HTMLElement>('tr.lt-run-row');
    if (tabStop) {
      tabStop.tabIndex = 0;
    }
    if (focusRun) {
      const again = rowFocused
        ? this._rowElement(focusRun)
        : this._body.querySelector<HTMLElement>(
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
    const row = el('tr', 'lt-GroupRow', undefined, { role: 'row' });
    const cell = el('th', '', undefined, {
      colspan,
      scope: 'rowgroup',
      role: 'rowheader'
    });
    cell.append(
      el('span', 'lt-GroupLabel', label),
      el('span', 'lt-GroupCount', ` (${count})`)
    );
    row.append(cell);
    return row;
  }

  private _runRow(run: IRun, tree: ITreeRow): HTMLTableRowElement {
    const { info } = run;
    const name = runName(run);
    const trans = this._trans;
    const selected = this._model.isRunSelected(info.run_id);
    const row = el('tr', 'lt-run-row', undefined, {
      role: 'row',
      tabindex: '-1',
      'data-run-id': info.run_id,
      'data-run-name': name,
      'data-status': info.status,
      'data-level': String(tree.level),
      'data-parent-id': tree.parentId ?? undefined,
      'aria-level': String(tree.level),
      'aria-posinset': String(tree.posInSet),
      'aria-setsize': String(tree.setSize),
      'aria-expanded':
        tree.childCount > 0 ? (tree.expanded ? 'true' : 'false') : undefined,
      'aria-selected': selected ? 'true' : 'false'
    });
    row.classList.toggle('lt-mod-selected', selected);
    row.classList.toggle('lt-mod-context', !tree.matched);
    const deleted = info.lifecycle_stage === 'deleted';
    row.classList.toggle('lt-mod-deleted', deleted);
    const pinned = this._model.marks.isPinned(info.run_id);
    const hidden = this._model.marks.isHidden(info.run_id);
    row.classList.toggle('lt-mod-pinned', pinned);
    row.classList.toggle('lt-mod-hidden', hidden);
    if (!tree.matched) {
      row.title = trans.__('Shown for context: does not match the filter');
    }

    const selectCell = el('td', 'lt-SelectCell', undefined, {
      role: 'gridcell'
    });
    const box = el('input', 'lt-RunSelect', undefined, {
      type: 'checkbox',
      tabindex: '-1',
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
      role: 'rowheader',
      title: trans.__('Run ID: %1', info.run_id)
    });
    nameCell.style.setProperty('--lt-tree-level', String(tree.level - 1));
    // A flex box: a long name is cut with an ellipsis, the toggle stays.
    const cell = el('div', 'lt-TreeCell');
    nameCell.append(cell);
    if (tree.childCount > 0) {
      const toggle = el('button', 'lt-TreeToggle', undefined, {
        type: 'button',
        tabindex: '-1',
        'aria-label': tree.expanded
          ? trans.__('Collapse %1', name)
          : trans.__('Expand %1', name)
      });
      toggle.append(
        el('span', '', tree.expanded ? '▾' : '▸', { 'aria-hidden': 'true' })
      );
      toggle.addEventListener('click', () =>
        this._setExpanded(info.run_id, !tree.expanded)
      );
      cell.append(toggle);
    } else {
      cell.append(
        el('span', 'lt-TreeToggle lt-mod-leaf', undefined, {
          'aria-hidden': 'true'
        })
      );
    }
    const link = el('button', 'lt-RunNameText', name, {
      type: 'button',
      tabindex: '-1',
      title: trans.__('Open run %1', name)
    });
    link.addEventListener('click', () => this._model.openRun(info.run_id));
    cell.append(link);
    if (deleted) {
      cell.append(el('span', 'lt-DeletedBadge', trans.__('deleted')));
    }
    cell.append(
      runMarkButton(
        'lt-PinRun',
        pinned ? '★' : '☆',
        pinned,
        pinned
          ? trans.__('Unpin %1', name)
          : trans.__('Pin %1 to the top', name),
        () => this._model.marks.setPinned(run, !pinned)
      ),
      runMarkButton(
        'lt-HideRun',
        hidden ? '◌' : '●',
        hidden,
        hidden
          ? trans.__('Show %1 in charts', name)
          : trans.__('Hide %1 from charts', name),
        () => this._model.marks.setHidden(run, !hidden)
      )
    );
    if (tree.childCount > 0) {
      cell.append(
        el(
          'span',
          'lt-ChildCount',
          trans._n('%1 child', '%1 children', tree.childCount)
        )
      );
    }
    row.append(nameCell);

    const user = runUser(run);
    row.append(
      el('td', 'lt-User', user, {
        role: 'gridcell',
        title: user || undefined
      })
    );

    const statusCell = el('td', '', undefined, { role: 'gridcell' });
    statusCell.append(statusBadge(info.status));
    row.append(statusCell);
    row.append(
      el('td', 'lt-Time', formatTime(info.start_time), {
        role: 'gridcell',
        title: info.start_time ? new Date(info.start_time).toISOString() : ''
      }),
      el('td', 'lt-Duration', runDuration(run), { role: 'gridcell' })
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
          role: 'gridcell',
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
      this._pickerSearch.focus();
    }
  }

  /** The column checkboxes matching the search, by kind. */
  private _renderPicker(): void {
    const chosen = new Set(this._chosenColumns());
    const sections: HTMLElement[] = [];
    const trans = this._trans;
    const query = this._pickerSearch.value.trim().toLowerCase();
    const kinds: [string, string[]][] = [
      [trans.__('Metrics'), this._available.metrics],
      [trans.__('Parameters'), this._available.params],
      [trans.__('Tags'), this._available.tags]
    ];
    for (const [title, all] of kinds) {
      const columns = query
        ? all.filter(c => columnTitle(c).toLowerCase().includes(query))
        : all;
      if (columns.length === 0) {
        continue;
      }
      const fieldset = el('fieldset', 'lt-PickerGroup');
      fieldset.append(
        el(
          'legend',
          '',
          query
            ? trans.__('%1 (%2 of %3)', title, columns.length, all.length)
            : trans.__('%1 (%2)', title, all.length)
        )
      );
      for (const column of columns) {
        const label = el('label', 'lt-Check', undefined, {
          title: column
        });
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
    if (sections.length === 0) {
      sections.push(
        el(
          'p',
          'lt-Empty',
          query
            ? trans.__(
                'No columns match "%1".',
                this._pickerSearch.value.trim()
              )
            : trans.__('No columns yet.')
        )
      );
    }
    // Keep the focused checkbox focused across the re-render.
    const focused = (document.activeElement as HTMLElement | null)?.dataset
      ?.column;
    const scroll = this._pickerBody.scrollTop;
    this._pickerBody.replaceChildren(...sections);
    this._pickerBody.scrollTop = scroll;
    if (focused) {
      this._pickerBody
        .querySelector<HTMLElement>(
          `input[data-column="${CSS.escape(focused)}"]`
        )
        ?.focus();
    }
  }

  private _model: ILabtrackModel;
  private _trans: TranslationBundle;
  private _available = availableColumns([]);
  private _columns: string[] = [];
  private _items: Item[] = [];
  private _sort: ISort | null = null;
  /** The user's expand/collapse choices (run id -> expanded). */
  private _expanded = new Map<string, boolean>();
  /** The run row that is the tab stop. */
  private _focusId: string | null = null;
  private _childrenBox: HTMLInputElement;
  private _copyButton: HTMLButtonElement;
  private _filterBar: RunsFilterBar;
  private _viewsBar: SavedViewsBar;
  private _copyStatus: HTMLElement;
  private _more: OverflowMenu;
  private _copied: string | null = null;
  private _childrenLabel: HTMLElement;
  private _frame = 0;
  /** The rows of the last render by item index (reused while only scrolling). */
  private _builtRows = new Map<number, HTMLTableRowElement>();
  private _scroller: HTMLElement;
  private _table: HTMLTableElement;
  private _head: HTMLTableSectionElement;
  private _body: HTMLTableSectionElement;
  private _count: HTMLElement;
  private _columnsButton: HTMLButtonElement;
  private _groupSelect: HTMLSelectElement;
  private _ownerSelect: HTMLSelectElement;
  private _differBox: HTMLInputElement;
  private _compareButton: HTMLButtonElement;
  private _clearButton: HTMLButtonElement;
  private _selectAllButton: HTMLButtonElement;
  private _picker: HTMLElement;
  private _pickerSearch: HTMLInputElement;
  private _pickerBody: HTMLElement;
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
