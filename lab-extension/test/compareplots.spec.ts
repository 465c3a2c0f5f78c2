import { describe, expect, it } from '@jest/globals';

import {
  NO_GROUP,
  boxPlotSpec,
  contourData,
  contourSpec,
  groupedBoxData,
  historyBoxData,
  idwGrid,
  isNumericField,
  isolines,
  wantsLogAxis
} from '../src/compareplots';
import { seriesColor } from '../src/dom';
import { run } from './fakeapi';

const THEME = { text: '#000000', background: '#ffffff' };

function plotRuns(
  specs: [string, Record<string, string>, Record<string, number>][]
) {
  return specs.map(([id, params, metrics], index) => ({
    run: run(id, { params, metrics }),
    index
  }));
}

describe('box plot data', () => {
  const runs = plotRuns([
    ['a', { lr: '0.1', opt: 'adam' }, { acc: 0.9 }],
    ['b', { lr: '0.01', opt: 'sgd' }, { acc: 0.7 }],
    ['c', { lr: '0.1', opt: 'adam' }, { acc: 0.8 }],
    ['d', { opt: 'adam' }, { acc: 0.6 }],
    ['e', { lr: '1', opt: 'sgd' }, {}]
  ]);

  it('groups a metric by a param, numbers in numeric order, unset last', () => {
    const data = groupedBoxData(runs, 'metrics.acc', 'params.lr');
    // '1' is not plotted (run e has no acc); '0.01' < '0.1' numerically.
    expect(data.groups).toEqual(['0.01', '0.1', NO_GROUP]);
    expect(data.missing).toEqual(['run-e']);
    expect(data.points.map(p => [p.run, p.group, p.value, p.color])).toEqual([
      ['run-a', '0.1', 0.9, seriesColor(0)],
      ['run-b', '0.01', 0.7, seriesColor(1)],
      ['run-c', '0.1', 0.8, seriesColor(2)],
      ['run-d', NO_GROUP, 0.6, seriesColor(3)]
    ]);
  });

  it('plots a numeric param grouped by a text param', () => {
    const data = groupedBoxData(runs, 'params.lr', 'params.opt');
    expect(data.groups).toEqual(['adam', 'sgd']);
    expect(data.missing).toEqual(['run-d']);
    expect(
      data.points.filter(p => p.group === 'sgd').map(p => p.value)
    ).toEqual([0.01, 1]);
  });

  it('makes one box per run over its history, keeping run colors', () => {
    const [a, b, c] = runs;
    const data = historyBoxData([
      { ...a, values: [1, 2, 3, NaN] },
      { ...b, values: [] },
      { ...c, values: [5] }
    ]);
    expect(data.groups).toEqual(['run-a', 'run-c']);
    expect(data.missing).toEqual(['run-b']);
    expect(data.points.filter(p => p.group === 'run-a')).toHaveLength(3);
    expect(data.points.find(p => p.group === 'run-c')!.color).toBe(
      seriesColor(2)
    );
    const spec = boxPlotSpec(
      data,
      { value: 'loss', group: 'Run', run: 'Run' },
      true,
      THEME
    );
    const layers = spec.layer as { encoding: Record<string, any> }[];
    // The boxes take the runs' colors, in group order.
    expect(layers[0].encoding.color.scale.range).toEqual([
      seriesColor(0),
      seriesColor(2)
    ]);
    // Hover names the run.
    expect(layers[1].encoding.tooltip[0]).toMatchObject({
      field: 'run',
      title: 'Run'
    });
  });

  it('tells numeric fields from text ones', () => {
    const list = runs.map(r => r.run);
    expect(isNumericField(list, 'params.lr')).toBe(true);
    expect(isNumericField(list, 'params.opt')).toBe(false);
    expect(isNumericField(list, 'params.none')).toBe(false);
  });
});

describe('contour data', () => {
  const grid = (): ReturnType<typeof plotRuns> =>
    plotRuns([
      ['a', { lr: '0.001', depth: '2', opt: 'adam' }, { acc: 0.5 }],
      ['b', { lr: '0.01', depth: '2', opt: 'adam' }, { acc: 0.6 }],
      ['c', { lr: '0.1', depth: '2', opt: 'sgd' }, { acc: 0.7 }],
      ['d', { lr: '0.001', depth: '8', opt: 'sgd' }, { acc: 0.6 }],
      ['e', { lr: '0.01', depth: '8', opt: 'adam' }, { acc: 0.8 }],
      ['f', { lr: '0.1', depth: '8', opt: 'adam' }, { acc: 0.9 }],
      ['g', { depth: '4' }, { acc: 0.1 }]
    ]);

  it('interpolates a grid through the runs and draws isolines', () => {
    const result = contourData(
      grid(),
      'params.lr',
      'params.depth',
      'metrics.acc'
    );
    expect(result.ok).toBe(true);
    if (!result.ok) {
      return;
    }
    const c = result.contour;
    expect(c.missing).toEqual(['run-g']);
    expect(c.points.map(p => p.color)).toEqual(
      [0, 1, 2, 3, 4, 5].map(seriesColor)
    );
    // lr spans two decades: a log axis; depth does not.
    expect([c.logX, c.logY]).toEqual([true, false]);
    // Corners of the grid are runs: the grid equals their values there.
    const last = c.grid.z.length - 1;
    expect(c.grid.z[0][0]).toBeCloseTo(0.5);
    expect(c.grid.z[last][last]).toBeCloseTo(0.9);
    expect(c.grid.xs[0]).toBeCloseTo(0.001);
    expect(c.grid.xs[c.grid.xs.length - 1]).toBeCloseTo(0.1);
    // Values stay within the runs' range; levels lie strictly inside it.
    const flat = c.grid.z.flat();
    expect(Math.min(...flat)).toBeGreaterThanOrEqual(0.5 - 1e-9);
    expect(Math.max(...flat)).toBeLessThanOrEqual(0.9 + 1e-9);
    expect(c.levels.every(l => l > 0.5 && l < 0.9)).toBe(true);
    expect(c.segments.length).toBeGreaterThan(10);
    const spec = contourSpec(c, { x: 'lr', y: 'depth', z: 'acc', run: 'Run' });
    const layers = spec.layer as { encoding: Record<string, any> }[];
    expect(layers[0].encoding.x.scale.type).toBe('log');
    expect(layers[2].encoding.tooltip.map((t: any) => t.title)).toEqual([
      'Run',
      'lr',
      'depth',
      'acc'
    ]);
  });

  it('says why when params are text, the same, flat or too few', () => {
    const runs = grid();
    expect(
      contourData(runs, 'params.opt', 'params.depth', 'metrics.acc')
    ).toEqual({
      ok: false,
      problem: {
        kind: 'not-numeric',
        field: 'params.opt',
        examples: ['adam', 'sgd']
      },
      missing: []
    });
    expect(
      contourData(runs, 'params.lr', 'params.lr', 'metrics.acc')
    ).toMatchObject({ ok: false, problem: { kind: 'same-axis' } });
    // Two distinct positions (repeats are one position).
    const few = plotRuns([
      ['a', { x: '1', y: '1' }, { m: 1 }],
      ['b', { x: '1', y: '1' }, { m: 2 }],
      ['c', { x: '2', y: '3' }, { m: 3 }],
      ['d', { x: '2' }, { m: 3 }]
    ]);
    expect(contourData(few, 'params.x', 'params.y', 'metrics.m')).toEqual({
      ok: false,
      problem: { kind: 'too-few', distinct: 2 },
      missing: ['run-d']
    });
    const flat = plotRuns([
      ['a', { x: '1', y: '1' }, { m: 1 }],
      ['b', { x: '2', y: '1' }, { m: 2 }],
      ['c', { x: '3', y: '1' }, { m: 3 }]
    ]);
    expect(
      contourData(flat, 'params.x', 'params.y', 'metrics.m')
    ).toMatchObject({
      ok: false,
      problem: { kind: 'flat-axis', field: 'params.y' }
    });
  });

  it('finds isolines where the field crosses a level', () => {
    // z = x on a 3 x 3 grid: the 0.5 isoline is the vertical x = 0.5.
    const g = idwGrid(
      [
        { x: 0, y: 0, z: 0 },
        { x: 1, y: 0, z: 1 },
        { x: 0, y: 1, z: 0 },
        { x: 1, y: 1, z: 1 }
      ],
      2
    );
    const segments = isolines(g, [0.5]);
    expect(segments).toEqual([{ x: 0.5, y: 0, x2: 0.5, y2: 1, level: 0.5 }]);
    expect(wantsLogAxis([0.001, 0.1])).toBe(true);
    expect(wantsLogAxis([0, 1, 1000])).toBe(false);
  });
});
