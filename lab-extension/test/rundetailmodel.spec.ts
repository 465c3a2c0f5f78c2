import { beforeEach, describe, expect, it } from '@jest/globals';

import { ChartLayouts, ILayoutStore } from '../src/chartgridmodel';
import { IMetricSeries, IRun } from '../src/protocol';
import {
  MAX_CHARTS,
  NOTE_TAG,
  RunDetailChange,
  RunDetailModel
} from '../src/rundetailmodel';
import { Deferred, FakeAPI, apiError, flush, run } from './fakeapi';

function series(runId: string, key: string): IMetricSeries {
  return {
    run_id: runId,
    key,
    steps: [0, 1, 2],
    timestamps: [10, 20, 30],
    values: [1, 'NaN', 0.5]
  };
}

describe('RunDetailModel', () => {
  let api: FakeAPI;
  let detail: RunDetailModel;
  let changes: RunDetailChange[];
  let layouts: ChartLayouts;
  let runs: Map<string, IRun>;

  beforeEach(() => {
    runs = new Map([
      ['r1', run('r1', { metrics: { loss: 0.5, acc: 0.9 } })],
      ['r2', run('r2')]
    ]);
    api = new FakeAPI()
      .on('getRun', async id => {
        const found = runs.get(id);
        if (!found) {
          throw apiError(`Run ${id} not found`, 'RESOURCE_DOES_NOT_EXIST', 404);
        }
        return found;
      })
      .on('listRunArtifacts', async () => [])
      .on('getMetricSeries', async (ids, key) => [series(ids[0], key)]);
    layouts = {};
    const store: ILayoutStore = {
      load: () => JSON.parse(JSON.stringify(layouts)),
      save: next => {
        layouts = JSON.parse(JSON.stringify(next));
      }
    };
    detail = new RunDetailModel({ api, layoutStore: store });
    changes = [];
    detail.changed.connect((_, change) => {
      changes.push(change);
    });
  });

  it('loads a run: loading, then the run and its artifacts', async () => {
    const done = detail.load('r1');
    expect(detail.state.loading).toBe(true);
    expect(detail.run).toBeNull();
    await done;
    await flush();
    expect(detail.state).toEqual({ loading: false, error: null });
    expect(detail.run?.info.run_id).toBe('r1');
    expect(changes.slice(0, 2)).toEqual(['run', 'run']);
    expect(changes).toContain('artifacts');
    expect(api.callsOf('listRunArtifacts')).toEqual([['r1', '']]);
    // Charts are the grid's (it fetches them): none read with the run.
    expect(api.callsOf('getMetricSeries')).toEqual([]);
  });

  it('keeps the run page chart layout per experiment, apart from compare', async () => {
    const metrics = Array.from({ length: 10 }, (_, i) => `m${i}`);
    await detail.load('r1');
    // Up to MAX_CHARTS charts before the user arranges them.
    expect(detail.grid.layout(metrics)).toHaveLength(MAX_CHARTS);
    detail.grid.setMetric(metrics, 'c0', 'm9');
    expect(Object.keys(layouts)).toEqual(['run:1']);
    // Another run of the experiment shows the same arrangement.
    runs.set('r3', run('r3', { experimentId: '1' }));
    await detail.load('r3');
    expect(detail.grid.layout(metrics)[0].metric).toBe('m9');
    // A run of another experiment has its own.
    runs.set('r4', run('r4', { experimentId: '2' }));
    await detail.load('r4');
    expect(detail.grid.layout(metrics)[0].metric).toBe('m0');
    expect(detail.grid.isSaved).toBe(false);
  });

  it('loading the shown run again does not fetch it again', async () => {
    await detail.load('r1');
    const before = api.callsOf('getRun').length;
    await detail.load('r1');
    expect(api.callsOf('getRun').length).toBe(before);
  });

  it('a failed load sets error; a later success clears it', async () => {
    await detail.load('missing');
    expect(detail.run).toBeNull();
    expect(detail.state.error?.errorCode).toBe('RESOURCE_DOES_NOT_EXIST');
    expect(changes).toEqual(['run', 'run']);

    runs.set('missing', run('missing'));
    await detail.refresh();
    expect(detail.state.error).toBeNull();
    expect(detail.run?.info.run_id).toBe('missing');
  });

  it('refresh re-reads the run as a live change; a failure keeps the run', async () => {
    await detail.load('r1');
    await flush(); // the run's relatives and logged models are read
    changes.length = 0;
    runs.set('r1', run('r1', { status: 'FAILED', metrics: { loss: 0.1 } }));
    await detail.refresh();
    expect(changes).toEqual(['live']);
    expect(detail.run?.info.status).toBe('FAILED');
    // The folder listing is left alone by a live refresh.
    expect(api.callsOf('listRunArtifacts')).toHaveLength(1);

    api.on('getRun', () => Promise.reject(apiError('server gone')));
    await detail.refresh();
    expect(detail.run?.info.status).toBe('FAILED');
    expect(detail.state.error?.message).toBe('server gone');
  });

  it('drops the answer for a run that is no longer shown', async () => {
    const slow = new Deferred<IRun>();
    api.on('getRun', id =>
      id === 'r1' ? slow.promise : Promise.resolve(run(id))
    );
    const first = detail.load('r1');
    await detail.load('r2');
    slow.resolve(run('r1'));
    await first;
    expect(detail.runId).toBe('r2');
    expect(detail.run?.info.run_id).toBe('r2');
  });

  it('load(null) shows no run', async () => {
    await detail.load('r1');
    await detail.load(null);
    expect(detail.run).toBeNull();
    expect(detail.runId).toBeNull();
    expect(changes[changes.length - 1]).toBe('run');
  });

  it('saves notes as the note tag, then reads the run again', async () => {
    await detail.load('r1');
    await flush(); // the run's relatives and logged models are read
    changes.length = 0;
    api.on('setRunTag', async (id, key, value) => {
      runs.set(id, run(id, { tags: { [key]: value } }));
    });
    await detail.saveNote('# Hello');
    expect(api.callsOf('setRunTag')).toEqual([['r1', NOTE_TAG, '# Hello']]);
    expect(detail.note).toBe('# Hello');
    expect(changes).toEqual(['notes']);
  });

  it('a failed note save rejects and changes nothing', async () => {
    await detail.load('r1');
    await flush(); // the run's relatives and logged models are read
    changes.length = 0;
    api.on('setRunTag', () => Promise.reject(apiError('read only')));
    await expect(detail.saveNote('x')).rejects.toThrow('read only');
    expect(detail.note).toBe('');
    expect(changes).toEqual([]);
  });

  it('lists a folder, folders first, and knows a model folder', async () => {
    await detail.load('r1');
    api.on('listRunArtifacts', async (_id, path) => [
      { path: `${path}/model.pkl`, is_dir: false, file_size: 10 },
      { path: `${path}/MLmodel`, is_dir: false, file_size: 1 },
      { path: `${path}/code`, is_dir: true }
    ]);
    const done = detail.openDir('model');
    expect(detail.filesState.loading).toBe(true);
    expect(detail.artifactDir).toBe('model');
    await done;
    expect(detail.files.map(f => f.path)).toEqual([
      'model/code',
      'model/MLmodel',
      'model/model.pkl'
    ]);
    expect(detail.isModelFolder).toBe(true);
  });

  it('a failed listing sets filesState.error', async () => {
    await detail.load('r1');
    api.on('listRunArtifacts', () => Promise.reject(apiError('no store')));
    await detail.openDir('');
    expect(detail.files).toEqual([]);
    expect(detail.filesState.error?.message).toBe('no store');
  });

  it('shows the last previewed file, whatever order downloads finish in', async () => {
    await detail.load('r1');
    const slow = new Deferred<Blob>();
    api.on('downloadArtifact', (_run, path) =>
      path === 'a.txt' ? slow.promise : Promise.resolve(new Blob(['b']))
    );
    const first = detail.showPreview({ path: 'a.txt', is_dir: false });
    expect(detail.preview?.loading).toBe(true);
    await detail.showPreview({ path: 'b.txt', is_dir: false });
    slow.resolve(new Blob(['a']));
    await first;
    expect(detail.preview?.file.path).toBe('b.txt');
    expect(await detail.preview?.blob?.text()).toBe('b');
  });

  it('a failed download sets the preview error', async () => {
    await detail.load('r1');
    api.on('downloadArtifact', () =>
      Promise.reject(apiError('gone', 'X', 404))
    );
    await detail.showPreview({ path: 'a.txt', is_dir: false });
    expect(detail.preview?.loading).toBe(false);
    expect(detail.preview?.error?.message).toBe('gone');
  });

  it('registers a folder of the shown run', async () => {
    await detail.load('r1');
    api.on('registerModel', async (name, r, path) => ({
      name,
      version: '3',
      source: `${r.info.artifact_uri}/${path}`
    }));
    const version = await detail.register('clf', 'model');
    expect(version.version).toBe('3');
    expect(api.callsOf('registerModel')[0][0]).toBe('clf');
    expect(api.callsOf('registerModel')[0][2]).toBe('model');
  });

  it('knows the parent run and the child runs (nested runs)', async () => {
    runs.set('c1', run('c1', { tags: { 'mlflow.parentRunId': 'r1' } }));
    api.on('searchRunsPage', async (ids, filter) => {
      expect(ids).toEqual(['1']);
      return filter === "tags.`mlflow.parentRunId` = 'r1'"
        ? { runs: [runs.get('c1')!] }
        : { runs: [] };
    });
    await detail.load('r1');
    await flush();
    expect(detail.parentRunId).toBeNull();
    expect(detail.childRuns.map(r => r.info.run_id)).toEqual(['c1']);
    expect(changes).toContain('relatives');
    await detail.load('c1');
    await flush();
    expect(detail.parentRunId).toBe('r1');
    expect(detail.parentRun?.info.run_id).toBe('r1');
    expect(detail.childRuns).toEqual([]);
  });

  it("lists the run's logged models with their MLmodel, example and requirements", async () => {
    const model = {
      info: {
        model_id: 'm-1',
        experiment_id: '1',
        name: 'clf',
        source_run_id: 'r1'
      }
    };
    const files: Record<string, string> = {
      MLmodel:
        'flavors:\n  sklearn:\n    x: y\nsaved_input_example_info:\n  artifact_path: input_example.json\nsignature:\n  inputs: \'[{"type": "double", "name": "a"}]\'\n',
      'input_example.json': '{"a": [1.5]}'
    };
    api
      .on('searchLoggedModels', async (ids, filter) => {
        expect(ids).toEqual(['1']);
        expect(filter).toBe("source_run_id = 'r1'");
        return [model];
      })
      .on('downloadModelFile', async (_m, path) => {
        if (!(path in files)) {
          throw apiError('missing', 'RESOURCE_DOES_NOT_EXIST', 404);
        }
        return new Blob([files[path]]);
      })
      .on('registerLoggedModel', async name => ({ name, version: '3' }));
    await detail.load('r1');
    for (let i = 0; i < 5; i++) {
      await flush();
    }
    expect(detail.loggedModels).toHaveLength(1);
    const entry = detail.loggedModels[0];
    expect(entry.summary?.flavors).toEqual(['sklearn']);
    expect(entry.summary?.inputs).toEqual([
      { name: 'a', type: 'double', required: true }
    ]);
    expect(entry.inputExample).toBe('{"a": [1.5]}');
    // No requirements.txt: shown as none, not as an error.
    expect(entry.requirements).toBeNull();
    expect(entry.error).toBeNull();
    expect(changes).toContain('models');
    const version = await detail.registerLoggedModel('prod', model);
    expect(version.version).toBe('3');
    expect(api.callsOf('registerLoggedModel')).toEqual([['prod', model]]);
  });
});
