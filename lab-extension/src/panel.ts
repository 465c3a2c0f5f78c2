/**
 * The labtrack dashboard: the experiment list on the left, and on the right
 * the views of the main area (runs table, compare, run detail, registry),
 * switched by a tab list. Views only render the shared model and forward
 * user intent to it. Server strings are written with `textContent` /
 * attributes, never as HTML.
 */

import { MainAreaWidget, ToolbarButton } from '@jupyterlab/apputils';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import {
  ITranslator,
  TranslationBundle,
  nullTranslator
} from '@jupyterlab/translation';
import { refreshIcon } from '@jupyterlab/ui-components';
import { Message, MessageLoop } from '@lumino/messaging';
import { Panel, Widget } from '@lumino/widgets';

import { CompareView } from './compare';
import { CompareModel } from './comparemodel';
import { el } from './dom';
import { labtrackIcon } from './icons';
import { OpenPermissions } from './permissions/protocol';
import { IExperiment, LabtrackAPIError } from './protocol';
import { RegistryView } from './registry';
import { RegistryModel } from './registrymodel';
import { RunDetailView } from './rundetail';
import { RunDetailModel } from './rundetailmodel';
import { filterError } from './runfilters';
import { RunsTableView } from './table';
import {
  DashboardView,
  ILabtrackModel,
  ILoadState,
  ModelChange
} from './tokens';

export { formatDuration, formatMetric, formatTime } from './dom';
export { filterError };

/** The models of the dashboard's views besides the shared one. */
export interface IDashboardModels {
  compare: CompareModel;
  detail: RunDetailModel;
  registry: RegistryModel;
}

export interface IDashboardOptions {
  /** The views' models; the dashboard disposes them with itself. */
  models: IDashboardModels;
  translator?: ITranslator | null;
  rendermime?: IRenderMimeRegistry | null;
  /** Open a server-root relative path in JupyterLab (docmanager). */
  openPath?: (path: string) => void;
  /**
   * Open the permissions dialog of an experiment or a registered model; its
   * buttons show in team mode only (when the model knows who `me` is).
   */
  openPermissions?: OpenPermissions | null;
}

const VIEWS: DashboardView[] = ['runs', 'compare', 'run', 'models'];

function viewTitle(view: DashboardView, trans: TranslationBundle): string {
  switch (view) {
    case 'runs':
      return trans.__('Runs');
    case 'compare':
      return trans.__('Compare');
    case 'run':
      return trans.__('Run');
    case 'models':
      return trans.__('Models');
  }
}

/**
 * The dashboard body (the content of a `MainAreaWidget`).
 */
export class DashboardPanel extends Panel {
  constructor(model: ILabtrackModel, options: IDashboardOptions) {
    super();
    this._model = model;
    this._models = options.models;
    const trans = (this._trans = (options.translator ?? nullTranslator).load(
      'labtrack'
    ));
    this.addClass('lt-Dashboard');
    this.id = 'labtrack-dashboard';

    const experimentsPane = el('section', 'lt-ExperimentsPane', undefined, {
      'aria-labelledby': 'lt-experiments-heading'
    });
    const experimentsHead = el('div', 'lt-ExperimentsHead');
    experimentsHead.append(
      el('h2', 'lt-PaneHeading', trans.__('Experiments'), {
        id: 'lt-experiments-heading'
      })
    );
    experimentsPane.append(
      experimentsHead,
      el(
        'p',
        'lt-Hint',
        trans.__(
          'Ctrl+click (or Shift+Enter) adds an experiment: compare across experiments.'
        )
      )
    );
    this._experimentsStatus = el('div', 'lt-StatusArea');
    this._experimentList = el('ul', 'lt-ExperimentList', undefined, {
      'aria-labelledby': 'lt-experiments-heading'
    });
    this._experimentList.addEventListener('keydown', this._onListKeydown);
    experimentsPane.append(this._experimentsStatus, this._experimentList);

    // The right side: heading, filter, view tabs, status, then the views.
    const header = el('div', 'lt-RunsHeader');
    this._runsHeading = el('h2', 'lt-PaneHeading', trans.__('Runs'), {
      id: 'lt-runs-heading'
    });
    this._tabs = el('div', 'lt-ViewTabs', undefined, {
      role: 'tablist',
      'aria-label': trans.__('Dashboard views')
    });
    for (const view of VIEWS) {
      const tab = el('button', 'lt-ViewTab', viewTitle(view, trans), {
        type: 'button',
        role: 'tab',
        'data-view': view,
        id: `lt-tab-${view}`
      });
      tab.addEventListener('click', () => model.setView(view));
      this._tabs.append(tab);
    }
    this._tabs.addEventListener('keydown', this._onTabsKeydown);
    // Team mode: the listed experiment's permissions (everyone may look;
    // the dialog lets MANAGE holders change them).
    this._openPermissions = options.openPermissions ?? null;
    this._permissionsButton = el(
      'button',
      'jp-Button jp-mod-styled lt-PermissionsButton',
      trans.__('Permissions…'),
      { type: 'button', 'aria-haspopup': 'dialog' }
    );
    this._permissionsButton.addEventListener('click', () => {
      const experiment = this._model.selectedExperiment;
      if (experiment && this._openPermissions) {
        this._openPermissions({
          type: 'experiment',
          id: experiment.experiment_id,
          name: experiment.name
        });
      }
    });
    const title = el('div', 'lt-RunsTitle');
    title.append(this._runsHeading, this._permissionsButton);
    header.append(title, this._createFilterForm(), this._tabs);
    this._runsStatus = el('div', 'lt-StatusArea');
    // Errors that concern the whole dashboard (e.g. no server extension).
    this._banner = el('div', 'lt-Banner');

    const headerWidget = new Widget();
    headerWidget.addClass('lt-DashboardHeader');
    headerWidget.node.append(this._banner, header, this._runsStatus);

    const models = options.models;
    this._views = {
      runs: new RunsTableView(model, { trans }),
      compare: new CompareView(model, { compare: models.compare, trans }),
      run: new RunDetailView(model, {
        detail: models.detail,
        trans,
        rendermime: options.rendermime,
        openPath: options.openPath
      }),
      models: new RegistryView(model, {
        registry: models.registry,
        trans,
        rendermime: options.rendermime,
        openPermissions: options.openPermissions
      })
    };
    const main = new Panel();
    main.addClass('lt-MainPane');
    main.addWidget(headerWidget);
    for (const view of VIEWS) {
      const widget = this._views[view];
      widget.addClass('lt-View');
      widget.node.setAttribute('role', 'tabpanel');
      widget.node.setAttribute('aria-labelledby', `lt-tab-${view}`);
      widget.hide();
      main.addWidget(widget);
    }
    const side = new Widget({ node: experimentsPane });
    this.addWidget(side);
    this.addWidget(main);

    model.changed.connect(this._onModelChanged, this);
    this._renderExperiments();
    this._renderRuns();
    this._renderView();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._model.changed.disconnect(this._onModelChanged, this);
    super.dispose();
    // After the views (they disconnect from these models).
    this._models.compare.dispose();
    this._models.detail.dispose();
    this._models.registry.dispose();
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    void this._model.refresh();
  }

  protected onResize(msg: Widget.ResizeMessage): void {
    super.onResize(msg);
    const view = this._views[this._model.view];
    MessageLoop.sendMessage(view, Widget.ResizeMessage.UnknownSize);
  }

  protected onActivateRequest(msg: Message): void {
    const target =
      this._experimentList.querySelector<HTMLElement>('[tabindex="0"]') ??
      this._filterInput;
    target.focus();
  }

  private _onModelChanged(_: ILabtrackModel, change: ModelChange): void {
    switch (change) {
      case 'experiments':
        this._renderExperiments();
        // The runs pane's hint depends on whether there are experiments.
        this._renderRuns();
        break;
      case 'selection':
        this._renderSelection();
        this._renderRuns();
        break;
      case 'filter':
        // `me` arrives with the filter state (whoami): team mode is known.
        this._renderPermissionsButton();
        if (this._filterInput.value.trim() !== this._model.filter) {
          this._filterInput.value = this._model.filter;
        }
        break;
      case 'runs':
        this._renderRuns();
        break;
      case 'view':
        this._renderView();
        // The runs hint belongs to the runs view only.
        this._renderRuns();
        break;
      case 'runSelection':
        this._renderView();
        break;
    }
  }

  private _renderView(): void {
    const current = this._model.view;
    for (const view of VIEWS) {
      const tab = this._tabs.querySelector<HTMLElement>(
        `[data-view="${view}"]`
      )!;
      const selected = view === current;
      tab.setAttribute('aria-selected', selected ? 'true' : 'false');
      tab.tabIndex = selected ? 0 : -1;
      tab.classList.toggle('lt-mod-selected', selected);
      if (view === 'compare') {
        tab.textContent = this._trans.__(
          'Compare (%1)',
          this._model.selectedRuns.length
        );
      }
      if (view === 'run') {
        (tab as HTMLButtonElement).disabled = !this._model.detailRunId;
      }
      const widget = this._views[view];
      if (selected && widget.isHidden) {
        widget.show();
      } else if (!selected && !widget.isHidden) {
        widget.hide();
      }
    }
    this.node.dataset.view = current;
  }

  private _onTabsKeydown = (event: KeyboardEvent): void => {
    const tabs = Array.from(
      this._tabs.querySelectorAll<HTMLButtonElement>('[role="tab"]')
    ).filter(t => !t.disabled);
    const current = tabs.indexOf(document.activeElement as HTMLButtonElement);
    if (current < 0) {
      return;
    }
    let next = current;
    if (event.key === 'ArrowRight') {
      next = (current + 1) % tabs.length;
    } else if (event.key === 'ArrowLeft') {
      next = (current - 1 + tabs.length) % tabs.length;
    } else {
      return;
    }
    event.preventDefault();
    tabs[next].focus();
    tabs[next].click();
  };

  private _createFilterForm(): HTMLFormElement {
    const form = el('form', 'lt-FilterForm', undefined, { role: 'search' });
    const trans = this._trans;
    const label = el('label', 'lt-VisuallyHidden', trans.__('Filter runs'), {
      for: 'lt-run-filter'
    });
    this._filterInput = el('input', 'jp-mod-styled lt-FilterInput', undefined, {
      id: 'lt-run-filter',
      type: 'search',
      placeholder: trans.__(
        "Filter runs, e.g. metrics.loss < 0.5 and params.lr = '0.1'"
      ),
      spellcheck: 'false',
      autocomplete: 'off',
      'aria-describedby': 'lt-run-filter-error'
    });
    this._filterError = el('div', 'lt-FilterError', undefined, {
      id: 'lt-run-filter-error',
      role: 'alert'
    });
    form.append(label, this._filterInput, this._filterError);
    form.addEventListener('submit', event => {
      event.preventDefault();
      this._model.setView('runs');
      void this._model.setFilter(this._filterInput.value);
    });
    return form;
  }

  private _renderStatus(
    area: HTMLElement,
    state: ILoadState,
    empty: string | null,
    retry: () => void
  ): void {
    area.replaceChildren();
    if (state.error) {
      area.append(this._errorBox(state.error, retry));
    } else if (state.loading) {
      area.append(
        el('div', 'lt-Loading', this._trans.__('Loading…'), {
          role: 'status',
          'aria-live': 'polite'
        })
      );
    } else if (empty !== null) {
      area.append(el('div', 'lt-Empty', empty));
    }
  }

  private _errorBox(error: LabtrackAPIError, retry: () => void): HTMLElement {
    const box = el('div', 'lt-error', undefined, {
      role: 'alert',
      'data-error-code': error.errorCode
    });
    box.append(
      el(
        'p',
        'lt-ErrorTitle',
        error.isServerExtensionMissing
          ? this._trans.__('labtrack server extension not enabled')
          : this._trans.__('Could not load data from labtrack')
      ),
      el('p', 'lt-ErrorMessage', error.message)
    );
    const button = el(
      'button',
      'jp-Button jp-mod-styled lt-RetryButton',
      this._trans.__('Retry'),
      {
        type: 'button'
      }
    );
    button.addEventListener('click', retry);
    box.append(button);
    return box;
  }

  private _renderExperiments(): void {
    const model = this._model;
    const experiments = model.experiments;
    const state = model.experimentsState;
    const retry = () => void model.refreshExperiments();
    // A failed experiment search means nothing works: say so across the
    // whole dashboard rather than inside the narrow list.
    this._renderStatus(
      this._banner,
      { loading: false, error: state.error },
      null,
      retry
    );
    this._renderStatus(
      this._experimentsStatus,
      // Keep showing the old list while it refreshes.
      { loading: state.loading && experiments.length === 0, error: null },
      experiments.length === 0 && !state.loading && !state.error
        ? this._trans.__(
            'No experiments yet. In a notebook: import labtrack as lt; lt.set_experiment("my-experiment")'
          )
        : null,
      retry
    );
    this.node.setAttribute('aria-busy', state.loading ? 'true' : 'false');

    const hadFocus = this._experimentList.contains(document.activeElement);
    const focusedId =
      (document.activeElement as HTMLElement | null)?.dataset?.experimentId ??
      null;

    this._experimentList.replaceChildren(
      ...experiments.map(experiment => this._experimentItem(experiment))
    );
    this._renderSelection();

    if (hadFocus) {
      const again =
        (focusedId && this._itemFor(focusedId)) ||
        this._experimentList.querySelector<HTMLElement>('[tabindex="0"]');
      again?.focus();
    }
  }

  private _experimentItem(experiment: IExperiment): HTMLElement {
    const item = el('li', 'lt-ExperimentListEntry');
    const button = el('button', 'lt-experiment-item', undefined, {
      type: 'button',
      'data-experiment-id': experiment.experiment_id,
      'data-experiment-name': experiment.name,
      title: experiment.name
    });
    button.append(
      el('span', 'lt-ExperimentName', experiment.name),
      el('span', 'lt-ExperimentId', `#${experiment.experiment_id}`)
    );
    button.addEventListener('click', event => {
      const add = event.ctrlKey || event.metaKey || event.shiftKey;
      void this._model.selectExperiment(experiment.experiment_id, add);
    });
    item.append(button);
    return item;
  }

  private _itemFor(experimentId: string): HTMLElement | null {
    for (const button of this._buttons()) {
      if (button.dataset.experimentId === experimentId) {
        return button;
      }
    }
    return null;
  }

  private _buttons(): HTMLElement[] {
    return Array.from(
      this._experimentList.querySelectorAll<HTMLElement>('.lt-experiment-item')
    );
  }

  /** Mark the selected experiment; it (or the first) is the tab stop. */
  private _renderSelection(): void {
    const listed = new Set(this._model.experimentIds);
    const first = this._model.selectedExperimentId;
    const buttons = this._buttons();
    const hasSelected = buttons.some(b => b.dataset.experimentId === first);
    buttons.forEach((button, index) => {
      const id = button.dataset.experimentId ?? '';
      const isSelected = listed.has(id);
      button.classList.toggle('lt-mod-selected', isSelected);
      button.setAttribute('aria-pressed', isSelected ? 'true' : 'false');
      const tabStop = id === first || (!hasSelected && index === 0);
      button.tabIndex = tabStop ? 0 : -1;
    });
    const names = this._model.experimentIds.map(
      id =>
        this._model.experiments.find(e => e.experiment_id === id)?.name ?? id
    );
    this._runsHeading.textContent =
      names.length > 0
        ? this._trans.__('Runs of %1', names.join(' + '))
        : this._trans.__('Runs');
    this._renderPermissionsButton();
  }

  /** Shown in team mode while exactly one experiment is listed. */
  private _renderPermissionsButton(): void {
    const experiment = this._model.selectedExperiment;
    const shown =
      this._openPermissions !== null &&
      this._model.me !== null &&
      experiment !== null &&
      this._model.experimentIds.length === 1;
    this._permissionsButton.hidden = !shown;
    this._permissionsButton.title = experiment
      ? this._trans.__('Who may read, use, edit and manage %1', experiment.name)
      : '';
  }

  /** Arrow keys, Home and End move between experiments (a roving tab stop). */
  private _onListKeydown = (event: KeyboardEvent): void => {
    const buttons = this._buttons();
    const current = buttons.indexOf(document.activeElement as HTMLElement);
    if (current < 0) {
      return;
    }
    let next: number;
    switch (event.key) {
      case 'ArrowDown':
        next = Math.min(current + 1, buttons.length - 1);
        break;
      case 'ArrowUp':
        next = Math.max(current - 1, 0);
        break;
      case 'Home':
        next = 0;
        break;
      case 'End':
        next = buttons.length - 1;
        break;
      default:
        return;
    }
    event.preventDefault();
    event.stopPropagation();
    buttons[current].tabIndex = -1;
    buttons[next].tabIndex = 0;
    buttons[next].focus();
  };

  private _renderRuns(): void {
    const model = this._model;
    const runs = model.runs;
    const state = model.runsState;
    const noSelection = model.selectedExperimentId === null;
    this._filterInput.disabled = noSelection;
    const badFilter = filterError(state);
    this._filterError.textContent = badFilter ? badFilter.message : '';
    this._filterInput.setAttribute(
      'aria-invalid',
      badFilter ? 'true' : 'false'
    );

    let empty: string | null = null;
    if (noSelection) {
      empty =
        model.experiments.length > 0
          ? this._trans.__('Select an experiment to see its runs.')
          : null;
    } else if (runs.length === 0 && !badFilter) {
      empty = model.effectiveFilter
        ? this._trans.__('No runs match this filter.')
        : model.mineOnly
          ? this._trans.__('You have no runs in this experiment yet.')
          : this._trans.__('No runs in this experiment yet.');
    }
    this._renderStatus(
      this._runsStatus,
      badFilter ? { loading: false, error: null } : state,
      model.view === 'runs' ? empty : null,
      () => void model.refreshRuns()
    );
  }

  private _model: ILabtrackModel;
  private _models: IDashboardModels;
  private _trans: TranslationBundle;
  private _views: Record<DashboardView, Widget>;
  private _banner: HTMLElement;
  private _tabs: HTMLElement;
  private _experimentsStatus: HTMLElement;
  private _experimentList: HTMLUListElement;
  private _runsHeading: HTMLElement;
  private _permissionsButton: HTMLButtonElement;
  private _openPermissions: OpenPermissions | null;
  private _runsStatus: HTMLElement;
  private _filterInput!: HTMLInputElement;
  private _filterError!: HTMLElement;
}

/** Wrap a dashboard in a `MainAreaWidget` with a refresh button. */
export function createDashboard(
  model: ILabtrackModel,
  options: IDashboardOptions
): MainAreaWidget<DashboardPanel> {
  const trans = (options.translator ?? nullTranslator).load('labtrack');
  const content = new DashboardPanel(model, options);
  const widget = new MainAreaWidget({ content });
  widget.id = 'labtrack-dashboard-main';
  widget.addClass('lt-DashboardWidget');
  widget.title.label = trans.__('labtrack');
  widget.title.caption = trans.__('labtrack: experiments and runs');
  widget.title.icon = labtrackIcon;
  widget.title.closable = true;
  widget.toolbar.addItem(
    'refresh',
    new ToolbarButton({
      icon: refreshIcon,
      tooltip: trans.__('Refresh experiments and runs'),
      onClick: () => void model.refresh()
    })
  );
  return widget;
}
