/**
 * The artifact browser: breadcrumbs, the folder's files (folders first), a
 * "Register model…" action for model folders, and the preview beside them.
 */

import { InputDialog, showErrorMessage } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { fileIcon, folderIcon } from '@jupyterlab/ui-components';
import { IDisposable } from '@lumino/disposable';

import { button, el, runName } from '../dom';
import { IFileInfo } from '../protocol';
import { RunDetailModel } from '../rundetailmodel';
import { ArtifactPreview, basename } from './preview';

function formatSize(bytes: number | undefined): string {
  if (bytes === undefined) {
    return '';
  }
  if (bytes < 1024) {
    return `${bytes} B`;
  }
  if (bytes < 1024 * 1024) {
    return `${(bytes / 1024).toFixed(1)} KB`;
  }
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export class ArtifactBrowser implements IDisposable {
  constructor(
    private _detail: RunDetailModel,
    private _trans: TranslationBundle
  ) {
    this.node = el('section', 'lt-Section lt-Artifacts', undefined, {
      'aria-label': _trans.__('Artifacts')
    });
    this._preview = new ArtifactPreview(_trans);
  }

  readonly node: HTMLElement;

  get isDisposed(): boolean {
    return this._preview.isDisposed;
  }

  dispose(): void {
    this._preview.dispose();
  }

  /** Render the model's folder: breadcrumbs, files, an empty preview. */
  render(): void {
    const trans = this._trans;
    const dir = this._detail.artifactDir;
    const head = el('div', 'lt-SectionHeader');
    head.append(el('h3', 'lt-SectionHeading', trans.__('Artifacts')));
    const crumbs = el('nav', 'lt-Breadcrumbs', undefined, {
      'aria-label': trans.__('Artifact folder')
    });
    const parts = dir ? dir.split('/') : [];
    const rootCrumb = el('button', 'lt-LinkButton', trans.__('artifacts'), {
      type: 'button'
    });
    rootCrumb.addEventListener('click', () => void this._detail.openDir(''));
    crumbs.append(rootCrumb);
    parts.forEach((part, i) => {
      crumbs.append(el('span', 'lt-CrumbSep', '/'));
      const crumb = el('button', 'lt-LinkButton', part, { type: 'button' });
      const target = parts.slice(0, i + 1).join('/');
      crumb.addEventListener('click', () => void this._detail.openDir(target));
      crumbs.append(crumb);
    });
    head.append(crumbs);
    this._list = el('ul', 'lt-ArtifactList', undefined, {
      'aria-label': trans.__('Artifact files')
    });
    void this._preview.render(this._detail.preview);
    const body = el('div', 'lt-ArtifactBody');
    body.append(this._list, this._preview.node);
    this.node.replaceChildren(head, body);
    this._renderFiles();
  }

  /** Render the model's preview. */
  renderPreview(): void {
    void this._preview.render(this._detail.preview);
  }

  private _renderFiles(): void {
    const trans = this._trans;
    const detail = this._detail;
    const state = detail.filesState;
    if (state.error) {
      this._list.replaceChildren(
        el(
          'li',
          'lt-error',
          trans.__('Could not list artifacts: %1', String(state.error))
        )
      );
      return;
    }
    if (state.loading) {
      this._list.replaceChildren();
      return;
    }
    const files = detail.files;
    if (files.length === 0) {
      this._list.replaceChildren(
        el('li', 'lt-Empty', trans.__('No artifacts.'))
      );
      return;
    }
    this._list.replaceChildren(...files.map(file => this._fileItem(file)));
    // A model folder (it holds an MLmodel file) can be registered.
    if (detail.isModelFolder) {
      const register = button(
        trans.__('Register model…'),
        () => void this._register(detail.artifactDir),
        'jp-mod-accept lt-RegisterModel'
      );
      const li = el('li', 'lt-ArtifactEntry lt-RegisterEntry');
      li.append(register);
      this._list.prepend(li);
    }
  }

  private _fileItem(file: IFileInfo): HTMLElement {
    const li = el('li', 'lt-ArtifactEntry');
    const open = el(
      'button',
      `lt-ArtifactItem ${file.is_dir ? 'lt-mod-dir' : 'lt-mod-file'}`,
      undefined,
      { type: 'button', 'data-path': file.path, title: file.path }
    );
    open.append(
      (file.is_dir ? folderIcon : fileIcon).element({
        className: 'lt-ArtifactIcon',
        tag: 'span',
        height: '16px',
        width: '16px'
      }),
      el('span', 'lt-ArtifactName', basename(file.path)),
      el(
        'span',
        'lt-ArtifactSize',
        file.is_dir ? '' : formatSize(file.file_size)
      )
    );
    open.addEventListener('click', () => {
      if (file.is_dir) {
        void this._detail.openDir(file.path);
        return;
      }
      for (const other of Array.from(
        this._list.querySelectorAll('.lt-mod-active')
      )) {
        other.classList.remove('lt-mod-active');
      }
      open.classList.add('lt-mod-active');
      void this._detail.showPreview(file);
    });
    li.append(open);
    return li;
  }

  private async _register(path: string): Promise<void> {
    const trans = this._trans;
    const run = this._detail.run;
    if (!run) {
      return;
    }
    const result = await InputDialog.getText({
      title: trans.__('Register model'),
      label: trans.__(
        'Register "%1" of run %2 as:',
        path || 'artifacts',
        runName(run)
      ),
      placeholder: trans.__('model name'),
      text: basename(path) || runName(run)
    });
    const name = result.value?.trim();
    if (!result.button.accept || !name) {
      return;
    }
    try {
      const version = await this._detail.register(name, path);
      this._preview.showMessage(
        trans.__('Registered %1 version %2.', version.name, version.version)
      );
    } catch (reason) {
      await showErrorMessage(
        trans.__('Could not register the model'),
        String(reason)
      );
    }
  }

  private _list: HTMLElement = el('ul');
  private _preview: ArtifactPreview;
}
