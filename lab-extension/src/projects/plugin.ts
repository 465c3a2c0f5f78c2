/**
 * "Run project": a context-menu item on MLproject files in the file browser
 * and a command-palette command open the dialog; the started run opens live
 * in the dashboard. It also lends "Run again" to the run page.
 */

import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, InputDialog } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { CommandIDs, ILabtrackModel } from '../tokens';
import { createProjectsAPI } from './api';
import { IProjectInputs } from './params';
import { setRunAgainHandler } from './section';

export const RUN_PROJECT_COMMAND = 'labtrack:run-project';

const MLPROJECT_NAMES = new Set(['MLproject', 'mlproject']);

function isMLproject(path: string): boolean {
  return MLPROJECT_NAMES.has(PathExt.basename(path));
}

export const projectsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'labtrack:projects',
  description: 'Run MLproject entry points from the file browser and palette.',
  autoStart: true,
  requires: [ILabtrackModel],
  optional: [IDefaultFileBrowser, ICommandPalette, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    model: ILabtrackModel,
    browser: IDefaultFileBrowser | null,
    palette: ICommandPalette | null,
    translator: ITranslator | null
  ): void => {
    const trans = (translator ?? nullTranslator).load('labtrack');
    const api = createProjectsAPI(app.serviceManager.serverSettings, trans);

    const open = async (path: string, initial?: Partial<IProjectInputs>) => {
      if (model.experiments.length === 0) {
        // The dashboard may not have listed them yet: the dialog offers them all.
        await model.refreshExperiments().catch(() => undefined);
      }
      // The dialog's code loads on first use (not at JupyterLab's start).
      const { runProjectFlow } = await import(
        /* webpackChunkName: "lt-projects-dialog" */ './dialog'
      );
      return runProjectFlow({
        path,
        initial,
        experiments: model.experiments,
        defaultExperimentId: model.selectedExperimentId,
        api,
        trans,
        started: response => {
          // The runs table behind the run page lists the run's experiment.
          void model.selectExperiment(response.experiment_id);
          void app.commands.execute(CommandIDs.openRun, {
            runId: response.run_id
          });
        }
      });
    };

    /** The MLproject selected in the file browser, else one in its folder. */
    const browserProject = (selectedOnly: boolean): string | null => {
      if (!browser) {
        return null;
      }
      for (const item of browser.selectedItems()) {
        if (item.type !== 'directory' && isMLproject(item.path)) {
          return item.path;
        }
      }
      if (selectedOnly) {
        return null;
      }
      for (const item of browser.model.items()) {
        if (item.type !== 'directory' && isMLproject(item.path)) {
          return item.path;
        }
      }
      return null;
    };

    app.commands.addCommand(RUN_PROJECT_COMMAND, {
      label: args =>
        args.isPalette
          ? trans.__('labtrack: Run Project…')
          : trans.__('Run Project…'),
      caption: trans.__(
        'Run an entry point of an MLproject as a tracked labtrack run'
      ),
      describedBy: {
        args: {
          type: 'object',
          properties: {
            path: {
              type: 'string',
              description: trans.__(
                'The MLproject file or project folder, relative to the Jupyter root.'
              )
            }
          }
        }
      },
      isVisible: args =>
        typeof args.path === 'string' ||
        !args.fromBrowser ||
        browserProject(true) !== null,
      execute: async args => {
        let path =
          typeof args.path === 'string'
            ? args.path
            : browserProject(!!args.fromBrowser);
        if (!path) {
          const answer = await InputDialog.getText({
            title: trans.__('Run Project'),
            label: trans.__(
              'MLproject file or project folder (relative to the Jupyter root)'
            ),
            text: browser?.model.path ?? ''
          });
          if (!answer.button.accept || !answer.value) {
            return null;
          }
          path = answer.value;
        }
        return open(path);
      }
    });

    app.contextMenu.addItem({
      command: RUN_PROJECT_COMMAND,
      args: { fromBrowser: true },
      selector: '.jp-DirListing-item[data-isdir="false"]',
      rank: 3
    });
    if (palette) {
      palette.addItem({
        command: RUN_PROJECT_COMMAND,
        args: { isPalette: true },
        category: 'labtrack'
      });
    }
    setRunAgainHandler(inputs => void open(inputs.path, inputs));
  }
};
