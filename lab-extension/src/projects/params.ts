/**
 * Typed MLproject parameters in the browser: the same rules as the server's
 * parser (`labtrack.mlproject`), so a mistake shows at the field before
 * anything is sent; and the inputs of a past project run ("Run again").
 */

import { IRun } from '../protocol';
import { IProjectParameter, ParameterType } from './api';

/** Tags a project run carries (MLflow's names, and labtrack's own path). */
export const PROJECT_TAGS = {
  sourceType: 'mlflow.source.type',
  sourceName: 'mlflow.source.name',
  entryPoint: 'mlflow.project.entryPoint',
  env: 'mlflow.project.env',
  gitCommit: 'mlflow.source.git.commit',
  path: 'labtrack.project.path',
  error: 'labtrack.project.error'
} as const;

export const ENV_MANAGERS = ['local', 'virtualenv', 'uv', 'conda'] as const;

// Python's int() and float() as the server applies them (no underscores).
const INT = /^\s*[+-]?\d+\s*$/;
const FLOAT =
  /^\s*[+-]?((\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|inf(inity)?|nan)\s*$/i;
// A URI has a scheme of two letters or more (a drive letter is not one).
const URI = /^[A-Za-z][A-Za-z0-9+.-]+:/;

/**
 * The problem with `value` for a parameter of this type, or null. An empty
 * value is a problem only for a required parameter (else the default holds).
 */
export function parameterProblem(
  param: IProjectParameter,
  value: string
): 'required' | ParameterType | null {
  if (value === '') {
    return param.required ? 'required' : null;
  }
  switch (param.type) {
    case 'int':
      return INT.test(value) ? null : 'int';
    case 'float':
      return FLOAT.test(value) ? null : 'float';
    case 'uri':
      return URI.test(value) ? null : 'uri';
    case 'path':
      return URI.test(value) && !value.startsWith('file://') ? 'path' : null;
    default:
      return null;
  }
}

/** The env manager a project's environment suggests. */
export function defaultEnvManager(envType: string): string {
  switch (envType) {
    case 'python':
      return 'virtualenv';
    case 'conda':
      return 'conda';
    default:
      return 'local';
  }
}

export function tagOf(run: IRun, key: string): string | undefined {
  return run.data.tags?.find(t => t.key === key)?.value;
}

/** Whether a run was started as a project (`labtrack run`, "Run project"). */
export function isProjectRun(run: IRun): boolean {
  return tagOf(run, PROJECT_TAGS.sourceType) === 'PROJECT';
}

/** What "Run again" pre-fills: the same project, entry point and inputs. */
export interface IProjectInputs {
  /** The project folder (Jupyter-root relative, or the run's absolute source). */
  path: string;
  entryPoint: string;
  parameters: Record<string, string>;
  envManager?: string;
  experimentId?: string;
}

/** The inputs of a project run, or null when it is not a local project run. */
export function projectInputs(run: IRun): IProjectInputs | null {
  if (!isProjectRun(run)) {
    return null;
  }
  const source = tagOf(run, PROJECT_TAGS.sourceName) ?? '';
  const path = tagOf(run, PROJECT_TAGS.path) ?? source;
  // A git URL or `repo#subdir` cannot be run again from the file browser.
  if (!path || path.includes('#') || URI.test(path)) {
    return null;
  }
  const parameters: Record<string, string> = {};
  for (const p of run.data.params ?? []) {
    parameters[p.key] = p.value;
  }
  return {
    path,
    entryPoint: tagOf(run, PROJECT_TAGS.entryPoint) ?? 'main',
    parameters,
    envManager: tagOf(run, PROJECT_TAGS.env),
    experimentId: run.info.experiment_id
  };
}
