/**
 * The runs table's quick filters (status, start time, lifecycle), written in
 * MLflow's search language and joined to the typed filter with `and`, so the
 * server does the filtering and "copy as code" gives the same runs.
 * Pure functions, tested in `test/runfilters.spec.ts`.
 */

import { LabtrackAPIError, RunStatus, RunViewType } from './protocol';
import type { ILoadState } from './tokens';

/**
 * The error shown next to a filter box (bad search syntax), or null. Here, not
 * in the dashboard, so the sidebar does not pull the dashboard's code in at
 * JupyterLab's start.
 */
export function filterError(state: ILoadState): LabtrackAPIError | null {
  const error = state.error;
  return error && error.errorCode === 'INVALID_PARAMETER_VALUE' ? error : null;
}

/** The statuses offered (SCHEDULED is rare and stays under "all"). */
export const STATUS_CHOICES: readonly RunStatus[] = [
  'RUNNING',
  'FINISHED',
  'FAILED',
  'KILLED'
];

/** "Started within": the last hour, day, week, 30 days, or any time. */
export type StartedWithin = 'all' | '1h' | '24h' | '7d' | '30d';

export const STARTED_WITHIN_MS: Record<
  Exclude<StartedWithin, 'all'>,
  number
> = {
  '1h': 60 * 60 * 1000,
  '24h': 24 * 60 * 60 * 1000,
  '7d': 7 * 24 * 60 * 60 * 1000,
  '30d': 30 * 24 * 60 * 60 * 1000
};

/** Which runs by lifecycle stage: active (default), deleted, or both. */
export type Lifecycle = 'active' | 'deleted' | 'all';

export interface IQuickFilters {
  /** One status, or null for any. */
  readonly status: RunStatus | null;
  readonly startedWithin: StartedWithin;
  readonly lifecycle: Lifecycle;
}

export const NO_QUICK_FILTERS: IQuickFilters = Object.freeze({
  status: null,
  startedWithin: 'all',
  lifecycle: 'active'
});

/** True when any quick filter narrows (or widens) the list. */
export function hasQuickFilters(quick: IQuickFilters): boolean {
  return (
    quick.status !== null ||
    quick.startedWithin !== 'all' ||
    quick.lifecycle !== 'active'
  );
}

/** MLflow's `run_view_type` for a lifecycle choice. */
export function runViewType(lifecycle: Lifecycle): RunViewType {
  switch (lifecycle) {
    case 'deleted':
      return 'DELETED_ONLY';
    case 'all':
      return 'ALL';
    default:
      return 'ACTIVE_ONLY';
  }
}

/**
 * The filter sent to the server: the typed one and the quick filters,
 * joined with `and` (MLflow's only connective). `now` is the reference
 * time of "started within" (ms since the epoch).
 */
export function composeFilter(
  typed: string,
  quick: IQuickFilters,
  now: number
): string {
  const parts: string[] = [];
  const text = typed.trim();
  if (text) {
    parts.push(text);
  }
  if (quick.status) {
    parts.push(`attributes.status = '${quick.status}'`);
  }
  if (quick.startedWithin !== 'all') {
    const since = Math.floor(now - STARTED_WITHIN_MS[quick.startedWithin]);
    parts.push(`attributes.start_time >= ${since}`);
  }
  return parts.join(' and ');
}
