/**
 * The dashboard's lazily loaded half: the dashboard widget with its views
 * (runs table, compare, run page, registry) and their models. `index.ts`
 * loads this module with `import()` the first time the dashboard opens, so
 * the bundler puts it, the views and uPlot in chunks of their own and
 * JupyterLab's start loads only the plugins' wiring (commands, launcher
 * card, sidebar).
 */

import { MainAreaWidget } from '@jupyterlab/apputils';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { showPermissionsDialog } from './permissions/dialog';
import { IPermissionsAPI } from './permissions/protocol';
import { ILabtrackAPI } from './protocol';
import { CompareModel } from './comparemodel';
import { DashboardPanel, createDashboard } from './panel';
import { RegistryModel } from './registrymodel';
import { RunDetailModel } from './rundetailmodel';
import { ILabtrackModel } from './tokens';

export interface IDashboardWiring {
  api: ILabtrackAPI;
  /** The chart's point budget, read each time a chart loads (a setting). */
  maxPoints: () => number;
  translator: ITranslator | null;
  rendermime: IRenderMimeRegistry | null;
  openPath: (path: string) => void;
  /** The team service's grants API (the dialog shows only in team mode). */
  permissionsAPI: IPermissionsAPI;
}

/** A new dashboard; each gets its own view models (disposed with it). */
export function buildDashboard(
  model: ILabtrackModel,
  wiring: IDashboardWiring
): MainAreaWidget<DashboardPanel> {
  const { api } = wiring;
  return createDashboard(model, {
    models: {
      compare: new CompareModel({ api, model, maxPoints: wiring.maxPoints }),
      detail: new RunDetailModel({ api }),
      registry: new RegistryModel({ api })
    },
    translator: wiring.translator,
    rendermime: wiring.rendermime,
    openPath: wiring.openPath,
    openPermissions: resource =>
      void showPermissionsDialog({
        api: wiring.permissionsAPI,
        resource,
        me: model.me,
        trans: (wiring.translator ?? nullTranslator).load('labtrack')
      })
  });
}
