import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';

import { CompareModel, ICurvesChange } from '../src/comparemodel';
import { LabtrackModel } from '../src/model';
import { IMetricSeries } from '../src/protocol';
import { Deferred, FakeAPI, apiError, run } from './fakeapi';

function series(runId: string, key: string): IMetricSeries {
  return {
    run_id: runId,
    key,
    steps: [0, 1],
    timestamps: [1000, 2000],
    values: [2, 'Infinity'],
    mins: [1, 1],
    maxs: [3, 3]
  };
}

describe('CompareModel', () => {
  let api: FakeAPI;
  let model: LabtrackModel;
  let compare: CompareModel;
  let emitted: ICurvesChange[];

  beforeEach(() => {
    api = new FakeAPI().on('getMetricSeries', async (ids, key) =>
      ids.filter(id => id !== 'none').map(id => series(id, key))
    );
    model = new LabtrackModel({ api });
    compare = new CompareModel({ api, model, maxPoints: () => 250 });
    emitted = [];
    compare.curvesChanged.connect((_, change) => {
      emitted.push(change);
    });
  });

  afterEach(() => {
    compare.dispose();
    model.dispose();
  });

  it('compares the shared model’s selected runs', async () => {
    model.setSelectedRuns([run('a'), run('none'), run('b')]);
    await compare.fetchCurves({ metric: 'loss', xMode: 'step', zoom: null });
    expect(api.callsOf('getMetricSeries')).toEqual([
      [
        ['a', 'none', 'b'],
        'loss',
        { maxPoints: 250, x: 'step', xMin: undefined, xMax: undefined }
      ]
    ]);
    // Runs without the metric get no curve; indices keep run colors stable.
    expect(compare.curves.map(c => [c.run.info.run_id, c.index])).toEqual([
      ['a', 0],
      ['b', 2]
    ]);
    expect(compare.curves[0].ys).toEqual([2, Infinity]);
    expect(compare.curves[0].mins).toEqual([1, 1]);
    expect(emitted).toEqual([{ keepZoom: false }]);
  });

  it('uses timestamps on a time axis and passes the zoom range', async () => {
    model.setSelectedRuns([run('a')]);
    await compare.fetchCurves(
      { metric: 'loss', xMode: 'timestamp', zoom: { min: 1.5, max: 9.5 } },
      true
    );
    expect(compare.curves[0].xs).toEqual([1000, 2000]);
    expect(api.callsOf('getMetricSeries')[0][2]).toEqual({
      maxPoints: 250,
      x: 'timestamp',
      xMin: 1.5,
      xMax: 9.5
    });
    expect(emitted).toEqual([{ keepZoom: true }]);
  });

  it('clears the curves with no runs or no metric, without a request', async () => {
    model.setSelectedRuns([run('a')]);
    await compare.fetchCurves({ metric: 'loss', xMode: 'step', zoom: null });
    model.setSelectedRuns([]);
    await compare.fetchCurves({ metric: 'loss', xMode: 'step', zoom: null });
    expect(compare.curves).toEqual([]);
    expect(api.callsOf('getMetricSeries')).toHaveLength(1);
  });

  it('a failure keeps the last curves and sets error; a success clears it', async () => {
    model.setSelectedRuns([run('a')]);
    await compare.fetchCurves({ metric: 'loss', xMode: 'step', zoom: null });
    api.on('getMetricSeries', () => Promise.reject(apiError('timeout')));
    await compare.fetchCurves({ metric: 'acc', xMode: 'step', zoom: null });
    expect(compare.state.error?.message).toBe('timeout');
    expect(compare.curves).toHaveLength(1);
    expect(compare.query?.metric).toBe('acc');

    api.on('getMetricSeries', async (ids, key) => [series(ids[0], key)]);
    await compare.fetchCurves({ metric: 'acc', xMode: 'step', zoom: null });
    expect(compare.state.error).toBeNull();
  });

  it('drops answers to older fetches', async () => {
    model.setSelectedRuns([run('a')]);
    const slow = new Deferred<IMetricSeries[]>();
    api.on('getMetricSeries', (ids, key) =>
      key === 'loss' ? slow.promise : Promise.resolve([series('a', key)])
    );
    const first = compare.fetchCurves({
      metric: 'loss',
      xMode: 'step',
      zoom: null
    });
    await compare.fetchCurves({ metric: 'acc', xMode: 'step', zoom: null });
    slow.resolve([{ ...series('a', 'loss'), steps: [7, 8] }]);
    await first;
    expect(compare.curves[0].xs).toEqual([0, 1]);
    expect(emitted).toHaveLength(1);
  });

  it('reads each shown run’s history of a metric for the box plot', async () => {
    model.setSelectedRuns([run('a'), run('none'), run('h'), run('b')]);
    model.marks.setHidden(run('h'), true);
    const histories = await compare.fetchHistories('loss');
    // Hidden runs are not asked for; runs without the metric have no box.
    expect(api.callsOf('getMetricSeries')).toEqual([
      [['a', 'none', 'b'], 'loss', { maxPoints: 250, x: 'step' }]
    ]);
    expect(histories.map(h => [h.run.info.run_id, h.index, h.values])).toEqual([
      ['a', 0, [2, Infinity]],
      ['b', 3, [2, Infinity]]
    ]);
    expect(await compare.fetchHistories('')).toEqual([]);
  });
});
