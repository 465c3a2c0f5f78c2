/**
 * The server's "Run project" routes (`api/labtrack/projects/...`): describe
 * an MLproject inside the Jupyter root folder, and start `labtrack run` on it
 * as a child of the user's Jupyter server.
 */

import { ServerConnection } from '@jupyterlab/services';
import { TranslationBundle } from '@jupyterlab/translation';

import { requestAPI } from '../api';

export const PROJECTS_API = 'api/labtrack/projects';

export type ParameterType = 'string' | 'float' | 'int' | 'path' | 'uri';

export interface IProjectParameter {
  name: string;
  type: ParameterType;
  /** Absent when the parameter is required. */
  default?: string;
  required: boolean;
}

export interface IEntryPoint {
  name: string;
  command: string;
  parameters: IProjectParameter[];
}

export interface IProjectDescription {
  name: string;
  /** The project folder, relative to the Jupyter root. */
  path: string;
  /** What the project asks for: python, conda, docker or none. */
  env_type: string;
  entry_points: IEntryPoint[];
}

export interface IRunProjectRequest {
  path: string;
  entry_point: string;
  parameters: Record<string, string>;
  env_manager?: string;
  experiment_id?: string;
  run_name?: string;
}

export interface IRunProjectResponse {
  run_id: string;
  experiment_id: string;
}

/** The entry points of the MLproject at `path` (file or folder). */
export function describeProject(
  path: string,
  settings?: ServerConnection.ISettings,
  trans?: TranslationBundle
): Promise<IProjectDescription> {
  const query = new URLSearchParams({ path });
  return requestAPI<IProjectDescription>(
    `${PROJECTS_API}/describe?${query.toString()}`,
    { method: 'GET' },
    settings,
    trans
  );
}

/** Start a project run; answers at once with the new run. */
export function runProject(
  request: IRunProjectRequest,
  settings?: ServerConnection.ISettings,
  trans?: TranslationBundle
): Promise<IRunProjectResponse> {
  return requestAPI<IRunProjectResponse>(
    `${PROJECTS_API}/run`,
    { method: 'POST', body: JSON.stringify(request) },
    settings,
    trans
  );
}

/** The projects routes bound to one connection (what the dialog is given). */
export interface IProjectsAPI {
  describe(path: string): Promise<IProjectDescription>;
  run(request: IRunProjectRequest): Promise<IRunProjectResponse>;
}

export function createProjectsAPI(
  settings?: ServerConnection.ISettings,
  trans?: TranslationBundle
): IProjectsAPI {
  return {
    describe: path => describeProject(path, settings, trans),
    run: request => runProject(request, settings, trans)
  };
}
