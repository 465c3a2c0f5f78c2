/**
 * Run actions from the UI: rename, delete, restore, and tag edits, over
 * MLflow's REST routes (`runs/update`, `runs/delete`, `runs/restore`,
 * `runs/set-tag`, `runs/delete-tag`). The checks here run before a request,
 * so a bad key is explained next to the field instead of as a server error.
 */

import { ILabtrackAPI } from './protocol';

/** POST a JSON body to an MLflow route (relative to `api/2.0/mlflow/`). */
export type PostMlflow = (path: string, body: object) => Promise<unknown>;

/** The run-action half of `ILabtrackAPI`, over one POST function. */
export function runActionsAPI(
  post: PostMlflow
): Pick<
  ILabtrackAPI,
  'renameRun' | 'deleteRun' | 'restoreRun' | 'deleteRunTag'
> {
  return {
    renameRun: async (runId, name) => {
      await post('runs/update', { run_id: runId, run_name: name });
    },
    deleteRun: async runId => {
      await post('runs/delete', { run_id: runId });
    },
    restoreRun: async runId => {
      await post('runs/restore', { run_id: runId });
    },
    deleteRunTag: async (runId, key) => {
      await post('runs/delete-tag', { run_id: runId, key });
    }
  };
}

/** MLflow's limit on tag keys. */
export const MAX_TAG_KEY_LENGTH = 250;

/** Why a tag key is refused (a message id), or null when it is fine. */
export type TagKeyProblem = 'empty' | 'too-long' | 'characters' | 'system';

/**
 * Check a tag key as MLflow does (letters, digits, `_ - . / ` and space, at
 * most 250 characters). `mlflow.*` keys belong to MLflow and the tools that
 * write them (run name, parent, source): the UI does not edit them.
 */
export function tagKeyProblem(key: string): TagKeyProblem | null {
  if (key.trim() === '') {
    return 'empty';
  }
  if (key.length > MAX_TAG_KEY_LENGTH) {
    return 'too-long';
  }
  if (!/^[\w\-./ ]+$/.test(key)) {
    return 'characters';
  }
  if (isSystemTag(key)) {
    return 'system';
  }
  return null;
}

/** Tags MLflow and labtrack set themselves (`mlflow.*`). */
export function isSystemTag(key: string): boolean {
  return key.startsWith('mlflow.');
}

/** A run name as it will be saved (trimmed), or null when empty. */
export function cleanRunName(name: string): string | null {
  const trimmed = name.trim();
  return trimmed === '' ? null : trimmed;
}
