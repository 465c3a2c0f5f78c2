/**
 * The model registry view: registered models, a model's versions with
 * aliases and stages, lineage to the run, description editing and a
 * copyable serve command.
 */

import { Clipboard, InputDialog, showErrorMessage } from '@jupyterlab/apputils';
import { IRenderMimeRegistry, MimeModel } from '@jupyterlab/rendermime';
import { TranslationBundle } from '@jupyterlab/translation';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { button, el, formatTime } from './dom';
import { OpenPermissions } from './permissions/protocol';
import { IModelDetail, RegistryChange, RegistryModel } from './registrymodel';
import { ILabtrackModel } from './tokens';

export interface IRegistryOptions {
  /** The registry's state (the only server client of this view). */
  registry: RegistryModel;
  trans: TranslationBundle;
  rendermime?: IRenderMimeRegistry | null;
  /** The permissions dialog (team mode: shown when the model knows `me`). */
  openPermissions?: OpenPermissions | null;
}

/** The serve command of a model reference (alias, else version). */
export function serveCommand(name: string, ref: string): string {
  const uri = ref.startsWith('@')
    ? `models:/${name}${ref}`
    : `models:/${name}/${ref}`;
  // Quote names with spaces or shell characters.
  const arg = /^[\w./:@-]+$/.test(uri)
    ? uri
    : `'${uri.replace(/'/g, "'\\''")}'`;
  return `labtrack models serve -m ${arg} --port 5001`;
}

export class RegistryView extends Widget {
  constructor(model: ILabtrackModel, options: IRegistryOptions) {
    super();
    this._model = model;
    this._registry = options.registry;
    this._rendermime = options.rendermime ?? null;
    this._openPermissions = options.openPermissions ?? null;
    const trans = (this._trans = options.trans);
    this.addClass('lt-RegistryView');
    const listPane = el('section', 'lt-ModelsPane', undefined, {
      'aria-label': trans.__('Registered models')
    });
    const listHead = el('div', 'lt-SectionHeader');
    listHead.append(
      el('h2', 'lt-PaneHeading', trans.__('Registered models')),
      button(trans.__('Refresh'), () => void this.refresh(), 'lt-RefreshModels')
    );
    this._list = el('ul', 'lt-ModelList');
    listPane.append(listHead, this._list);
    this._detail = el('section', 'lt-ModelDetail', undefined, {
      'aria-label': trans.__('Model versions')
    });
    this.node.append(listPane, this._detail);
    this._registry.changed.connect(this._onRegistryChanged, this);
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._registry.changed.disconnect(this._onRegistryChanged, this);
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this.refresh();
  }

  /** Read the registered models (and the selected one) again. */
  async refresh(): Promise<void> {
    await this._registry.refresh();
  }

  private _onRegistryChanged(_: RegistryModel, change: RegistryChange): void {
    switch (change) {
      case 'models':
        this._renderList();
        break;
      case 'selection':
        this._renderList();
        break;
      case 'detail':
        this._renderDetail();
        break;
      case 'description':
        if (this._description && this._registry.detail) {
          this._renderDescription(
            this._description,
            this._registry.detail,
            false
          );
        }
        break;
    }
  }

  private _renderList(): void {
    const registry = this._registry;
    const error = registry.modelsState.error;
    if (error) {
      this._list.replaceChildren(
        el(
          'li',
          'lt-error',
          this._trans.__('Could not load models: %1', String(error)),
          { role: 'alert' }
        )
      );
      return;
    }
    const selected = registry.selectedName;
    this._list.replaceChildren(
      ...registry.models.map(m => {
        const li = el('li');
        const b = el('button', 'lt-ModelItem', undefined, {
          type: 'button',
          'data-model-name': m.name,
          'aria-pressed': m.name === selected ? 'true' : 'false'
        });
        b.classList.toggle('lt-mod-selected', m.name === selected);
        const latest = (m.latest_versions ?? [])
          .map(v => Number(v.version))
          .reduce((a, b) => Math.max(a, b), 0);
        b.append(
          el('span', 'lt-ModelName', m.name),
          el('span', 'lt-ModelMeta', latest ? `v${latest}` : '')
        );
        b.addEventListener('click', () => void registry.select(m.name));
        li.append(b);
        return li;
      })
    );
  }

  private _renderDetail(): void {
    const trans = this._trans;
    const registry = this._registry;
    const state = registry.detailState;
    const detail = registry.detail;
    const name = registry.selectedName;
    if (name === null) {
      this._description = null;
      this._detail.replaceChildren(
        el(
          'p',
          'lt-Empty',
          trans.__(
            'No registered models yet. Register one from a run’s artifact folder that holds an MLmodel file, or with lt.register_model(...).'
          )
        )
      );
      return;
    }
    if (state.error) {
      this._description = null;
      this._detail.replaceChildren(
        el(
          'div',
          'lt-error',
          trans.__('Could not load %1: %2', name, String(state.error)),
          { role: 'alert' }
        )
      );
      return;
    }
    if (!detail) {
      return;
    }
    const { versions, aliases } = detail;
    const title = el('div', 'lt-SectionHeader lt-ModelTitleRow');
    title.append(el('h2', 'lt-PaneHeading lt-ModelTitle', name));
    const openPermissions = this._openPermissions;
    if (openPermissions && this._model.me !== null) {
      title.append(
        button(
          trans.__('Permissions…'),
          () => openPermissions({ type: 'registered_model', id: name, name }),
          'lt-PermissionsButton',
          {
            'aria-haspopup': 'dialog',
            title: trans.__('Who may read, use, edit and manage %1', name)
          }
        )
      );
    }
    const description = el('div', 'lt-ModelDescription');
    this._description = description;
    this._renderDescription(description, detail, false);

    const serve = el('div', 'lt-Serve');
    serve.append(el('h3', 'lt-SectionHeading', trans.__('Serve')));
    const refs =
      aliases.size > 0
        ? [...aliases.keys()].sort().map(a => `@${a}`)
        : versions.slice(0, 1).map(v => v.version);
    for (const ref of refs) {
      const command = serveCommand(name, ref);
      const row = el('div', 'lt-ServeRow');
      const code = el('code', 'lt-ServeCommand', command);
      row.append(
        code,
        button(
          trans.__('Copy'),
          () => {
            Clipboard.copyToSystem(command);
          },
          'lt-CopyServe',
          { 'aria-label': trans.__('Copy: %1', command) }
        )
      );
      serve.append(row);
    }

    const table = el('table', 'lt-VersionsTable', undefined, {
      'aria-label': trans.__('Versions of %1', name)
    });
    const head = el('tr');
    for (const h of [
      trans.__('Version'),
      trans.__('Aliases'),
      trans.__('Stage'),
      trans.__('Created'),
      trans.__('Run'),
      trans.__('Source')
    ]) {
      head.append(el('th', '', h, { scope: 'col' }));
    }
    const thead = el('thead');
    thead.append(head);
    const tbody = el('tbody');
    for (const v of versions) {
      const tr = el('tr', 'lt-VersionRow', undefined, {
        'data-version': v.version
      });
      const aliasCell = el('td', 'lt-AliasCell');
      for (const [alias] of [...aliases].filter(
        ([, ver]) => ver === v.version
      )) {
        const badge = el('span', 'lt-AliasBadge', undefined, {
          'data-alias': alias
        });
        badge.append(
          el('span', 'lt-AliasName', `@${alias}`),
          el('button', 'lt-RemoveAlias', '×', {
            type: 'button',
            title: trans.__('Remove alias @%1', alias),
            'aria-label': trans.__('Remove alias @%1', alias)
          })
        );
        badge.lastElementChild?.addEventListener(
          'click',
          () => void this._change(registry.removeAlias(name, alias), 'remove')
        );
        aliasCell.append(badge);
      }
      aliasCell.append(
        button('+', () => void this._addAlias(name, v.version), 'lt-AddAlias', {
          title: trans.__('Add an alias to version %1', v.version),
          'aria-label': trans.__('Add an alias to version %1', v.version)
        })
      );
      const stage = v.current_stage || 'None';
      const stageSelect = el(
        'select',
        `jp-mod-styled lt-StageSelect lt-stage-${stage.toLowerCase()}`,
        undefined,
        { 'aria-label': trans.__('Stage of version %1', v.version) }
      );
      for (const option of registry.stages) {
        stageSelect.append(el('option', '', option, { value: option }));
      }
      stageSelect.value = stage;
      stageSelect.addEventListener(
        'change',
        () =>
          void this._change(
            registry.setStage(name, v.version, stageSelect.value),
            'stage'
          )
      );
      const stageCell = el('td');
      stageCell.append(stageSelect);
      const runCell = el('td');
      if (v.run_id) {
        const link = el(
          'button',
          'lt-LinkButton lt-LineageLink',
          v.run_id.slice(0, 8),
          {
            type: 'button',
            title: trans.__('Open run %1', v.run_id),
            'data-run-id': v.run_id
          }
        );
        const runId = v.run_id;
        link.addEventListener('click', () => this._model.openRun(runId));
        runCell.append(link);
      }
      tr.append(
        el('th', '', `v${v.version}`, { scope: 'row' }),
        aliasCell,
        stageCell,
        el('td', '', formatTime(v.creation_timestamp)),
        runCell,
        el('td', 'lt-Source', v.source ?? '', { title: v.source })
      );
      tbody.append(tr);
    }
    table.append(thead, tbody);
    const versionsHead = el(
      'h3',
      'lt-SectionHeading',
      trans.__('Versions (%1)', versions.length)
    );
    // The table scrolls sideways in a narrow panel instead of clipping columns.
    const tableBox = el('div', 'lt-TableScroll');
    tableBox.append(table);
    this._detail.replaceChildren(
      title,
      description,
      serve,
      versionsHead,
      tableBox
    );
  }

  private async _addAlias(name: string, version: string): Promise<void> {
    const trans = this._trans;
    const result = await InputDialog.getText({
      title: trans.__('Add alias'),
      label: trans.__(
        'Alias for %1 version %2 (moves it if another version has it):',
        name,
        version
      ),
      placeholder: trans.__('e.g. champion')
    });
    const alias = result.value?.trim().replace(/^@/, '');
    if (!result.button.accept || !alias) {
      return;
    }
    await this._change(this._registry.setAlias(name, alias, version), 'set');
  }

  /** Wait for a registry change; say what failed (the model re-reads). */
  private async _change(
    change: Promise<void>,
    kind: 'set' | 'remove' | 'stage'
  ): Promise<void> {
    try {
      await change;
    } catch (reason) {
      const trans = this._trans;
      const title =
        kind === 'set'
          ? trans.__('Could not set the alias')
          : kind === 'remove'
            ? trans.__('Could not remove the alias')
            : trans.__('Could not change the stage');
      void showErrorMessage(title, String(reason));
    }
  }

  private _renderDescription(
    box: HTMLElement,
    detail: IModelDetail,
    editing: boolean
  ): void {
    const trans = this._trans;
    const registered = detail.registered;
    const text = registered.description ?? '';
    const head = el('div', 'lt-SectionHeader');
    head.append(el('h3', 'lt-SectionHeading', trans.__('Description')));
    if (editing) {
      const area = el(
        'textarea',
        'jp-mod-styled lt-NoteEditor lt-DescriptionEditor',
        undefined,
        {
          'aria-label': trans.__('Model description (markdown)'),
          rows: '5'
        }
      );
      area.value = text;
      const actions = el('div', 'lt-Actions');
      actions.append(
        button(
          trans.__('Save'),
          () => {
            this._registry
              .setDescription(registered.name, area.value)
              .catch(reason =>
                showErrorMessage(
                  trans.__('Could not save the description'),
                  String(reason)
                )
              );
          },
          'jp-mod-accept lt-SaveDescription'
        ),
        button(trans.__('Cancel'), () =>
          this._renderDescription(box, detail, false)
        )
      );
      box.replaceChildren(head, area, actions);
      area.focus();
      return;
    }
    head.append(
      button(
        trans.__('Edit'),
        () => this._renderDescription(box, detail, true),
        'lt-EditDescription',
        { 'aria-label': trans.__('Edit description') }
      )
    );
    const body = el('div', 'lt-NoteBody');
    if (!text) {
      body.append(el('p', 'lt-Empty', trans.__('No description.')));
    } else if (this._rendermime) {
      const renderer = this._rendermime.createRenderer('text/markdown');
      void renderer.renderModel(
        new MimeModel({ data: { 'text/markdown': text }, trusted: false })
      );
      body.append(renderer.node);
    } else {
      body.append(el('pre', 'lt-Text', text));
    }
    box.replaceChildren(head, body);
  }

  private _model: ILabtrackModel;
  private _registry: RegistryModel;
  private _trans: TranslationBundle;
  private _rendermime: IRenderMimeRegistry | null;
  private _openPermissions: OpenPermissions | null;
  private _description: HTMLElement | null = null;
  private _list: HTMLElement;
  private _detail: HTMLElement;
}
