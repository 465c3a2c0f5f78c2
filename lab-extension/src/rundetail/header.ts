/**
 * The run detail's header (name, status, compare toggle, back) and its
 * overview list (ids, times, user, source, commit).
 */

import { PageConfig } from '@jupyterlab/coreutils';
import { TranslationBundle } from '@jupyterlab/translation';

import { IRun } from '../protocol';
import {
  button,
  el,
  formatTime,
  runDuration,
  runName,
  statusBadge,
  tagValue
} from '../dom';
import { ILabtrackModel } from '../tokens';
import { RunActionsBar } from './runactions';

/**
 * The server-root relative path of a run's source, when it is a file under
 * the Jupyter server root (so it can be opened in JupyterLab).
 */
export function openablePath(source: string | undefined): string | null {
  if (!source) {
    return null;
  }
  const root = (PageConfig.getOption('serverRoot') || '').replace(/\/+$/, '');
  if (!source.startsWith('/')) {
    // Already relative (e.g. logged from a notebook in the server root).
    return /^[^:]+\.(ipynb|py)$/.test(source) ? source : null;
  }
  if (root && source.startsWith(root + '/')) {
    return source.slice(root.length + 1);
  }
  return null;
}

/** An experiment's name with its id ("my-exp (#3)"), or the id alone. */
export function experimentLabel(
  model: ILabtrackModel | undefined,
  experimentId: string
): string {
  const name = model?.experiments.find(
    e => e.experiment_id === experimentId
  )?.name;
  return name ? `${name} (#${experimentId})` : experimentId;
}

/**
 * The header row: run name (renamed in place), status badge, rename,
 * delete/restore, compare toggle, back button.
 */
export class RunHeader {
  constructor(
    private _model: ILabtrackModel,
    private _trans: TranslationBundle
  ) {
    this.node = el('div', 'lt-DetailHeader');
    this._title = el('h2', 'lt-PaneHeading lt-RunTitle');
    this._statusSlot = el('span', 'lt-StatusSlot');
    this._actions = new RunActionsBar(_model, _trans, this._title);
    this._compareToggle = button('', () => {
      if (this._run) {
        this._model.setRunSelected(
          this._run,
          !this._model.isRunSelected(this._run.info.run_id)
        );
      }
    });
    this.node.append(
      this._title,
      this._statusSlot,
      el('span', 'lt-Spacer'),
      this._actions.node,
      this._compareToggle,
      button(_trans.__('Back to runs'), () => this._model.setView('runs'))
    );
  }

  readonly node: HTMLElement;

  /** Show a run (name and status; the toggle follows the selection). */
  render(run: IRun): void {
    this._run = run;
    if (!this._actions.editing) {
      this._title.textContent = runName(run);
    }
    this._statusSlot.replaceChildren(statusBadge(run.info.status));
    if (run.info.lifecycle_stage === 'deleted') {
      this._statusSlot.append(
        el('span', 'lt-DeletedBadge', this._trans.__('deleted'))
      );
    }
    this._actions.render(run);
    this.renderCompareToggle();
  }

  /** The toggle says whether the run is picked for comparison. */
  renderCompareToggle(): void {
    const selected = this._model.isRunSelected(this._run?.info.run_id ?? '');
    this._compareToggle.textContent = selected
      ? this._trans.__('Remove from comparison')
      : this._trans.__('Add to comparison');
  }

  private _run: IRun | null = null;
  private _actions: RunActionsBar;
  private _title: HTMLElement;
  private _statusSlot: HTMLElement;
  private _compareToggle: HTMLButtonElement;
}

/** The overview list of a run's attributes. */
export class RunOverview {
  constructor(
    private _trans: TranslationBundle,
    private _openPath?: (path: string) => void,
    private _model?: ILabtrackModel
  ) {
    this.node = el('dl', 'lt-Overview');
  }

  readonly node: HTMLElement;

  render(run: IRun): void {
    const trans = this._trans;
    const info = run.info;
    const rows: [string, Node | string][] = [
      [trans.__('Run ID'), info.run_id],
      [
        trans.__('Experiment'),
        experimentLabel(this._model, info.experiment_id)
      ],
      [trans.__('Status'), info.status],
      [trans.__('Started'), formatTime(info.start_time)],
      [trans.__('Duration'), runDuration(run)],
      [trans.__('User'), info.user_id ?? tagValue(run, 'mlflow.user') ?? '']
    ];
    const source = tagValue(run, 'mlflow.source.name');
    if (source) {
      const path = openablePath(source);
      const openPath = this._openPath;
      if (path && openPath) {
        const link = el('button', 'lt-LinkButton lt-SourceLink', source, {
          type: 'button',
          title: trans.__('Open %1 in JupyterLab', path),
          'data-path': path
        });
        link.addEventListener('click', () => openPath(path));
        rows.push([trans.__('Source'), link]);
      } else {
        rows.push([trans.__('Source'), source]);
      }
    }
    const commit = tagValue(run, 'mlflow.source.git.commit');
    if (commit) {
      rows.push([trans.__('Git commit'), commit]);
    }
    this.node.replaceChildren();
    for (const [term, value] of rows) {
      const dd = el('dd', '', typeof value === 'string' ? value : undefined);
      if (typeof value !== 'string') {
        dd.append(value);
      }
      this.node.append(el('dt', '', term), dd);
    }
  }
}

/** Links to a run's parent run and child runs (nested runs). */
export class RunRelatives {
  constructor(
    private _model: ILabtrackModel,
    private _trans: TranslationBundle
  ) {
    this.node = el('nav', 'lt-RunRelatives', undefined, {
      'aria-label': _trans.__('Parent and child runs')
    });
  }

  readonly node: HTMLElement;

  render(
    parentId: string | null,
    parent: IRun | null,
    children: readonly IRun[]
  ): void {
    const trans = this._trans;
    this.node.replaceChildren();
    this.node.hidden = !parentId && children.length === 0;
    if (parentId) {
      const row = el('p', 'lt-ParentRun');
      row.append(
        el('span', 'lt-RelativesLabel', trans.__('Parent run:')),
        ' ',
        this._link(
          parentId,
          parent ? runName(parent) : parentId,
          'lt-ParentLink'
        )
      );
      this.node.append(row);
    }
    if (children.length > 0) {
      const head = el(
        'p',
        'lt-RelativesLabel',
        trans._n('%1 child run:', '%1 child runs:', children.length)
      );
      const list = el('ul', 'lt-ChildRuns');
      for (const child of children) {
        const li = el('li');
        li.append(
          this._link(child.info.run_id, runName(child), 'lt-ChildLink'),
          ' ',
          statusBadge(child.info.status)
        );
        list.append(li);
      }
      this.node.append(head, list);
    }
  }

  private _link(runId: string, name: string, className: string): HTMLElement {
    const link = el('button', `lt-LinkButton ${className}`, name, {
      type: 'button',
      'data-run-id': runId,
      title: this._trans.__('Open run %1', name)
    });
    link.addEventListener('click', () => this._model.openRun(runId));
    return link;
  }
}
