/**
 * The runs table's second toolbar row: status, start-time and lifecycle
 * filters (composed with the typed filter by the model), delete and restore
 * of the selected runs, and the CSV download of the table (shown in the
 * table's "More" menu, where the row's controls also go when they do not
 * fit: the table's overflow rule).
 */

import { Dialog, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';

import { button, el } from './dom';
import { RunStatus, toAPIError } from './protocol';
import {
  Lifecycle,
  STATUS_CHOICES,
  StartedWithin,
  hasQuickFilters
} from './runfilters';
import { ILabtrackModel } from './tokens';

export class RunsFilterBar {
  constructor(
    private _model: ILabtrackModel,
    private _trans: TranslationBundle,
    private _downloadCSV: () => void
  ) {
    const trans = _trans;
    this.node = el('div', 'lt-RunsFilterBar', undefined, {
      role: 'group',
      'aria-label': trans.__('Run filters and actions')
    });

    const statusNames: Record<string, string> = {
      RUNNING: trans.__('Running'),
      FINISHED: trans.__('Finished'),
      FAILED: trans.__('Failed'),
      KILLED: trans.__('Killed')
    };
    this._status = this._select(
      'lt-StatusFilter',
      trans.__('Status'),
      [
        ['', trans.__('Any status')],
        ...STATUS_CHOICES.map(s => [s, statusNames[s]] as [string, string])
      ],
      value =>
        void this._model.setQuickFilters({
          status: (value || null) as RunStatus | null
        })
    );
    this._started = this._select(
      'lt-TimeFilter',
      trans.__('Started'),
      [
        ['all', trans.__('Any time')],
        ['1h', trans.__('Last hour')],
        ['24h', trans.__('Last 24 hours')],
        ['7d', trans.__('Last 7 days')],
        ['30d', trans.__('Last 30 days')]
      ],
      value =>
        void this._model.setQuickFilters({
          startedWithin: value as StartedWithin
        })
    );
    this._lifecycle = this._select(
      'lt-LifecycleFilter',
      trans.__('Show'),
      [
        ['active', trans.__('Active runs')],
        ['deleted', trans.__('Deleted runs')],
        ['all', trans.__('Active and deleted runs')]
      ],
      value =>
        void this._model.setQuickFilters({ lifecycle: value as Lifecycle })
    );
    this._reset = button(
      trans.__('Reset filters'),
      () =>
        void this._model.setQuickFilters({
          status: null,
          startedWithin: 'all',
          lifecycle: 'active'
        }),
      'lt-ResetFilters'
    );
    this._delete = button(
      '',
      () => void this._deleteSelected(),
      'jp-mod-warn lt-DeleteRuns'
    );
    this._restore = button(
      '',
      () => void this._restoreSelected(),
      'lt-RestoreRuns'
    );
    this.download = button(
      trans.__('Download CSV'),
      () => this._downloadCSV(),
      'lt-DownloadRunsCSV',
      {
        title: trans.__(
          'Download the listed runs as CSV (visible columns, current filter and sort)'
        )
      }
    );
    this._message = el('span', 'lt-ActionStatus', '', {
      role: 'status',
      'aria-live': 'polite'
    });
    this.node.append(
      this._status.parentElement!,
      this._started.parentElement!,
      this._lifecycle.parentElement!,
      this._reset,
      el('span', 'lt-Spacer'),
      this._message,
      this._delete,
      this._restore
    );
    this.render();
  }

  readonly node: HTMLElement;
  /** The CSV download (placed by the table in its "More" menu). */
  readonly download: HTMLButtonElement;

  /** The row's controls, for the table's overflow rule (each may move into
   * its "More" menu in a narrow pane). */
  get controls(): {
    status: HTMLElement;
    started: HTMLElement;
    lifecycle: HTMLElement;
    reset: HTMLButtonElement;
    delete: HTMLButtonElement;
    restore: HTMLButtonElement;
  } {
    return {
      status: this._status.parentElement!,
      started: this._started.parentElement!,
      lifecycle: this._lifecycle.parentElement!,
      reset: this._reset,
      delete: this._delete,
      restore: this._restore
    };
  }

  /** Follow the model: filter values, selection counts. */
  render(): void {
    const model = this._model;
    const quick = model.quickFilters;
    this._status.value = quick.status ?? '';
    this._started.value = quick.startedWithin;
    this._lifecycle.value = quick.lifecycle;
    this._reset.hidden = !hasQuickFilters(quick);
    const selected = model.selectedRuns;
    const deleted = selected.filter(
      r => r.info.lifecycle_stage === 'deleted'
    ).length;
    const active = selected.length - deleted;
    const trans = this._trans;
    // Shown when the selection holds runs they apply to.
    this._delete.textContent = trans.__('Delete (%1)', active);
    this._delete.hidden = active === 0;
    this._delete.disabled = this._busy;
    this._restore.textContent = trans.__('Restore (%1)', deleted);
    this._restore.hidden = deleted === 0;
    this._restore.disabled = this._busy;
    this.download.disabled =
      model.experimentIds.length === 0 || model.runs.length === 0;
  }

  private _select(
    className: string,
    label: string,
    options: [string, string][],
    onChange: (value: string) => void
  ): HTMLSelectElement {
    // Named by aria-label: a wrapping label's name would include the
    // selected option's text.
    const wrapper = el('span', 'lt-FilterField');
    // The visible label hides in a narrow pane (CSS): the title stays.
    const select = el('select', `jp-mod-styled ${className}`, undefined, {
      'aria-label': label,
      title: label
    });
    for (const [value, text] of options) {
      select.append(el('option', '', text, { value }));
    }
    select.addEventListener('change', () => onChange(select.value));
    wrapper.append(
      el('span', 'lt-FilterLabel', label, { 'aria-hidden': 'true' }),
      select
    );
    return select;
  }

  private async _deleteSelected(): Promise<void> {
    const trans = this._trans;
    const runs = this._model.selectedRuns.filter(
      r => r.info.lifecycle_stage !== 'deleted'
    );
    if (runs.length === 0) {
      return;
    }
    const names = runs
      .slice(0, 5)
      .map(r => r.info.run_name || r.info.run_id)
      .join(', ');
    const result = await showDialog({
      title: trans._n('Delete %1 run?', 'Delete %1 runs?', runs.length),
      body: trans.__(
        '%1%2. Deleted runs can be restored: choose "Deleted runs" under Show.',
        names,
        runs.length > 5 ? trans.__(' and %1 more', runs.length - 5) : ''
      ),
      buttons: [
        Dialog.cancelButton({ label: trans.__('Cancel') }),
        Dialog.warnButton({ label: trans.__('Delete') })
      ]
    });
    if (!result.button.accept) {
      return;
    }
    await this._act(
      () => this._model.deleteRuns(runs.map(r => r.info.run_id)),
      trans._n('Deleted %1 run.', 'Deleted %1 runs.', runs.length)
    );
  }

  private async _restoreSelected(): Promise<void> {
    const runs = this._model.selectedRuns.filter(
      r => r.info.lifecycle_stage === 'deleted'
    );
    if (runs.length === 0) {
      return;
    }
    await this._act(
      () => this._model.restoreRuns(runs.map(r => r.info.run_id)),
      this._trans._n('Restored %1 run.', 'Restored %1 runs.', runs.length)
    );
  }

  private async _act(action: () => Promise<void>, done: string): Promise<void> {
    this._busy = true;
    this.render();
    this._message.classList.remove('lt-mod-error');
    try {
      await action();
      this._message.textContent = done;
    } catch (reason) {
      this._message.textContent = this._trans.__(
        'Failed: %1',
        toAPIError(reason).message
      );
      this._message.classList.add('lt-mod-error');
    } finally {
      this._busy = false;
      this.render();
    }
  }

  private _status: HTMLSelectElement;
  private _started: HTMLSelectElement;
  private _lifecycle: HTMLSelectElement;
  private _reset: HTMLButtonElement;
  private _delete: HTMLButtonElement;
  private _restore: HTMLButtonElement;
  private _message: HTMLElement;
  private _busy = false;
}
