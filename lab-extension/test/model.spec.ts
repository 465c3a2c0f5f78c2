import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';

import { LabtrackModel } from '../src/model';
import { ISearchRunsResponse } from '../src/protocol';
import { ModelChange } from '../src/tokens';
import { Deferred, FakeAPI, apiError, experiment, flush, run } from './fakeapi';

describe('LabtrackModel', () => {
  let api: FakeAPI;
  let model: LabtrackModel;
  let changes: ModelChange[];

  beforeEach(() => {
    api = new FakeAPI()
      .on('countRuns', async ids => ({
        counts: Object.fromEntries(ids.map(id => [id, 2])),
        total: 2 * ids.length
      }))
      .on('searchRunsPage', async ids => ({
        runs: ids.flatMap(id => [run(`${id}a`), run(`${id}b`)])
      }));
    model = new LabtrackModel({ api });
    changes = [];
    model.changed.connect((_, change) => {
      changes.push(change);
    });
  });

  afterEach(() => {
    model.dispose();
  });

  describe('run selection', () => {
    it('emits runSelection once per real change', () => {
      const a = run('a');
      model.setRunSelected(a, true);
      model.setRunSelected(a, true);
      expect(changes).toEqual(['runSelection']);
      expect(model.isRunSelected('a')).toBe(true);
      model.setRunSelected(a, false);
      expect(changes).toEqual(['runSelection', 'runSelection']);
      expect(model.selectedRuns).toEqual([]);
    });

    it('keeps pick order and replaces the selection at once', () => {
      model.setRunSelected(run('b'), true);
      model.setRunSelected(run('a'), true);
      expect(model.selectedRuns.map(r => r.info.run_id)).toEqual(['b', 'a']);
      model.setSelectedRuns([run('c')]);
      expect(model.selectedRuns.map(r => r.info.run_id)).toEqual(['c']);
      expect(changes).toEqual(['runSelection', 'runSelection', 'runSelection']);
    });
  });

  describe('views', () => {
    it('opens a run in the run view', () => {
      model.openRun('r1');
      expect(model.view).toBe('run');
      expect(model.detailRunId).toBe('r1');
      expect(changes).toEqual(['view']);
    });

    it('ignores setting the current view', () => {
      model.setView('runs');
      expect(changes).toEqual([]);
      model.setView('models');
      expect(changes).toEqual(['view']);
    });
  });

  describe('experiments', () => {
    it('is loading while the request is out, then sorted by name', async () => {
      const reply = new Deferred<{
        experiments: ReturnType<typeof experiment>[];
      }>();
      api.on('searchExperiments', () => reply.promise);
      const done = model.refreshExperiments();
      expect(model.experimentsState.loading).toBe(true);
      reply.resolve({
        experiments: [experiment('2', 'b'), experiment('1', 'a')]
      });
      await done;
      expect(model.experimentsState).toEqual({ loading: false, error: null });
      expect(model.experiments.map(e => e.name)).toEqual(['a', 'b']);
      expect(changes).toEqual(['experiments', 'experiments']);
    });

    it('sets error on failure and clears it with the next success', async () => {
      api.on('searchExperiments', () => Promise.reject(apiError('down')));
      await model.refreshExperiments();
      expect(model.experimentsState.loading).toBe(false);
      expect(model.experimentsState.error?.message).toBe('down');

      api.on('searchExperiments', async () => ({
        experiments: [experiment('1', 'a')]
      }));
      const done = model.refreshExperiments();
      // The old error stays visible while retrying.
      expect(model.experimentsState).toEqual({
        loading: true,
        error: expect.objectContaining({ message: 'down' })
      });
      await done;
      expect(model.experimentsState.error).toBeNull();
      expect(model.experiments).toHaveLength(1);
    });

    it('turns a plain rejection into a LabtrackAPIError', async () => {
      api.on('searchExperiments', () => Promise.reject(new Error('offline')));
      await model.refreshExperiments();
      expect(model.experimentsState.error?.errorCode).toBe('INTERNAL_ERROR');
      expect(model.experimentsState.error?.message).toBe('offline');
    });
  });

  describe('runs', () => {
    it('selecting an experiment emits selection, then fetches its runs', async () => {
      await model.selectExperiment('1');
      expect(changes.slice(0, 2)).toEqual(['selection', 'runs']);
      expect(model.selectedExperimentId).toBe('1');
      expect(model.runs.map(r => r.info.run_id)).toEqual(['1a', '1b']);
      expect(model.runsState).toEqual({ loading: false, error: null });
      await flush();
      expect(model.runsTotal).toBe(2);
      expect(api.callsOf('searchRunsPage')[0]).toEqual([
        ['1'],
        '',
        100,
        ['attributes.start_time DESC'],
        undefined
      ]);
    });

    it('selecting the same experiment again does nothing', async () => {
      await model.selectExperiment('1');
      const before = api.calls.length;
      changes.length = 0;
      await model.selectExperiment('1');
      expect(api.calls.length).toBe(before);
      expect(changes).toEqual([]);
    });

    it('adds and removes experiments with add', async () => {
      await model.selectExperiment('1');
      await model.selectExperiment('2', true);
      expect(model.experimentIds).toEqual(['1', '2']);
      expect(model.runs).toHaveLength(4);
      await model.selectExperiment('1', true);
      expect(model.experimentIds).toEqual(['2']);
    });

    it('drops the answer of an older selection', async () => {
      const slow = new Deferred<ISearchRunsResponse>();
      api.on('searchRunsPage', ids =>
        ids[0] === '1' ? slow.promise : Promise.resolve({ runs: [run('2a')] })
      );
      const first = model.selectExperiment('1');
      await model.selectExperiment('2');
      slow.resolve({ runs: [run('1a')] });
      await first;
      expect(model.runs.map(r => r.info.run_id)).toEqual(['2a']);
    });

    it('a failed search sets runsState.error; the next success clears it', async () => {
      api.on('searchRunsPage', () =>
        Promise.reject(apiError('bad filter', 'INVALID_PARAMETER_VALUE', 400))
      );
      await model.selectExperiment('1');
      expect(model.runs).toEqual([]);
      expect(model.runsState.error?.errorCode).toBe('INVALID_PARAMETER_VALUE');

      api.on('searchRunsPage', async () => ({ runs: [run('1a')] }));
      await model.refreshRuns();
      expect(model.runsState.error).toBeNull();
      expect(model.runs).toHaveLength(1);
    });

    it('trims the filter and searches with it', async () => {
      await model.selectExperiment('1');
      changes.length = 0;
      await model.setFilter('  metrics.loss < 1 ');
      expect(model.filter).toBe('metrics.loss < 1');
      expect(changes[0]).toBe('filter');
      const last = api.callsOf('searchRunsPage').pop();
      expect(last?.[1]).toBe('metrics.loss < 1');
      await model.setFilter('metrics.loss < 1');
      expect(changes.filter(c => c === 'filter')).toHaveLength(1);
    });

    it('pages through a big experiment up to maxRuns', async () => {
      model.maxRuns = 150;
      const sizes: number[] = [];
      api.on('searchRunsPage', async (_ids, _filter, size, _order, token) => {
        sizes.push(size);
        const offset = token ? Number(token) : 0;
        return {
          runs: Array.from({ length: size }, (_, i) => run(`r${offset + i}`)),
          next_page_token: String(offset + size)
        };
      });
      await model.selectExperiment('1');
      expect(sizes).toEqual([100, 50]);
      expect(model.runs).toHaveLength(150);
      expect(model.runsPaging).toBe(false);
    });

    it('clears runs when no experiment is selected', async () => {
      await model.selectExperiment('1');
      await model.selectExperiment(null);
      expect(model.runs).toEqual([]);
      expect(model.runsTotal).toBeNull();
      expect(model.selectedExperimentId).toBeNull();
    });
  });

  describe('live updates', () => {
    it('patches a changed run in place and emits runsChanged', async () => {
      await model.selectExperiment('1');
      const searches = api.callsOf('searchRunsPage').length;
      const feed = [
        { cursor: 5 },
        {
          cursor: 6,
          changes: [
            { seq: 6, time: 0, kind: 'run', experiment_id: '1', run_id: '1a' }
          ]
        }
      ];
      api
        .on('getChanges', async () => feed.shift() ?? { cursor: 6 })
        .on('getRun', async id => run(id, { status: 'FAILED' }));
      const changed = new Promise<ReadonlySet<string>>(resolve => {
        model.runsChanged.connect((_, ids) => resolve(ids));
      });
      model.pollInterval = 250;
      model.startLive();
      expect([...(await changed)]).toEqual(['1a']);
      expect(api.callsOf('getChanges')[0]).toEqual([null]);
      expect(api.callsOf('getChanges')[1]).toEqual([5]);
      const patched = model.runs.find(r => r.info.run_id === '1a');
      expect(patched?.info.status).toBe('FAILED');
      // Patched one by one: the list was not searched again.
      expect(api.callsOf('searchRunsPage').length).toBe(searches);
    });

    it('reads the list again when a new run appears in a listed experiment', async () => {
      await model.selectExperiment('1');
      const searches = api.callsOf('searchRunsPage').length;
      const feed = [
        { cursor: 1 },
        {
          cursor: 2,
          changes: [
            { seq: 2, time: 0, kind: 'run', experiment_id: '1', run_id: 'new' }
          ]
        }
      ];
      api.on('getChanges', async () => feed.shift() ?? { cursor: 2 });
      const changed = new Promise<ReadonlySet<string>>(resolve => {
        model.runsChanged.connect((_, ids) => resolve(ids));
      });
      model.pollInterval = 250;
      model.startLive();
      expect([...(await changed)]).toEqual(['new']);
      expect(api.callsOf('searchRunsPage').length).toBeGreaterThan(searches);
    });
  });

  describe('live updates with a filter', () => {
    it('a run that does not match the filter still gets its new status in the sidebar', async () => {
      api.on('searchExperiments', async () => ({
        experiments: [experiment('1', 'a')]
      }));
      await model.refreshExperiments();
      // The sidebar's recent runs: 1a is running.
      api.on('searchRunsPage', async (_ids, filter) =>
        filter === ''
          ? { runs: [run('1a', { status: 'RUNNING' }), run('1b')] }
          : { runs: [run('1b')] }
      );
      await model.refreshSidebar();
      await model.selectExperiment('1');
      await model.setFilter("attributes.run_name = 'run-1b'");
      expect(model.runs.map(r => r.info.run_id)).toEqual(['1b']);
      expect(model.recentRuns[0].info.status).toBe('RUNNING');
      const feed = [
        { cursor: 1 },
        {
          cursor: 2,
          changes: [
            { seq: 2, time: 0, kind: 'run', experiment_id: '1', run_id: '1a' }
          ]
        }
      ];
      api
        .on('getChanges', async () => feed.shift() ?? { cursor: 2 })
        .on('getRun', async id => run(id, { status: 'FINISHED' }));
      const changed = new Promise<ReadonlySet<string>>(resolve => {
        model.runsChanged.connect((_, ids) => resolve(ids));
      });
      model.pollInterval = 250;
      model.startLive();
      await changed;
      // Patched at once, not left RUNNING until the sidebar is re-read.
      expect(model.recentRuns[0].info.status).toBe('FINISHED');
      expect(model.runs.map(r => r.info.run_id)).toEqual(['1b']);
    });
  });

  describe('opening an experiment', () => {
    it('opens the remembered experiment, else the most recently active', async () => {
      const opened = new LabtrackModel({ api, openDefaultExperiment: true });
      const saved: string[] = [];
      opened.onExperimentSelected = id => saved.push(id);
      api.on('searchExperiments', async () => ({
        experiments: [
          { ...experiment('1', 'a'), last_update_time: 10 },
          { ...experiment('2', 'b'), last_update_time: 30 },
          { ...experiment('3', 'c'), last_update_time: 20 }
        ]
      }));
      expect(opened.defaultExperimentId()).toBeNull();
      await opened.refreshExperiments();
      await flush();
      expect(opened.selectedExperimentId).toBe('2');
      expect(saved).toEqual(['2']);
      opened.lastExperimentId = '3';
      expect(opened.defaultExperimentId()).toBe('3');
      opened.lastExperimentId = 'gone';
      expect(opened.defaultExperimentId()).toBe('2');
      // Only the first time: a later refresh keeps the user's choice.
      await opened.selectExperiment(null);
      await opened.refreshExperiments();
      expect(opened.selectedExperimentId).toBeNull();
      opened.dispose();
    });

    it('a refused filter reports the runs without it, not a stale total', async () => {
      await model.selectExperiment('1');
      await model.setFilter('metrics.loss < 1');
      await flush();
      expect(model.runsTotal).toBe(2);
      api
        .on('searchRunsPage', async () => {
          throw apiError('bad filter', 'INVALID_PARAMETER_VALUE', 400);
        })
        .on('countRuns', async (_ids, filter) => {
          if (filter) {
            throw apiError('bad filter', 'INVALID_PARAMETER_VALUE', 400);
          }
          return { counts: { '1': 31 }, total: 31 };
        });
      await model.setFilter('metrics.loss <<< 1');
      await flush();
      expect(model.runsState.error?.errorCode).toBe('INVALID_PARAMETER_VALUE');
      expect(model.runsTotal).toBeNull();
      expect(model.unfilteredTotal).toBe(31);
    });
  });

  describe('columns', () => {
    it('remembers columns per experiment and reports changes', () => {
      const saved: Record<string, string[]>[] = [];
      model.onColumnsChanged = columns => saved.push(columns);
      model.setColumns('1', ['metrics.loss']);
      expect(model.columnsFor('1')).toEqual(['metrics.loss']);
      model.setColumns('1', null);
      expect(model.columnsFor('1')).toBeNull();
      expect(saved).toEqual([{ '1': ['metrics.loss'] }, {}]);
      expect(changes).toEqual(['columns', 'columns']);
    });
  });

  describe('sidebar', () => {
    it('counts runs per experiment and keeps the recent ones', async () => {
      api.on('searchExperiments', async () => ({
        experiments: [experiment('1', 'a'), experiment('2', 'b')]
      }));
      await model.refreshExperiments();
      await model.refreshSidebar();
      expect(model.summaries.get('1')).toEqual({ count: 2 });
      expect(model.recentRuns.map(r => r.info.run_id)).toEqual([
        '1a',
        '1b',
        '2a',
        '2b'
      ]);
      expect(changes).toContain('sidebar');
    });
  });

  describe('nested runs', () => {
    const PARENT = 'mlflow.parentRunId';

    it('fetches the missing parent of a filtered child, for context', async () => {
      api.on('searchRunsPage', async (_ids, filter) => {
        if (filter === 'metrics.loss < 1') {
          return { runs: [run('c1', { tags: { [PARENT]: 'p' } })] };
        }
        if (filter === "attributes.run_id IN ('p')") {
          return { runs: [run('p')] };
        }
        throw new Error(`unexpected filter ${filter}`);
      });
      await model.selectExperiment('1');
      await model.setFilter('metrics.loss < 1');
      await flush();
      expect(model.runs.map(r => r.info.run_id)).toEqual(['c1']);
      expect(model.contextRuns.map(r => r.info.run_id)).toEqual(['p']);
      // The count stays the matches' count.
      expect(model.runsTotal).toBe(2);
    });

    it('with showChildrenOfMatches, fetches the children of matches', async () => {
      api.on('searchRunsPage', async (_ids, filter) => {
        if (filter === "params.lr = '1'") {
          return { runs: [run('p')] };
        }
        if (filter === "tags.`mlflow.parentRunId` IN ('p')") {
          return {
            runs: [
              run('c1', { tags: { [PARENT]: 'p' } }),
              run('c2', { tags: { [PARENT]: 'p' } })
            ]
          };
        }
        return { runs: [run('p'), run('other')] };
      });
      await model.selectExperiment('1');
      await model.setFilter("params.lr = '1'");
      expect(model.contextRuns).toEqual([]);
      await model.setShowChildrenOfMatches(true);
      expect(model.contextRuns.map(r => r.info.run_id)).toEqual(['c1', 'c2']);
      expect(model.showChildrenOfMatches).toBe(true);
    });

    it('a parent that cannot be found is asked for once', async () => {
      let parentQueries = 0;
      api.on('searchRunsPage', async (_ids, filter) => {
        if (filter.startsWith('attributes.run_id IN')) {
          parentQueries++;
          return { runs: [] };
        }
        return { runs: [run('c1', { tags: { [PARENT]: 'gone' } })] };
      });
      await model.selectExperiment('1');
      expect(parentQueries).toBe(1);
      expect(model.contextRuns).toEqual([]);
      expect(model.runs).toHaveLength(1);
    });
  });

  describe('mine / everyone', () => {
    it('narrows the search to my runs on a team service', async () => {
      api.on('whoAmI', async () => ({ user: "o'neil", team: true }));
      await model.loadIdentity();
      expect(model.me).toBe("o'neil");
      await model.selectExperiment('1');
      await model.setFilter('metrics.loss < 1');
      expect(model.mineOnly).toBe(false);
      expect(api.callsOf('searchRunsPage').at(-1)?.[1]).toBe(
        'metrics.loss < 1'
      );
      await model.setMineOnly(true);
      const mine = "metrics.loss < 1 AND tags.`mlflow.user` = 'o\\'neil'";
      expect(model.searchFilter).toBe(mine);
      expect(api.callsOf('searchRunsPage').at(-1)?.[1]).toBe(mine);
      expect(api.callsOf('countRuns').at(-1)?.[1]).toBe(mine);
      // The typed filter stays the user's own.
      expect(model.filter).toBe('metrics.loss < 1');
      await model.setFilter('');
      expect(api.callsOf('searchRunsPage').at(-1)?.[1]).toBe(
        "tags.`mlflow.user` = 'o\\'neil'"
      );
    });

    it('offers no choice off a team service or when whoami fails', async () => {
      api.on('whoAmI', async () => ({ user: 'someone', team: false }));
      await model.loadIdentity();
      expect(model.me).toBeNull();
      await model.setMineOnly(true);
      expect(model.mineOnly).toBe(false);
      expect(model.searchFilter).toBe('');
      const other = new LabtrackModel({ api: new FakeAPI() });
      await other.loadIdentity(); // no handler: the request fails
      expect(other.me).toBeNull();
      other.dispose();
    });
  });
});
