/**
 * labtrack's JupyterLab plugins. They only wire: state and server traffic
 * live in the models (`model.ts` shared, `comparemodel.ts`,
 * `rundetailmodel.ts`, `registrymodel.ts`, all over the client `api.ts`),
 * rendering in the views (`panel.ts` and the views it holds, `sidebar.ts`).
 *
 * Activation stays cheap: commands, the launcher card, palette items and the
 * sidebar register at JupyterLab's start; the dashboard (its views, models
 * and uPlot) is loaded with `import()` when it first opens (`dashboard.ts`),
 * the projects dialog when a project is first run, vega when a chart is
 * first rendered. Modules this file imports statically are loaded at start:
 * keep them light, and never re-export a view from here.
 */

import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  MainAreaWidget,
  WidgetTracker
} from '@jupyterlab/apputils';
import { ILauncher } from '@jupyterlab/launcher';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { refreshIcon } from '@jupyterlab/ui-components';

import { DEFAULT_MAX_POINTS, createAPI } from './api';
import { labtrackIcon } from './icons';
import { LabtrackModel } from './model';
import type { DashboardPanel } from './panel';
import { projectsPlugin } from './projects/plugin';
import { createPermissionsAPI } from './permissions/api';
import { SavedViewsByKey } from './savedviews';
import { LabtrackSidebar } from './sidebar';
import { CommandIDs, DashboardView, ILabtrackModel } from './tokens';
import { vegaLite6Plugin } from './vega';

export * from './api';
export * from './tokens';
export { LabtrackModel } from './model';
// Types only: a value export would put the dashboard back into the start-up
// chunk. The classes are in `comparemodel`, `registrymodel`,
// `rundetailmodel` and `panel`.
export type { CompareModel } from './comparemodel';
export type { RegistryModel } from './registrymodel';
export type { RunDetailModel } from './rundetailmodel';
export type { DashboardPanel } from './panel';
export { labtrackIcon } from './icons';

const PALETTE_CATEGORY = 'labtrack';

/** Provides the shared model and applies the user's settings to it. */
const modelPlugin: JupyterFrontEndPlugin<LabtrackModel> = {
  id: 'labtrack:model',
  description: 'The shared labtrack state (experiments, selection, runs).',
  autoStart: true,
  provides: ILabtrackModel,
  optional: [ISettingRegistry, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    settingRegistry: ISettingRegistry | null,
    translator: ITranslator | null
  ): LabtrackModel => {
    const trans = (translator ?? nullTranslator).load('labtrack');
    const model = new LabtrackModel({
      api: createAPI(app.serviceManager.serverSettings, trans),
      openDefaultExperiment: true
    });
    if (settingRegistry) {
      settingRegistry
        .load(modelPlugin.id)
        .then(settings => {
          const apply = () => {
            model.maxRuns = settings.get('maxRuns').composite as number;
            model.pollInterval = settings.get('pollInterval')
              .composite as number;
            model.loadColumns(
              (settings.get('columns').composite ?? {}) as Record<
                string,
                string[]
              >
            );
            model.views.load(
              (settings.get('views').composite ??
                {}) as unknown as SavedViewsByKey
            );
          };
          apply();
          model.lastExperimentId =
            (settings.get('lastExperimentId').composite as string) || null;
          settings.changed.connect(apply);
          // The last selected experiment is opened next time (per user).
          model.onExperimentSelected = id => {
            if (settings.get('lastExperimentId').composite !== id) {
              settings.set('lastExperimentId', id).catch(reason => {
                console.warn('labtrack: could not save the experiment', reason);
              });
            }
          };
          // Chosen columns are remembered in the settings registry.
          model.onColumnsChanged = columns => {
            settings.set('columns', columns).catch(reason => {
              console.warn('labtrack: could not save columns', reason);
            });
          };
          model.views.onChanged = views => {
            settings.set('views', views as never).catch(reason => {
              console.warn('labtrack: could not save views', reason);
            });
          };
        })
        .catch(reason => {
          console.warn('labtrack: could not load settings', reason);
        });
    }
    // Follow the change feed once the lab is up (runs stay live).
    void app.restored.then(() => {
      model.startLive();
      void model.loadIdentity();
    });
    return model;
  }
};

/** The dashboard: a command, a palette entry and a launcher card. */
const dashboardPlugin: JupyterFrontEndPlugin<void> = {
  id: 'labtrack:dashboard',
  description: 'Opens the labtrack dashboard in the main area.',
  autoStart: true,
  requires: [ILabtrackModel],
  optional: [
    ILauncher,
    ICommandPalette,
    ILayoutRestorer,
    IRenderMimeRegistry,
    ISettingRegistry,
    ITranslator
  ],
  activate: (
    app: JupyterFrontEnd,
    model: ILabtrackModel,
    launcher: ILauncher | null,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    rendermime: IRenderMimeRegistry | null,
    settingRegistry: ISettingRegistry | null,
    translator: ITranslator | null
  ): void => {
    const trans = (translator ?? nullTranslator).load('labtrack');
    const api = createAPI(app.serviceManager.serverSettings, trans);
    let maxPoints = DEFAULT_MAX_POINTS;
    if (settingRegistry) {
      void settingRegistry.load(modelPlugin.id).then(settings => {
        const apply = () => {
          maxPoints = settings.get('maxPoints').composite as number;
        };
        apply();
        settings.changed.connect(apply);
      });
    }
    const openPath = (path: string) =>
      void app.commands.execute('docmanager:open', { path });
    const permissionsAPI = createPermissionsAPI(
      app.serviceManager.serverSettings,
      trans
    );
    const tracker = new WidgetTracker<MainAreaWidget<DashboardPanel>>({
      namespace: 'labtrack'
    });
    let dashboard: MainAreaWidget<DashboardPanel> | null = null;
    // The dashboard being built (its code loads on first use): two quick
    // opens share it instead of building two dashboards.
    let building: Promise<MainAreaWidget<DashboardPanel>> | null = null;
    const ensureDashboard = (): Promise<MainAreaWidget<DashboardPanel>> => {
      if (dashboard && !dashboard.isDisposed) {
        return Promise.resolve(dashboard);
      }
      if (!building) {
        building = import(/* webpackChunkName: "lt-dashboard" */ './dashboard')
          .then(({ buildDashboard }) => {
            const widget = buildDashboard(model, {
              api,
              maxPoints: () => maxPoints,
              translator,
              rendermime,
              openPath,
              permissionsAPI
            });
            dashboard = widget;
            void tracker.add(widget);
            return widget;
          })
          .finally(() => {
            building = null;
          });
      }
      return building;
    };

    app.commands.addCommand(CommandIDs.openDashboard, {
      label: args =>
        args.isLauncher
          ? trans.__('labtrack')
          : trans.__('labtrack: Open Dashboard'),
      caption: trans.__('Browse labtrack experiments and runs'),
      icon: args => (args.isPalette ? undefined : labtrackIcon),
      describedBy: {
        args: {
          type: 'object',
          properties: {
            experimentId: {
              type: 'string',
              description: trans.__('Select this experiment after opening.')
            }
          }
        }
      },
      execute: async args => {
        const widget = await ensureDashboard();
        if (!widget.isAttached) {
          app.shell.add(widget, 'main');
        }
        app.shell.activateById(widget.id);
        const view = args.view as DashboardView | undefined;
        if (view) {
          model.setView(view);
        }
        const experimentId = args.experimentId;
        if (typeof experimentId === 'string' && experimentId) {
          await model.selectExperiment(experimentId);
        }
        return widget;
      }
    });

    app.commands.addCommand(CommandIDs.openCompare, {
      label: trans.__('Compare Selected labtrack Runs'),
      caption: trans.__(
        'Open the compare view of the runs picked for comparison'
      ),
      execute: () =>
        app.commands.execute(CommandIDs.openDashboard, { view: 'compare' })
    });
    app.commands.addCommand(CommandIDs.openRegistry, {
      label: trans.__('Open labtrack Model Registry'),
      caption: trans.__(
        'Registered models, versions, aliases and serve commands'
      ),
      execute: () =>
        app.commands.execute(CommandIDs.openDashboard, { view: 'models' })
    });
    app.commands.addCommand(CommandIDs.openRun, {
      label: trans.__('Open labtrack Run'),
      describedBy: {
        args: {
          type: 'object',
          properties: { runId: { type: 'string' } }
        }
      },
      execute: args => {
        model.openRun(String(args.runId));
        return app.commands.execute(CommandIDs.openDashboard, {});
      }
    });

    app.commands.addCommand(CommandIDs.refresh, {
      label: trans.__('Refresh labtrack'),
      caption: trans.__('Fetch labtrack experiments and runs again'),
      icon: args => (args.isPalette ? undefined : refreshIcon),
      execute: () => model.refresh()
    });

    if (launcher) {
      launcher.add({
        command: CommandIDs.openDashboard,
        args: { isLauncher: true },
        category: 'Other',
        rank: 1
      });
    }
    if (palette) {
      for (const command of [
        CommandIDs.openDashboard,
        CommandIDs.openCompare,
        CommandIDs.openRegistry,
        CommandIDs.showSidebar,
        CommandIDs.refresh
      ]) {
        palette.addItem({
          command,
          args: { isPalette: true },
          category: PALETTE_CATEGORY
        });
      }
    }
    if (restorer) {
      void restorer.restore(tracker, {
        command: CommandIDs.openDashboard,
        name: () => 'dashboard'
      });
    }
  }
};

/** The left sidebar: experiments, live runs, picking runs to compare. */
const sidebarPlugin: JupyterFrontEndPlugin<void> = {
  id: 'labtrack:sidebar',
  description: 'A left sidebar with experiments, live runs and a filter.',
  autoStart: true,
  requires: [ILabtrackModel],
  optional: [ILayoutRestorer, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    model: ILabtrackModel,
    restorer: ILayoutRestorer | null,
    translator: ITranslator | null
  ): void => {
    const trans = (translator ?? nullTranslator).load('labtrack');
    const sidebar = new LabtrackSidebar(model, {
      openDashboard: view =>
        void app.commands.execute(CommandIDs.openDashboard, { view }),
      trans
    });
    app.shell.add(sidebar, 'left', { rank: 600 });
    if (restorer) {
      restorer.add(sidebar, sidebar.id);
    }
    app.commands.addCommand(CommandIDs.showSidebar, {
      label: trans.__('Show labtrack Sidebar'),
      execute: () => app.shell.activateById(sidebar.id)
    });
  }
};

const plugins: JupyterFrontEndPlugin<any>[] = [
  modelPlugin,
  dashboardPlugin,
  sidebarPlugin,
  vegaLite6Plugin,
  projectsPlugin
];
export default plugins;
