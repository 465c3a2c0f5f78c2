/**
 * The left sidebar: experiments with run counts, a filter box (MLflow's
 * search language, errors inline), running and recent runs with live
 * status, and checkboxes to pick runs to compare.
 */

import { TranslationBundle } from '@jupyterlab/translation';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { IRun } from './protocol';
import { button, el, runDuration, runName, statusBadge } from './dom';
import { labtrackIcon } from './icons';
import { filterError } from './runfilters';
import { ILabtrackModel, ModelChange } from './tokens';

export interface ISidebarOptions {
  /** Open the dashboard (main area) on a view. */
  openDashboard: (view?: 'runs' | 'compare' | 'run') => void;
  trans: TranslationBundle;
}

export class LabtrackSidebar extends Widget {
  constructor(model: ILabtrackModel, options: ISidebarOptions) {
    super();
    this._model = model;
    this._options = options;
    const trans = (this._trans = options.trans);
    this.id = 'labtrack-sidebar';
    this.addClass('lt-Sidebar');
    this.title.icon = labtrackIcon;
    this.title.caption = trans.__('labtrack');

    const head = el('div', 'lt-SidebarHeader');
    head.append(
      el('h2', 'lt-PaneHeading', trans.__('labtrack')),
      button(
        trans.__('Open dashboard'),
        () => options.openDashboard('runs'),
        'lt-OpenDashboard'
      )
    );

    const expSection = el('section', 'lt-SidebarSection', undefined, {
      'aria-label': trans.__('Experiments')
    });
    expSection.append(el('h3', 'lt-SectionHeading', trans.__('Experiments')));
    this._experiments = el('ul', 'lt-SidebarExperiments');
    expSection.append(this._experiments);

    const form = el('form', 'lt-FilterForm lt-SidebarFilter', undefined, {
      role: 'search'
    });
    this._filter = el('input', 'jp-mod-styled lt-FilterInput', undefined, {
      type: 'search',
      placeholder: trans.__('Filter, e.g. metrics.loss < 0.5'),
      'aria-label': trans.__('Filter runs of the selected experiment'),
      'aria-describedby': 'lt-sidebar-filter-error',
      spellcheck: 'false',
      autocomplete: 'off'
    });
    this._filterError = el('div', 'lt-FilterError', undefined, {
      id: 'lt-sidebar-filter-error',
      role: 'alert'
    });
    form.append(this._filter, this._filterError);
    form.addEventListener('submit', event => {
      event.preventDefault();
      void model.setFilter(this._filter.value);
    });

    const matchSection = el('section', 'lt-SidebarSection', undefined, {
      'aria-label': trans.__('Matching runs')
    });
    this._matchHeading = el('h3', 'lt-SectionHeading', trans.__('Runs'));
    this._matches = el('ul', 'lt-SidebarRuns lt-SidebarMatches');
    matchSection.append(this._matchHeading, form, this._matches);

    const runningSection = el('section', 'lt-SidebarSection', undefined, {
      'aria-label': trans.__('Running runs')
    });
    runningSection.append(el('h3', 'lt-SectionHeading', trans.__('Running')));
    this._running = el('ul', 'lt-SidebarRuns lt-SidebarRunning');
    runningSection.append(this._running);

    const recentSection = el('section', 'lt-SidebarSection', undefined, {
      'aria-label': trans.__('Recent runs')
    });
    recentSection.append(
      el('h3', 'lt-SectionHeading', trans.__('Recent runs'))
    );
    this._recent = el('ul', 'lt-SidebarRuns lt-SidebarRecent');
    recentSection.append(this._recent);

    this._compare = button(
      trans.__('Compare'),
      () => options.openDashboard('compare'),
      'jp-mod-accept lt-SidebarCompare'
    );
    const footer = el('div', 'lt-SidebarFooter');
    footer.append(this._compare);

    this.node.append(
      head,
      expSection,
      matchSection,
      runningSection,
      recentSection,
      footer
    );
    model.changed.connect(this._onModelChanged, this);
    this._render();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._model.changed.disconnect(this._onModelChanged, this);
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    if (this._model.experiments.length === 0) {
      void this._model.refresh();
    } else {
      void this._model.refreshSidebar();
    }
  }

  private _onModelChanged(_: ILabtrackModel, change: ModelChange): void {
    if (
      change === 'filter' &&
      this._filter.value.trim() !== this._model.filter
    ) {
      this._filter.value = this._model.filter;
    }
    if (this.isVisible) {
      this._render();
    }
  }

  private _render(): void {
    const model = this._model;
    const trans = this._trans;
    const listed = new Set(model.experimentIds);
    this._experiments.replaceChildren(
      ...model.experiments.map(exp => {
        const summary = model.summaries.get(exp.experiment_id);
        const li = el('li');
        const b = el('button', 'lt-SidebarExperiment', undefined, {
          type: 'button',
          'data-experiment-id': exp.experiment_id,
          'data-experiment-name': exp.name,
          'aria-pressed': listed.has(exp.experiment_id) ? 'true' : 'false',
          title: exp.name
        });
        b.classList.toggle('lt-mod-selected', listed.has(exp.experiment_id));
        const count = summary ? summary.count.toLocaleString('en-US') : '';
        b.append(
          el('span', 'lt-ExperimentName', exp.name),
          el('span', 'lt-RunCount', count, {
            // Always plural, as before (the text is unchanged).
            'aria-label': count ? trans.__('%1 runs', count) : undefined
          })
        );
        b.addEventListener('click', event => {
          const add = event.ctrlKey || event.metaKey || event.shiftKey;
          void model.selectExperiment(exp.experiment_id, add);
          this._options.openDashboard('runs');
        });
        li.append(b);
        return li;
      })
    );

    const badFilter = filterError(model.runsState);
    this._filterError.textContent = badFilter ? badFilter.message : '';
    this._filter.setAttribute('aria-invalid', badFilter ? 'true' : 'false');
    this._filter.disabled = model.experimentIds.length === 0;
    const experiment = model.selectedExperiment;
    this._matchHeading.textContent = experiment
      ? trans.__(
          'Runs of %1 (%2)',
          experiment.name,
          (model.runsTotal ?? model.runs.length).toLocaleString('en-US')
        )
      : trans.__('Runs (select an experiment)');
    this._matches.replaceChildren(
      ...model.runs.slice(0, 50).map(run => this._runItem(run))
    );

    const recent = model.recentRuns;
    const running = recent.filter(r => r.info.status === 'RUNNING');
    this._running.replaceChildren(
      ...(running.length
        ? running.map(run => this._runItem(run))
        : [el('li', 'lt-Empty', trans.__('Nothing running.'))])
    );
    this._recent.replaceChildren(
      ...recent.slice(0, 10).map(run => this._runItem(run))
    );
    const n = model.selectedRuns.length;
    this._compare.textContent = trans.__('Compare (%1)', n);
    this._compare.disabled = n === 0;
  }

  private _runItem(run: IRun): HTMLElement {
    const li = el('li', 'lt-SidebarRun', undefined, {
      'data-run-id': run.info.run_id,
      'data-status': run.info.status
    });
    const box = el('input', 'lt-RunSelect', undefined, {
      type: 'checkbox',
      'aria-label': this._trans.__('Select run %1 for comparison', runName(run))
    });
    box.checked = this._model.isRunSelected(run.info.run_id);
    box.addEventListener('change', () =>
      this._model.setRunSelected(run, box.checked)
    );
    const open = el('button', 'lt-LinkButton lt-SidebarRunName', runName(run), {
      type: 'button',
      title: `${runName(run)} (${runDuration(run)})`
    });
    open.addEventListener('click', () => {
      this._model.openRun(run.info.run_id);
      this._options.openDashboard('run');
    });
    li.append(box, open, statusBadge(run.info.status));
    return li;
  }

  private _model: ILabtrackModel;
  private _options: ISidebarOptions;
  private _trans: TranslationBundle;
  private _experiments: HTMLElement;
  private _filter: HTMLInputElement;
  private _filterError: HTMLElement;
  private _matchHeading: HTMLElement;
  private _matches: HTMLElement;
  private _running: HTMLElement;
  private _recent: HTMLElement;
  private _compare: HTMLButtonElement;
}
