/**
 * The run page's actions: rename the run in place (the title becomes a
 * text field), delete it (after a confirmation) or restore a deleted run.
 */

import { Dialog, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';

import { button, el, runName } from '../dom';
import { IRun, toAPIError } from '../protocol';
import { cleanRunName } from '../runactions';
import { ILabtrackModel } from '../tokens';

export class RunActionsBar {
  constructor(
    private _model: ILabtrackModel,
    private _trans: TranslationBundle,
    private _title: HTMLElement
  ) {
    const trans = _trans;
    this.node = el('span', 'lt-RunActions');
    this._rename = button(
      trans.__('Rename'),
      () => this._startRename(),
      'lt-RenameRun'
    );
    this._delete = button(
      trans.__('Delete'),
      () => void this._deleteRun(),
      'jp-mod-warn lt-DeleteRun'
    );
    this._restore = button(
      trans.__('Restore'),
      () => void this._restoreRun(),
      'lt-RestoreRun'
    );
    this._message = el('span', 'lt-ActionStatus', '', {
      role: 'status',
      'aria-live': 'polite'
    });
    this.node.append(this._message, this._rename, this._delete, this._restore);
  }

  readonly node: HTMLElement;

  /** True while the name is being edited (a re-render keeps the field). */
  get editing(): boolean {
    return this._form !== null;
  }

  render(run: IRun): void {
    if (this._run?.info.run_id !== run.info.run_id) {
      this._message.textContent = '';
      this._cancelRename();
    }
    this._run = run;
    const deleted = run.info.lifecycle_stage === 'deleted';
    this._delete.hidden = deleted;
    this._restore.hidden = !deleted;
    this._rename.disabled = this.editing;
  }

  private _startRename(): void {
    const run = this._run;
    if (!run || this._form) {
      return;
    }
    const trans = this._trans;
    const form = el('form', 'lt-RenameForm');
    const input = el('input', 'jp-mod-styled lt-RenameInput', undefined, {
      type: 'text',
      'aria-label': trans.__('New run name'),
      spellcheck: 'false',
      autocomplete: 'off'
    });
    input.value = runName(run);
    const error = el('span', 'lt-FieldError', '', { role: 'alert' });
    form.append(
      input,
      button(trans.__('Save'), () => undefined, 'jp-mod-accept lt-RenameSave', {
        type: 'submit'
      }),
      button(trans.__('Cancel'), () => this._cancelRename(), 'lt-RenameCancel'),
      error
    );
    form.addEventListener('submit', event => {
      event.preventDefault();
      const name = cleanRunName(input.value);
      if (name === null) {
        error.textContent = trans.__('A run name cannot be empty.');
        input.setAttribute('aria-invalid', 'true');
        return;
      }
      void this._saveName(run, name, error);
    });
    input.addEventListener('keydown', event => {
      if (event.key === 'Escape') {
        event.preventDefault();
        this._cancelRename();
      }
    });
    this._form = form;
    this._title.replaceChildren(form);
    this._rename.disabled = true;
    input.focus();
    input.select();
  }

  private _cancelRename(): void {
    if (!this._form) {
      return;
    }
    this._form = null;
    this._rename.disabled = false;
    this._title.textContent = this._run ? runName(this._run) : '';
    this._rename.focus();
  }

  private async _saveName(
    run: IRun,
    name: string,
    error: HTMLElement
  ): Promise<void> {
    try {
      await this._model.renameRun(run.info.run_id, name);
      this._form = null;
      this._rename.disabled = false;
      this._title.textContent = name;
      this._message.textContent = this._trans.__('Renamed.');
      this._rename.focus();
    } catch (reason) {
      error.textContent = toAPIError(reason).message;
    }
  }

  private async _deleteRun(): Promise<void> {
    const run = this._run;
    if (!run) {
      return;
    }
    const trans = this._trans;
    const result = await showDialog({
      title: trans.__('Delete run %1?', runName(run)),
      body: trans.__(
        'The run can be restored from the runs table (Show: Deleted runs) or from this page.'
      ),
      buttons: [
        Dialog.cancelButton({ label: trans.__('Cancel') }),
        Dialog.warnButton({ label: trans.__('Delete') })
      ]
    });
    if (result.button.accept) {
      await this._act(
        () => this._model.deleteRuns([run.info.run_id]),
        trans.__('Deleted.')
      );
    }
  }

  private async _restoreRun(): Promise<void> {
    const run = this._run;
    if (run) {
      await this._act(
        () => this._model.restoreRuns([run.info.run_id]),
        this._trans.__('Restored.')
      );
    }
  }

  private async _act(action: () => Promise<void>, done: string): Promise<void> {
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
    }
  }

  private _run: IRun | null = null;
  private _form: HTMLFormElement | null = null;
  private _rename: HTMLButtonElement;
  private _delete: HTMLButtonElement;
  private _restore: HTMLButtonElement;
  private _message: HTMLElement;
}
