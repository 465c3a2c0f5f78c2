/**
 * The "Run project" dialog: entry point, typed parameter fields (defaults
 * filled in, required ones marked, each checked as typed), experiment, env
 * manager and run name. Invalid fields carry a custom validity, which
 * JupyterLab's dialog reads: its Run button stays disabled until every field
 * is valid. `runProjectFlow` describes the project, shows the dialog, starts
 * the run and reopens the dialog with the same inputs if the server refuses.
 */

import { Dialog, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { el } from '../dom';
import { IExperiment } from '../protocol';
import {
  IEntryPoint,
  IProjectDescription,
  IProjectParameter,
  IProjectsAPI,
  IRunProjectRequest,
  IRunProjectResponse
} from './api';
import {
  ENV_MANAGERS,
  IProjectInputs,
  defaultEnvManager,
  parameterProblem
} from './params';

export interface IRunProjectFormOptions {
  project: IProjectDescription;
  experiments: readonly IExperiment[];
  /** Pre-filled inputs ("Run again", or a refused submit). */
  initial?: Partial<IProjectInputs> & { runName?: string };
  /** The experiment chosen when `initial` names none. */
  defaultExperimentId?: string | null;
  trans: TranslationBundle;
}

let formCount = 0;

/** The dialog's body; `getValue()` is the request to send. */
export class RunProjectForm extends Widget {
  constructor(options: IRunProjectFormOptions) {
    super();
    this.addClass('lt-RunProjectForm');
    this._project = options.project;
    this._trans = options.trans;
    this._prefix = `lt-run-project-${++formCount}`;
    const trans = this._trans;
    const initial = options.initial ?? {};
    this._values = { ...(initial.parameters ?? {}) };

    const entries = this._project.entry_points;
    this._entrySelect = el('select', 'jp-mod-styled lt-RunProjectEntry', '', {
      id: `${this._prefix}-entry`
    });
    for (const entry of entries) {
      this._entrySelect.append(
        el('option', '', entry.name, { value: entry.name })
      );
    }
    const wanted = initial.entryPoint;
    if (wanted && !entries.some(e => e.name === wanted)) {
      // A script entry point (`train.py`) or one removed since: offer it as is.
      this._entrySelect.append(el('option', '', wanted, { value: wanted }));
    }
    this._entrySelect.value =
      wanted ??
      (entries.some(e => e.name === 'main')
        ? 'main'
        : (entries[0]?.name ?? 'main'));
    this._entrySelect.addEventListener('change', () => {
      this._collect();
      this._renderParams();
      this._notifyDialog();
    });

    this._experimentSelect = el('select', 'jp-mod-styled', '', {
      id: `${this._prefix}-experiment`
    });
    const experimentId =
      initial.experimentId ?? options.defaultExperimentId ?? '0';
    const experiments = [...options.experiments];
    if (!experiments.some(e => e.experiment_id === experimentId)) {
      experiments.push({
        experiment_id: experimentId,
        name: experimentId
      } as IExperiment);
    }
    for (const exp of experiments) {
      this._experimentSelect.append(
        el('option', '', `${exp.name} (#${exp.experiment_id})`, {
          value: exp.experiment_id
        })
      );
    }
    this._experimentSelect.value = experimentId;

    this._envSelect = el('select', 'jp-mod-styled', '', {
      id: `${this._prefix}-env`
    });
    for (const manager of ENV_MANAGERS) {
      this._envSelect.append(el('option', '', manager, { value: manager }));
    }
    const env = initial.envManager;
    this._envSelect.value =
      env && (ENV_MANAGERS as readonly string[]).includes(env)
        ? env
        : defaultEnvManager(this._project.env_type);

    this._runName = el('input', 'jp-mod-styled', undefined, {
      id: `${this._prefix}-run-name`,
      type: 'text',
      placeholder: trans.__('generated')
    });
    this._runName.value = initial.runName ?? '';

    this._params = el('div', 'lt-RunProjectParams', undefined, {
      role: 'group',
      'aria-label': trans.__('Parameters')
    });
    this.node.append(
      el(
        'p',
        'lt-RunProjectPath',
        trans.__('Project folder: %1', this._project.path)
      ),
      this._field(trans.__('Entry point'), this._entrySelect),
      this._params,
      this._field(trans.__('Experiment'), this._experimentSelect),
      this._field(trans.__('Environment'), this._envSelect),
      this._field(trans.__('Run name'), this._runName)
    );
    this._renderParams();
  }

  /** The entry point shown. */
  get entryPoint(): IEntryPoint | undefined {
    return this._project.entry_points.find(
      e => e.name === this._entrySelect.value
    );
  }

  /** Whether every field holds a valid value. */
  isValid(): boolean {
    return this._inputs.every(i => i.validity.valid);
  }

  getValue(): IRunProjectRequest {
    this._collect();
    const parameters: Record<string, string> = {};
    const entry = this.entryPoint;
    const declared = new Set(entry?.parameters.map(p => p.name));
    for (const [name, value] of Object.entries(this._values)) {
      // Empty means "the default"; extra (undeclared) inputs of a re-run stay.
      if (
        value !== '' &&
        (declared.has(name) || !entry || this._extras.has(name))
      ) {
        parameters[name] = value;
      }
    }
    const request: IRunProjectRequest = {
      path: this._project.path,
      entry_point: this._entrySelect.value,
      parameters,
      env_manager: this._envSelect.value,
      experiment_id: this._experimentSelect.value
    };
    if (this._runName.value.trim()) {
      request.run_name = this._runName.value.trim();
    }
    return request;
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    // Before the dialog's own (document, capture) listener reads validity.
    window.addEventListener('input', this, true);
    // The dialog starts listening after its children attach: check once then.
    requestAnimationFrame(() => this._notifyDialog());
  }

  protected onBeforeDetach(msg: Message): void {
    window.removeEventListener('input', this, true);
    super.onBeforeDetach(msg);
  }

  handleEvent(event: Event): void {
    const target = event.target as HTMLElement | null;
    if (event.type === 'input' && target && this.node.contains(target)) {
      const input = this._inputs.find(i => i === target);
      if (input) {
        this._check(input);
      }
    }
  }

  private _field(
    label: string,
    control: HTMLElement,
    hint?: HTMLElement
  ): HTMLElement {
    const row = el('div', 'lt-RunProjectField');
    row.append(el('label', '', label, { for: control.id }), control);
    if (hint) {
      row.append(hint);
    }
    return row;
  }

  private _collect(): void {
    for (const input of this._inputs) {
      this._values[input.name] = input.value;
    }
  }

  private _renderParams(): void {
    const trans = this._trans;
    const entry = this.entryPoint;
    this._inputs = [];
    this._params.replaceChildren();
    const params: IProjectParameter[] = [...(entry?.parameters ?? [])];
    // Inputs a past run had beyond the declared ones (passed as --key value).
    this._extras = new Set(
      Object.keys(this._values).filter(k => !params.some(p => p.name === k))
    );
    for (const name of this._extras) {
      params.push({ name, type: 'string', required: false });
    }
    if (params.length === 0) {
      this._params.append(
        el('p', 'lt-Empty', trans.__('This entry point takes no parameters.'))
      );
      return;
    }
    for (const param of params) {
      const id = `${this._prefix}-param-${param.name}`;
      const input = el('input', 'jp-mod-styled lt-RunProjectParam', undefined, {
        id,
        name: param.name,
        type: 'text',
        'data-type': param.type,
        placeholder: param.default ?? '',
        'aria-describedby': `${id}-hint`
      });
      input.required = param.required;
      input.value = this._values[param.name] ?? param.default ?? '';
      const label = el('label', '', undefined, { for: id });
      label.append(el('span', 'lt-RunProjectParamName', param.name));
      label.append(el('span', 'lt-RunProjectParamType', param.type));
      if (param.required) {
        label.append(
          el('span', 'lt-RunProjectRequired', '*', {
            title: trans.__('required')
          })
        );
      }
      const hint = el('span', 'lt-RunProjectHint', '', {
        id: `${id}-hint`,
        'aria-live': 'polite'
      });
      const row = el('div', 'lt-RunProjectField');
      row.append(label, input, hint);
      this._params.append(row);
      this._inputs.push(input);
      this._paramsByInput.set(input, param);
      this._check(input);
    }
  }

  private _check(input: HTMLInputElement): void {
    const param = this._paramsByInput.get(input);
    if (!param) {
      return;
    }
    const trans = this._trans;
    const problem = parameterProblem(param, input.value);
    const messages: Record<string, string> = {
      required: trans.__('%1 is required', param.name),
      int: trans.__('%1 must be an integer', param.name),
      float: trans.__('%1 must be a number', param.name),
      uri: trans.__('%1 must be a URI (like s3://… or file:///…)', param.name),
      path: trans.__('%1 must be a local path, not a URI', param.name)
    };
    const message = problem ? messages[problem] : '';
    input.setCustomValidity(message);
    input.setAttribute('aria-invalid', problem ? 'true' : 'false');
    const hint = input.nextElementSibling;
    if (hint) {
      hint.textContent = message;
    }
  }

  /** Let the dialog re-read validity (it listens for input events). */
  private _notifyDialog(): void {
    this.node.dispatchEvent(new Event('input', { bubbles: true }));
  }

  private _project: IProjectDescription;
  private _trans: TranslationBundle;
  private _prefix: string;
  private _values: Record<string, string>;
  private _extras = new Set<string>();
  private _inputs: HTMLInputElement[] = [];
  private _paramsByInput = new WeakMap<HTMLInputElement, IProjectParameter>();
  private _entrySelect: HTMLSelectElement;
  private _experimentSelect: HTMLSelectElement;
  private _envSelect: HTMLSelectElement;
  private _runName: HTMLInputElement;
  private _params: HTMLElement;
}

export interface IRunProjectFlowOptions {
  /** The MLproject file or folder (Jupyter-root relative or absolute). */
  path: string;
  initial?: Partial<IProjectInputs>;
  experiments: readonly IExperiment[];
  defaultExperimentId?: string | null;
  api: IProjectsAPI;
  trans: TranslationBundle;
  /** Called with the started run (open it in the dashboard). */
  started: (response: IRunProjectResponse) => void;
}

/** Describe, ask, start; reopen with the same inputs if the server refuses. */
export async function runProjectFlow(
  options: IRunProjectFlowOptions
): Promise<IRunProjectResponse | null> {
  const { trans, api } = options;
  let project: IProjectDescription;
  try {
    project = await api.describe(options.path);
  } catch (reason) {
    await showErrorMessage(
      trans.__('Cannot run this project'),
      reason as Error
    );
    return null;
  }
  let initial: IRunProjectFormOptions['initial'] = options.initial;
  for (;;) {
    const form = new RunProjectForm({
      project,
      experiments: options.experiments,
      initial,
      defaultExperimentId: options.defaultExperimentId,
      trans
    });
    const result = await showDialog({
      title: trans.__('Run Project “%1”', project.name),
      body: form,
      buttons: [
        Dialog.cancelButton({ label: trans.__('Cancel') }),
        Dialog.okButton({ label: trans.__('Run') })
      ],
      focusNodeSelector: '.lt-RunProjectParam, select'
    });
    const request = result.button.accept ? result.value : null;
    if (!request) {
      return null;
    }
    try {
      const response = await api.run(request);
      options.started(response);
      return response;
    } catch (reason) {
      await showErrorMessage(
        trans.__('Could not start the project'),
        reason as Error
      );
      initial = {
        entryPoint: request.entry_point,
        parameters: request.parameters,
        envManager: request.env_manager,
        experimentId: request.experiment_id,
        runName: request.run_name
      };
    }
  }
}
