import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';

import {
  ChartGridModel,
  ChartLayouts,
  ILayoutStore,
  localLayoutStore
} from '../src/chartgridmodel';
import { metricHistoryAPI } from '../src/historyapi';
import { LabtrackModel } from '../src/model';
import { FakeAPI, apiError, run } from './fakeapi';

class MemoryStore implements ILayoutStore {
  layouts: ChartLayouts = {};
  load(): ChartLayouts {
    return JSON.parse(JSON.stringify(this.layouts));
  }
  save(layouts: ChartLayouts): void {
    this.layouts = JSON.parse(JSON.stringify(layouts));
  }
}

describe('ChartGridModel', () => {
  let api: FakeAPI;
  let model: LabtrackModel;
  let store: MemoryStore;
  let grid: ChartGridModel;
  const metrics = ['acc', 'loss', 'lr', 'f1', 'auc'];

  beforeEach(async () => {
    api = new FakeAPI()
      .on('countRuns', async () => ({ counts: {}, total: 0 }))
      .on('searchRunsPage', async () => ({ runs: [] }));
    model = new LabtrackModel({ api });
    await model.selectExperiment('7');
    store = new MemoryStore();
    grid = new ChartGridModel({ api, model, store });
  });

  afterEach(() => {
    grid.dispose();
    model.dispose();
  });

  it('starts with a chart for each of the first four metrics', () => {
    expect(grid.layout(metrics).map(c => c.metric)).toEqual([
      'acc',
      'loss',
      'lr',
      'f1'
    ]);
    expect(grid.isSaved).toBe(false);
  });

  it('keeps each chart’s own metric, per experiment, in the store', async () => {
    let emitted = 0;
    grid.layoutChanged.connect(() => {
      emitted++;
    });
    grid.setMetric(metrics, 'c1', 'auc');
    grid.removeChart(metrics, 'c0');
    grid.addChart(metrics, 'loss');
    expect(grid.layout(metrics)).toEqual([
      { id: 'c1', metric: 'auc' },
      { id: 'c2', metric: 'lr' },
      { id: 'c3', metric: 'f1' },
      { id: 'c4', metric: 'loss' }
    ]);
    expect(emitted).toBe(3);
    expect(Object.keys(store.layouts)).toEqual(['7']);
    // Another experiment has its own (default) layout.
    await model.selectExperiment('8');
    expect(grid.layout(metrics).map(c => c.id)).toEqual([
      'c0',
      'c1',
      'c2',
      'c3'
    ]);
    // A new model reads the kept layout back.
    await model.selectExperiment('7');
    const again = new ChartGridModel({ api, model, store });
    expect(again.layout(metrics).map(c => c.metric)).toEqual([
      'auc',
      'lr',
      'f1',
      'loss'
    ]);
    again.resetLayout();
    expect(again.isSaved).toBe(false);
    expect(store.layouts).toEqual({});
    again.dispose();
  });

  it('writes a metric’s full history as CSV, skipping runs without it', async () => {
    api.on('getMetricHistory', async (runId, key) => {
      if (runId === 'b') {
        throw apiError('no metric', 'RESOURCE_DOES_NOT_EXIST', 404);
      }
      return {
        run_id: runId,
        key,
        steps: [0, 1],
        timestamps: [5, 6],
        values: [0.5, 'Infinity']
      };
    });
    const text = await grid.metricCSV([run('a'), run('b')], 'loss');
    expect(text).toBe(
      'run_id,run_name,key,step,timestamp,value\r\n' +
        'a,run-a,loss,0,5,0.5\r\n' +
        'a,run-a,loss,1,6,Infinity\r\n'
    );
  });

  it('fails the CSV on other errors', async () => {
    api.on('getMetricHistory', async () => {
      throw apiError('boom');
    });
    await expect(grid.metricCSV([run('a')], 'loss')).rejects.toThrow('boom');
  });

  it('reads layouts from local storage, ignoring broken JSON', () => {
    const items = new Map<string, string>();
    const storage = {
      getItem: (k: string) => items.get(k) ?? null,
      setItem: (k: string, v: string) => void items.set(k, v)
    } as unknown as Storage;
    const local = localLayoutStore(storage);
    local.save({ '1': [{ id: 'c0', metric: 'loss' }] });
    expect(local.load()).toEqual({ '1': [{ id: 'c0', metric: 'loss' }] });
    items.set('labtrack:chart-layouts', '{not json');
    expect(local.load()).toEqual({});
  });
});

describe('metric history', () => {
  it('reads every page of metrics/get-history', async () => {
    const queries: string[] = [];
    const api = metricHistoryAPI(async (path, query) => {
      queries.push(`${path}?${query.toString()}`);
      return query.get('page_token')
        ? { metrics: [{ key: 'loss', value: 'NaN', step: 2, timestamp: 30 }] }
        : {
            metrics: [
              { key: 'loss', value: 1, step: 0, timestamp: 10 },
              { key: 'loss', value: 2, step: 1, timestamp: 20 }
            ],
            next_page_token: 'next'
          };
    });
    const series = await api.getMetricHistory('r1', 'loss');
    expect(series.steps).toEqual([0, 1, 2]);
    expect(series.values).toEqual([1, 2, 'NaN']);
    expect(queries).toEqual([
      'metrics/get-history?run_id=r1&metric_key=loss&max_results=100000',
      'metrics/get-history?run_id=r1&metric_key=loss&max_results=100000&page_token=next'
    ]);
  });
});
