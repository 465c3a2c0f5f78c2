import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';

import { LabtrackModel } from '../src/model';
import { IRun } from '../src/protocol';
import { cleanRunName, runActionsAPI, tagKeyProblem } from '../src/runactions';
import {
  composeFilter,
  hasQuickFilters,
  NO_QUICK_FILTERS,
  runViewType
} from '../src/runfilters';
import { FakeAPI, apiError, run } from './fakeapi';

function deleted(id: string): IRun {
  const r = run(id);
  return { ...r, info: { ...r.info, lifecycle_stage: 'deleted' } };
}

describe('run action requests', () => {
  it('posts MLflow’s routes and bodies', async () => {
    const posts: [string, object][] = [];
    const api = runActionsAPI(async (path, body) => {
      posts.push([path, body]);
      return {};
    });
    await api.renameRun('r1', 'new name');
    await api.deleteRun('r1');
    await api.restoreRun('r1');
    await api.deleteRunTag('r1', 'team');
    expect(posts).toEqual([
      ['runs/update', { run_id: 'r1', run_name: 'new name' }],
      ['runs/delete', { run_id: 'r1' }],
      ['runs/restore', { run_id: 'r1' }],
      ['runs/delete-tag', { run_id: 'r1', key: 'team' }]
    ]);
  });
});

describe('input checks', () => {
  it('refuses empty, long, odd and mlflow.* tag keys', () => {
    expect(tagKeyProblem('team')).toBeNull();
    expect(tagKeyProblem('data/set v1.2-b_c')).toBeNull();
    expect(tagKeyProblem('  ')).toBe('empty');
    expect(tagKeyProblem('k'.repeat(251))).toBe('too-long');
    expect(tagKeyProblem('a=b')).toBe('characters');
    expect(tagKeyProblem('mlflow.runName')).toBe('system');
  });

  it('trims run names and refuses an empty one', () => {
    expect(cleanRunName('  best run ')).toBe('best run');
    expect(cleanRunName('   ')).toBeNull();
  });
});

describe('quick filters', () => {
  const now = Date.UTC(2026, 11, 7, 12, 0, 0);

  it('joins the typed filter, status and start time with and', () => {
    expect(
      composeFilter(
        ' metrics.loss < 0.5 ',
        { status: 'FAILED', startedWithin: '24h', lifecycle: 'active' },
        now
      )
    ).toBe(
      "metrics.loss < 0.5 and attributes.status = 'FAILED' and " +
        `attributes.start_time >= ${now - 24 * 3600 * 1000}`
    );
  });

  it('adds nothing without quick filters', () => {
    expect(composeFilter('', NO_QUICK_FILTERS, now)).toBe('');
    expect(composeFilter('params.lr = "0.1"', NO_QUICK_FILTERS, now)).toBe(
      'params.lr = "0.1"'
    );
    expect(hasQuickFilters(NO_QUICK_FILTERS)).toBe(false);
    expect(
      composeFilter('', { ...NO_QUICK_FILTERS, startedWithin: '1h' }, now)
    ).toBe(`attributes.start_time >= ${now - 3600 * 1000}`);
  });

  it('maps the lifecycle choice to run_view_type', () => {
    expect(runViewType('active')).toBe('ACTIVE_ONLY');
    expect(runViewType('deleted')).toBe('DELETED_ONLY');
    expect(runViewType('all')).toBe('ALL');
  });
});

describe('LabtrackModel run actions and quick filters', () => {
  let api: FakeAPI;
  let model: LabtrackModel;

  beforeEach(async () => {
    api = new FakeAPI()
      .on('countRuns', async ids => ({ counts: { [ids[0]]: 2 }, total: 2 }))
      .on('searchRunsPage', async () => ({ runs: [run('a'), run('b')] }))
      .on('searchRunsPage', async () => ({ runs: [run('a'), run('b')] }));
    model = new LabtrackModel({ api });
    await model.selectExperiment('1');
  });

  afterEach(() => {
    model.dispose();
  });

  it('searches with the composed filter and run_view_type', async () => {
    await model.setFilter('metrics.loss < 1');
    await model.setQuickFilters({ status: 'RUNNING', lifecycle: 'deleted' });
    const last = api.callsOf('searchRunsPage').pop()!;
    expect(last[1]).toBe("metrics.loss < 1 and attributes.status = 'RUNNING'");
    expect(last[5]).toBe('DELETED_ONLY');
    expect(api.callsOf('countRuns').pop()).toEqual([
      ['1'],
      "metrics.loss < 1 and attributes.status = 'RUNNING'",
      'DELETED_ONLY'
    ]);
    expect(model.effectiveFilter).toBe(
      "metrics.loss < 1 and attributes.status = 'RUNNING'"
    );
    // The typed filter stays what the user typed.
    expect(model.filter).toBe('metrics.loss < 1');
  });

  it('does not search again when the quick filters do not change', async () => {
    const searches = api.callsOf('searchRunsPage').length;
    await model.setQuickFilters({ status: null });
    expect(api.callsOf('searchRunsPage').length).toBe(searches);
  });

  it('renames, re-reads the list and tells the views', async () => {
    api.on('renameRun', async () => undefined);
    const told: string[][] = [];
    model.runsChanged.connect((_, ids) => {
      told.push([...ids]);
    });
    const searches = api.callsOf('searchRunsPage').length;
    api.on('searchRunsPage', async () => ({ runs: [run('a'), run('b')] }));
    api.on('getChanges', async () => ({ cursor: 1 }));
    await model.renameRun('a', 'better');
    expect(api.callsOf('renameRun')).toEqual([['a', 'better']]);
    expect(api.callsOf('searchRunsPage').length).toBeGreaterThan(searches);
    expect(told).toEqual([['a']]);
  });

  it('deletes selected runs, drops them from the comparison', async () => {
    api.on('deleteRun', async () => undefined);
    model.setSelectedRuns([run('a'), run('b'), run('c')]);
    await model.deleteRuns(['a', 'b']);
    expect(api.callsOf('deleteRun')).toEqual([['a'], ['b']]);
    expect(model.selectedRuns.map(r => r.info.run_id)).toEqual(['c']);
  });

  it('tries every run and throws the first failure', async () => {
    api.on('deleteRun', async id => {
      if (id === 'b') {
        throw apiError('no such run', 'RESOURCE_DOES_NOT_EXIST', 404);
      }
    });
    model.setSelectedRuns([run('a'), run('b')]);
    await expect(model.deleteRuns(['a', 'b'])).rejects.toThrow('no such run');
    // The one that was deleted left the comparison; the other stays.
    expect(model.selectedRuns.map(r => r.info.run_id)).toEqual(['b']);
  });

  it('restores deleted runs', async () => {
    api.on('restoreRun', async () => undefined);
    model.setSelectedRuns([deleted('a')]);
    await model.restoreRuns(['a']);
    expect(api.callsOf('restoreRun')).toEqual([['a']]);
  });

  it('sets and removes tags', async () => {
    api.on('setRunTag', async () => undefined);
    api.on('deleteRunTag', async () => undefined);
    await model.setRunTag('a', 'team', 'vision');
    await model.deleteRunTag('a', 'team');
    expect(api.callsOf('setRunTag')).toEqual([['a', 'team', 'vision']]);
    expect(api.callsOf('deleteRunTag')).toEqual([['a', 'team']]);
  });
});
