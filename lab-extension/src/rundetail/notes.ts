/**
 * The run's notes: markdown rendered by JupyterLab's (sanitizing) renderer,
 * edited in place and saved through the run detail model.
 */

import { showErrorMessage } from '@jupyterlab/apputils';
import { IRenderMimeRegistry, MimeModel } from '@jupyterlab/rendermime';
import { TranslationBundle } from '@jupyterlab/translation';
import { IDisposable } from '@lumino/disposable';
import { Widget } from '@lumino/widgets';

import { button, el } from '../dom';
import { RunDetailModel } from '../rundetailmodel';

export class NotesSection implements IDisposable {
  constructor(
    private _detail: RunDetailModel,
    private _trans: TranslationBundle,
    private _rendermime: IRenderMimeRegistry | null
  ) {
    this.node = el('section', 'lt-Section lt-Notes', undefined, {
      'aria-label': _trans.__('Notes')
    });
  }

  readonly node: HTMLElement;

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (!this._isDisposed) {
      this._isDisposed = true;
      this._disposeRenderer();
    }
  }

  /** Show the notes, or the editor with `editing`. */
  render(editing = false): void {
    const trans = this._trans;
    const note = this._detail.note;
    const head = el('div', 'lt-SectionHeader');
    head.append(el('h3', 'lt-SectionHeading', trans.__('Notes')));
    this._disposeRenderer();
    if (editing) {
      const area = el('textarea', 'jp-mod-styled lt-NoteEditor', undefined, {
        'aria-label': trans.__('Notes (markdown)'),
        rows: '8'
      });
      area.value = note;
      const save = button(
        trans.__('Save'),
        () => {
          this._detail
            .saveNote(area.value)
            .catch(reason =>
              showErrorMessage(
                trans.__('Could not save the notes'),
                String(reason)
              )
            );
        },
        'jp-mod-accept lt-SaveNote'
      );
      const cancel = button(trans.__('Cancel'), () => this.render());
      const actions = el('div', 'lt-Actions');
      actions.append(save, cancel);
      this.node.replaceChildren(head, area, actions);
      area.focus();
      return;
    }
    head.append(
      button(trans.__('Edit'), () => this.render(true), 'lt-EditNote', {
        'aria-label': trans.__('Edit notes')
      })
    );
    const body = el('div', 'lt-NoteBody');
    if (!note) {
      body.append(el('p', 'lt-Empty', trans.__('No notes yet.')));
    } else if (this._rendermime) {
      // JupyterLab's markdown renderer; untrusted, so the HTML is sanitized.
      const renderer = this._rendermime.createRenderer('text/markdown');
      this._renderer = renderer;
      void renderer.renderModel(
        new MimeModel({ data: { 'text/markdown': note }, trusted: false })
      );
      body.append(renderer.node);
    } else {
      body.append(el('pre', 'lt-Text', note));
    }
    this.node.replaceChildren(head, body);
  }

  private _disposeRenderer(): void {
    this._renderer?.dispose();
    this._renderer = null;
  }

  private _renderer: Widget | null = null;
  private _isDisposed = false;
}
