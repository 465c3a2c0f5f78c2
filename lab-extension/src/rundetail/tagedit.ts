/**
 * The run's tags, editable: change a value in place, remove a tag, add one.
 * `mlflow.*` tags are shown read-only (MLflow and the logging tools own
 * them); the note tag has its own section.
 */

import { TranslationBundle } from '@jupyterlab/translation';

import { button, el } from '../dom';
import { IRun, toAPIError } from '../protocol';
import { TagKeyProblem, isSystemTag, tagKeyProblem } from '../runactions';
import { NOTE_TAG } from '../rundetailmodel';
import { ILabtrackModel } from '../tokens';

export class TagEditor {
  constructor(
    private _model: ILabtrackModel,
    private _trans: TranslationBundle
  ) {
    this.node = el('section', 'lt-Section lt-TagsSection');
  }

  readonly node: HTMLElement;

  render(run: IRun): void {
    if (this._run?.info.run_id !== run.info.run_id) {
      this._editing = null;
      this._draft = { key: '', value: '' };
    } else {
      this._keepDraft();
    }
    this._run = run;
    const trans = this._trans;
    const tags = (run.data.tags ?? [])
      .filter(t => t.key !== NOTE_TAG)
      .sort((a, b) => a.key.localeCompare(b.key));
    const head = el(
      'h3',
      'lt-SectionHeading',
      trans.__('Tags (%1)', tags.length)
    );
    const parts: HTMLElement[] = [head];
    if (tags.length > 0) {
      const table = el('table', 'lt-KVTable lt-TagTable', undefined, {
        'aria-label': trans.__('Tags')
      });
      const body = el('tbody');
      for (const tag of tags) {
        body.append(this._row(tag.key, tag.value));
      }
      table.append(body);
      parts.push(table);
    } else {
      parts.push(el('p', 'lt-Empty', trans.__('None.')));
    }
    parts.push(this._addForm());
    this.node.replaceChildren(...parts);
  }

  private _row(key: string, value: string): HTMLTableRowElement {
    const trans = this._trans;
    const tr = el('tr', '', undefined, { 'data-tag-row': key });
    tr.append(el('th', '', key, { scope: 'row' }));
    if (this._editing?.key === key) {
      const cell = el('td', 'lt-TagEditCell', undefined, { colspan: '2' });
      const form = el('form', 'lt-TagEditForm');
      const input = el('input', 'jp-mod-styled lt-TagValueInput', undefined, {
        type: 'text',
        'aria-label': trans.__('Value of tag %1', key),
        spellcheck: 'false'
      });
      input.value = this._editing.value;
      input.addEventListener('input', () => {
        if (this._editing) {
          this._editing.value = input.value;
        }
      });
      input.addEventListener('keydown', event => {
        if (event.key === 'Escape') {
          event.preventDefault();
          this._editing = null;
          this._rerender();
        }
      });
      const error = el('span', 'lt-FieldError', '', { role: 'alert' });
      form.append(
        input,
        button(trans.__('Save'), () => undefined, 'jp-mod-accept lt-TagSave', {
          type: 'submit'
        }),
        button(
          trans.__('Cancel'),
          () => {
            this._editing = null;
            this._rerender();
          },
          'lt-TagCancel'
        ),
        error
      );
      form.addEventListener('submit', event => {
        event.preventDefault();
        void this._save(key, input.value, error);
      });
      cell.append(form);
      tr.append(cell);
      requestAnimationFrame(() => input.focus());
      return tr;
    }
    tr.append(el('td', '', value, { 'data-tag': key }));
    const actions = el('td', 'lt-TagActions');
    if (isSystemTag(key)) {
      actions.append(
        el('span', 'lt-Hint', trans.__('set by MLflow'), {
          title: trans.__('mlflow.* tags are written by MLflow and its tools')
        })
      );
    } else {
      actions.append(
        button(
          trans.__('Edit'),
          () => {
            this._editing = { key, value };
            this._rerender();
          },
          'lt-TagEdit',
          { 'aria-label': trans.__('Edit tag %1', key) }
        ),
        button(
          trans.__('Remove'),
          () => void this._remove(key),
          'lt-TagRemove',
          { 'aria-label': trans.__('Remove tag %1', key) }
        )
      );
    }
    tr.append(actions);
    return tr;
  }

  private _addForm(): HTMLFormElement {
    const trans = this._trans;
    const form = el('form', 'lt-AddTagForm', undefined, {
      'aria-label': trans.__('Add a tag')
    });
    const key = el('input', 'jp-mod-styled lt-NewTagKey', undefined, {
      type: 'text',
      placeholder: trans.__('Key'),
      'aria-label': trans.__('New tag key'),
      spellcheck: 'false',
      autocomplete: 'off'
    });
    const value = el('input', 'jp-mod-styled lt-NewTagValue', undefined, {
      type: 'text',
      placeholder: trans.__('Value'),
      'aria-label': trans.__('New tag value'),
      spellcheck: 'false',
      autocomplete: 'off'
    });
    key.value = this._draft.key;
    value.value = this._draft.value;
    const error = el('span', 'lt-FieldError', '', { role: 'alert' });
    form.append(
      key,
      value,
      button(trans.__('Add tag'), () => undefined, 'lt-AddTag', {
        type: 'submit'
      }),
      error
    );
    form.addEventListener('submit', event => {
      event.preventDefault();
      const problem = tagKeyProblem(key.value);
      if (problem) {
        error.textContent = this._problemText(problem);
        key.setAttribute('aria-invalid', 'true');
        key.focus();
        return;
      }
      // Cleared at once (a live re-render keeps what the fields hold);
      // given back if the server refuses the tag.
      const tag = { key: key.value, value: value.value };
      key.value = value.value = '';
      this._draft = { key: '', value: '' };
      void this._save(tag.key, tag.value, error).then(saved => {
        if (!saved && this._keyInput && this._valueInput) {
          this._keyInput.value = tag.key;
          this._valueInput.value = tag.value;
        }
      });
    });
    this._keyInput = key;
    this._valueInput = value;
    return form;
  }

  private _problemText(problem: TagKeyProblem): string {
    const trans = this._trans;
    switch (problem) {
      case 'empty':
        return trans.__('Enter a tag key.');
      case 'too-long':
        return trans.__('A tag key has at most 250 characters.');
      case 'characters':
        return trans.__(
          'A tag key may hold letters, digits, spaces and _ - . / only.'
        );
      case 'system':
        return trans.__('mlflow.* tags are reserved for MLflow.');
    }
  }

  private async _save(
    key: string,
    value: string,
    error: HTMLElement
  ): Promise<boolean> {
    const run = this._run;
    if (!run) {
      return false;
    }
    try {
      await this._model.setRunTag(run.info.run_id, key, value);
      this._editing = null;
      return true;
    } catch (reason) {
      error.textContent = toAPIError(reason).message;
      return false;
    }
  }

  private async _remove(key: string): Promise<void> {
    const run = this._run;
    if (!run) {
      return;
    }
    try {
      await this._model.deleteRunTag(run.info.run_id, key);
    } catch (reason) {
      this.node.append(
        el('p', 'lt-error', toAPIError(reason).message, { role: 'alert' })
      );
    }
  }

  /** Keep what was typed in the add form across a live re-render. */
  private _keepDraft(): void {
    if (this._keyInput && this._valueInput) {
      this._draft = {
        key: this._keyInput.value,
        value: this._valueInput.value
      };
    }
  }

  private _rerender(): void {
    if (this._run) {
      this.render(this._run);
    }
  }

  private _run: IRun | null = null;
  private _editing: { key: string; value: string } | null = null;
  private _draft = { key: '', value: '' };
  private _keyInput: HTMLInputElement | null = null;
  private _valueInput: HTMLInputElement | null = null;
}
