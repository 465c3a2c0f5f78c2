/**
 * The run's MLflow 3 logged models: name, flavors, the signature as a
 * schema table, the input example and requirements, and registering a
 * logged model (a model version linked by `model_id`).
 */

import { InputDialog, showErrorMessage } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';

import { button, el, formatTime } from '../dom';
import { ISchemaColumn } from '../mlmodel';
import { ILoggedModel } from '../protocol';
import { IRunLoggedModel, RunDetailModel } from '../rundetailmodel';

export class LoggedModelsSection {
  constructor(
    private _detail: RunDetailModel,
    private _trans: TranslationBundle
  ) {
    this.node = el('section', 'lt-Section lt-LoggedModels', undefined, {
      'aria-labelledby': 'lt-logged-models-heading'
    });
  }

  readonly node: HTMLElement;

  render(): void {
    const trans = this._trans;
    const detail = this._detail;
    const models = detail.loggedModels;
    const state = detail.loggedModelsState;
    this.node.hidden = models.length === 0 && !state.error;
    const head = el(
      'h3',
      'lt-SectionHeading',
      trans.__('Logged models (%1)', models.length),
      { id: 'lt-logged-models-heading' }
    );
    const items: HTMLElement[] = [head];
    if (state.error) {
      items.push(
        el(
          'p',
          'lt-error',
          trans.__('Could not list the logged models: %1', state.error.message),
          { role: 'alert' }
        )
      );
    }
    for (const entry of models) {
      items.push(this._model(entry));
    }
    // Keep a success message across re-renders.
    if (this._message) {
      items.push(this._message);
    }
    this.node.replaceChildren(...items);
  }

  private _model(entry: IRunLoggedModel): HTMLElement {
    const trans = this._trans;
    const { model, summary } = entry;
    const info = model.info;
    const name = info.name || info.model_id;
    const card = el('article', 'lt-LoggedModel', undefined, {
      'data-model-id': info.model_id,
      'aria-label': trans.__('Logged model %1', name)
    });
    const header = el('div', 'lt-LoggedModelHeader');
    header.append(
      el('h4', 'lt-LoggedModelName', name),
      el('span', 'lt-LoggedModelId', info.model_id),
      el('span', 'lt-Spacer'),
      button(
        trans.__('Register…'),
        () => void this._register(model),
        'jp-mod-accept lt-RegisterLoggedModel',
        { 'aria-label': trans.__('Register logged model %1', name) }
      )
    );
    card.append(header);

    const facts = el('dl', 'lt-Overview lt-LoggedModelFacts');
    const fact = (term: string, value: string | HTMLElement) => {
      const dd = el('dd', '', typeof value === 'string' ? value : undefined);
      if (typeof value !== 'string') {
        dd.append(value);
      }
      facts.append(el('dt', '', term), dd);
    };
    if (info.status) {
      fact(trans.__('Status'), info.status);
    }
    if (info.creation_timestamp_ms) {
      fact(trans.__('Created'), formatTime(info.creation_timestamp_ms));
    }
    fact(trans.__('Model URI'), `models:/${info.model_id}`);
    if (summary) {
      const flavors = el('span', 'lt-Flavors');
      for (const flavor of summary.flavors) {
        flavors.append(el('span', 'lt-FlavorBadge', flavor));
      }
      fact(trans.__('Flavors'), flavors);
    }
    card.append(facts);

    if (entry.error) {
      card.append(
        el(
          'p',
          'lt-error',
          trans.__('Could not read the MLmodel file: %1', entry.error.message)
        )
      );
    } else if (!summary) {
      card.append(el('p', 'lt-Loading', trans.__('Loading…')));
    } else {
      card.append(
        this._schema(trans.__('Signature inputs'), summary.inputs, 'inputs'),
        this._schema(trans.__('Signature outputs'), summary.outputs, 'outputs')
      );
      if (entry.inputExample !== null) {
        card.append(
          el('h5', 'lt-SubHeading', trans.__('Input example')),
          el('pre', 'lt-ModelText lt-InputExample', entry.inputExample)
        );
      }
      if (entry.requirements !== null) {
        card.append(
          el('h5', 'lt-SubHeading', trans.__('Requirements')),
          el('pre', 'lt-ModelText lt-Requirements', entry.requirements)
        );
      }
    }
    return card;
  }

  private _schema(
    title: string,
    columns: ISchemaColumn[] | null,
    kind: string
  ): HTMLElement {
    const trans = this._trans;
    const box = el('div', 'lt-Signature', undefined, { 'data-kind': kind });
    box.append(el('h5', 'lt-SubHeading', title));
    if (!columns) {
      box.append(el('p', 'lt-Empty', trans.__('No signature.')));
      return box;
    }
    const table = el('table', 'lt-KVTable lt-SchemaTable', undefined, {
      'aria-label': title
    });
    const head = el('thead');
    const headRow = el('tr');
    for (const label of [
      trans.__('Name'),
      trans.__('Type'),
      trans.__('Required')
    ]) {
      headRow.append(el('th', '', label, { scope: 'col' }));
    }
    head.append(headRow);
    const body = el('tbody');
    for (const column of columns) {
      const tr = el('tr', '', undefined, { 'data-column': column.name });
      tr.append(
        el('th', '', column.name, { scope: 'row' }),
        el('td', 'lt-SchemaType', column.type),
        el(
          'td',
          'lt-SchemaRequired',
          column.required ? trans.__('yes') : trans.__('no')
        )
      );
      body.append(tr);
    }
    table.append(head, body);
    box.append(table);
    return box;
  }

  private async _register(model: ILoggedModel): Promise<void> {
    const trans = this._trans;
    const name = model.info.name || model.info.model_id;
    const result = await InputDialog.getText({
      title: trans.__('Register logged model'),
      label: trans.__('Register logged model "%1" as:', name),
      placeholder: trans.__('model name'),
      text: name
    });
    const target = result.value?.trim();
    if (!result.button.accept || !target) {
      return;
    }
    try {
      const version = await this._detail.registerLoggedModel(target, model);
      this._message = el(
        'p',
        'lt-Success',
        trans.__('Registered %1 version %2.', version.name, version.version),
        { role: 'status' }
      );
      this.render();
    } catch (reason) {
      await showErrorMessage(
        trans.__('Could not register the model'),
        String(reason)
      );
    }
  }

  /** Clear the success message (another run is shown). */
  reset(): void {
    this._message = null;
  }

  private _message: HTMLElement | null = null;
}
