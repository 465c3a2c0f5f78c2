/**
 * The model registry view: registered models, a model's versions with
 * aliases and stages, lineage to the run, description editing and a
 * copyable serve command.
 */

import { Clipboard, InputDialog, showErrorMessage } from '@jupyterlab/apputils';
import { IRenderMimeRegistry, MimeModel } from '@jupyterlab/rendermime';
import { ServerConnection } from '@jupyterlab/services';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import {
  IModelVersion,
  IRegisteredModel,
  MODEL_STAGES,
  deleteModelAlias,
  getRegisteredModel,
  searchModelVersions,
  searchRegisteredModels,
  setModelAlias,
  transitionModelVersionStage,
  updateRegisteredModel
} from './api';
import { button, el, formatTime } from './dom';
import { ILabtrackModel } from './tokens';

export interface IRegistryOptions {
  rendermime?: IRenderMimeRegistry | null;
  serverSettings?: ServerConnection.ISettings;
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
  constructor(model: ILabtrackModel, options: IRegistryOptions = {}) {
    super();
    this._model = model;
    this._options = options;
    this.addClass('lt-RegistryView');
    const listPane = el('section', 'lt-ModelsPane', undefined, {
      'aria-label': 'Registered models'
    });
    const listHead = el('div', 'lt-SectionHeader');
    listHead.append(
      el('h2', 'lt-PaneHeading', 'Registered models'),
      button('Refresh', () => void this.refresh(), 'lt-RefreshModels')
    );
    this._list = el('ul', 'lt-ModelList');
    listPane.append(listHead, this._list);
    this._detail = el('section', 'lt-ModelDetail', undefined, {
      'aria-label': 'Model versions'
    });
    this.node.append(listPane, this._detail);
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this.refresh();
  }

  async refresh(): Promise<void> {
    try {
      this._models = await searchRegisteredModels(this._options.serverSettings);
    } catch (reason) {
      this._list.replaceChildren(
        el('li', 'lt-error', `Could not load models: ${String(reason)}`, {
          role: 'alert'
        })
      );
      return;
    }
    this._renderList();
    const current =
      this._models.find(m => m.name === this._selected)?.name ??
      this._models[0]?.name ??
      null;
    if (current) {
      await this._select(current);
    } else {
      this._detail.replaceChildren(
        el(
          'p',
          'lt-Empty',
          'No registered models yet. Register one from a run’s artifact folder that holds an MLmodel file, or with lt.register_model(...).'
        )
      );
    }
  }

  private _renderList(): void {
    this._list.replaceChildren(
      ...this._models.map(m => {
        const li = el('li');
        const b = el('button', 'lt-ModelItem', undefined, {
          type: 'button',
          'data-model-name': m.name,
          'aria-pressed': m.name === this._selected ? 'true' : 'false'
        });
        b.classList.toggle('lt-mod-selected', m.name === this._selected);
        const latest = (m.latest_versions ?? [])
          .map(v => Number(v.version))
          .reduce((a, b) => Math.max(a, b), 0);
        b.append(
          el('span', 'lt-ModelName', m.name),
          el('span', 'lt-ModelMeta', latest ? `v${latest}` : '')
        );
        b.addEventListener('click', () => void this._select(m.name));
        li.append(b);
        return li;
      })
    );
  }

  private async _select(name: string): Promise<void> {
    this._selected = name;
    this._renderList();
    try {
      const [registered, versions] = await Promise.all([
        getRegisteredModel(name, this._options.serverSettings),
        searchModelVersions(name, this._options.serverSettings)
      ]);
      if (name === this._selected) {
        this._renderDetail(registered, versions);
      }
    } catch (reason) {
      this._detail.replaceChildren(
        el('div', 'lt-error', `Could not load ${name}: ${String(reason)}`, {
          role: 'alert'
        })
      );
    }
  }

  private _renderDetail(
    registered: IRegisteredModel,
    versions: IModelVersion[]
  ): void {
    const name = registered.name;
    const title = el('h2', 'lt-PaneHeading lt-ModelTitle', name);
    const description = el('div', 'lt-ModelDescription');
    this._renderDescription(description, registered, false);

    // Aliases: from the registered model (alias -> version) and versions.
    const aliases = new Map<string, string>();
    for (const a of registered.aliases ?? []) {
      aliases.set(a.alias, a.version);
    }
    for (const v of versions) {
      for (const a of v.aliases ?? []) {
        aliases.set(a, v.version);
      }
    }
    const serve = el('div', 'lt-Serve');
    serve.append(el('h3', 'lt-SectionHeading', 'Serve'));
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
          'Copy',
          () => {
            Clipboard.copyToSystem(command);
          },
          'lt-CopyServe',
          { 'aria-label': `Copy: ${command}` }
        )
      );
      serve.append(row);
    }

    const table = el('table', 'lt-VersionsTable', undefined, {
      'aria-label': `Versions of ${name}`
    });
    const head = el('tr');
    for (const h of [
      'Version',
      'Aliases',
      'Stage',
      'Created',
      'Run',
      'Source'
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
            title: `Remove alias @${alias}`,
            'aria-label': `Remove alias @${alias}`
          })
        );
        badge.lastElementChild?.addEventListener(
          'click',
          () => void this._removeAlias(name, alias)
        );
        aliasCell.append(badge);
      }
      aliasCell.append(
        button('+', () => void this._addAlias(name, v.version), 'lt-AddAlias', {
          title: `Add an alias to version ${v.version}`,
          'aria-label': `Add an alias to version ${v.version}`
        })
      );
      const stage = v.current_stage || 'None';
      const stageSelect = el(
        'select',
        `jp-mod-styled lt-StageSelect lt-stage-${stage.toLowerCase()}`,
        undefined,
        { 'aria-label': `Stage of version ${v.version}` }
      );
      for (const option of MODEL_STAGES) {
        stageSelect.append(el('option', '', option, { value: option }));
      }
      stageSelect.value = stage;
      stageSelect.addEventListener(
        'change',
        () => void this._setStage(name, v.version, stageSelect.value)
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
            title: `Open run ${v.run_id}`,
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
      `Versions (${versions.length})`
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
    const result = await InputDialog.getText({
      title: 'Add alias',
      label: `Alias for ${name} version ${version} (moves it if another version has it):`,
      placeholder: 'e.g. champion'
    });
    const alias = result.value?.trim().replace(/^@/, '');
    if (!result.button.accept || !alias) {
      return;
    }
    await this._change(
      name,
      () => setModelAlias(name, alias, version, this._options.serverSettings),
      'Could not set the alias'
    );
  }

  private async _removeAlias(name: string, alias: string): Promise<void> {
    await this._change(
      name,
      () => deleteModelAlias(name, alias, this._options.serverSettings),
      'Could not remove the alias'
    );
  }

  private async _setStage(
    name: string,
    version: string,
    stage: string
  ): Promise<void> {
    await this._change(
      name,
      () =>
        transitionModelVersionStage(
          name,
          version,
          stage,
          this._options.serverSettings
        ),
      'Could not change the stage'
    );
  }

  /** Run one registry change, then show the model as the server now has it. */
  private async _change(
    name: string,
    action: () => Promise<void>,
    failure: string
  ): Promise<void> {
    try {
      await action();
    } catch (reason) {
      void showErrorMessage(failure, String(reason));
    }
    if (name === this._selected) {
      await this._select(name);
    }
  }

  private _renderDescription(
    box: HTMLElement,
    registered: IRegisteredModel,
    editing: boolean
  ): void {
    const text = registered.description ?? '';
    const head = el('div', 'lt-SectionHeader');
    head.append(el('h3', 'lt-SectionHeading', 'Description'));
    if (editing) {
      const area = el(
        'textarea',
        'jp-mod-styled lt-NoteEditor lt-DescriptionEditor',
        undefined,
        {
          'aria-label': 'Model description (markdown)',
          rows: '5'
        }
      );
      area.value = text;
      const actions = el('div', 'lt-Actions');
      actions.append(
        button(
          'Save',
          () => {
            void updateRegisteredModel(
              registered.name,
              area.value,
              this._options.serverSettings
            )
              .then(() => {
                registered.description = area.value;
                this._renderDescription(box, registered, false);
              })
              .catch(reason =>
                showErrorMessage(
                  'Could not save the description',
                  String(reason)
                )
              );
          },
          'jp-mod-accept lt-SaveDescription'
        ),
        button('Cancel', () => this._renderDescription(box, registered, false))
      );
      box.replaceChildren(head, area, actions);
      area.focus();
      return;
    }
    head.append(
      button(
        'Edit',
        () => this._renderDescription(box, registered, true),
        'lt-EditDescription',
        {
          'aria-label': 'Edit description'
        }
      )
    );
    const body = el('div', 'lt-NoteBody');
    if (!text) {
      body.append(el('p', 'lt-Empty', 'No description.'));
    } else if (this._options.rendermime) {
      const renderer = this._options.rendermime.createRenderer('text/markdown');
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
  private _options: IRegistryOptions;
  private _models: IRegisteredModel[] = [];
  private _selected: string | null = null;
  private _list: HTMLElement;
  private _detail: HTMLElement;
}
