import { describe, expect, it } from '@jest/globals';

import { CompareModel } from '../src/comparemodel';
import { LabtrackModel } from '../src/model';
import { RunMarks } from '../src/runmarks';
import { FakeAPI, run } from './fakeapi';

function memoryStorage(): Storage {
  const items = new Map<string, string>();
  return {
    getItem: (k: string) => items.get(k) ?? null,
    setItem: (k: string, v: string) => void items.set(k, v)
  } as unknown as Storage;
}

describe('RunMarks', () => {
  it('keeps pins and hides in storage, emitting on real changes', () => {
    const storage = memoryStorage();
    const marks = new RunMarks(storage);
    let emitted = 0;
    marks.changed.connect(() => {
      emitted++;
    });
    marks.setPinned(run('a'), true);
    marks.setPinned(run('a'), true);
    marks.setHidden(run('b'), true);
    expect(emitted).toBe(2);
    const again = new RunMarks(storage);
    expect(again.isPinned('a')).toBe(true);
    expect(again.isHidden('b')).toBe(true);
    expect(again.visible([run('a'), run('b')]).map(r => r.info.run_id)).toEqual(
      ['a']
    );
  });

  it('lists pinned runs of the listed experiments, latest copy seen', () => {
    const marks = new RunMarks(memoryStorage());
    marks.setPinned(run('a', { experimentId: '1' }), true);
    marks.setPinned(run('x', { experimentId: '2' }), true);
    marks.see([run('a', { experimentId: '1', status: 'FAILED' })]);
    const pinned = marks.pinnedRuns(['1']);
    expect(pinned.map(r => [r.info.run_id, r.info.status])).toEqual([
      ['a', 'FAILED']
    ]);
    marks.setPinned(run('a'), false);
    expect(marks.pinnedRuns(['1'])).toEqual([]);
  });

  it('survives broken storage', () => {
    const storage = memoryStorage();
    storage.setItem('labtrack:run-marks', '{oops');
    expect(new RunMarks(storage).isPinned('a')).toBe(false);
  });
});

describe('hidden runs in the compare chart', () => {
  it('are not fetched and keep the others’ colors', async () => {
    const api = new FakeAPI().on('getMetricSeries', async ids =>
      ids.map(id => ({
        run_id: id,
        key: 'loss',
        steps: [0],
        timestamps: [0],
        values: [1]
      }))
    );
    const model = new LabtrackModel({ api, marks: new RunMarks(null) });
    const compare = new CompareModel({ api, model });
    model.setSelectedRuns([run('a'), run('b'), run('c')]);
    model.marks.setHidden(run('b'), true);
    await compare.fetchCurves({ metric: 'loss', xMode: 'step', zoom: null });
    expect(api.callsOf('getMetricSeries')[0][0]).toEqual(['a', 'c']);
    expect(compare.curves.map(c => [c.run.info.run_id, c.index])).toEqual([
      ['a', 0],
      ['c', 2]
    ]);
    compare.dispose();
    model.dispose();
  });
});
