import { describe, expect, it } from '@jest/globals';

import { IRun } from '../src/protocol';
import {
  PARENT_TAG,
  buildRunTree,
  flattenTree,
  missingParentIds,
  quoteFilterValue
} from '../src/runtree';
import { run } from './fakeapi';

function child(id: string, parent: string, loss = 0): IRun {
  return run(id, { tags: { [PARENT_TAG]: parent }, metrics: { loss } });
}

const ids = (rows: { run: IRun }[]) => rows.map(r => r.run.info.run_id);

describe('run tree', () => {
  // Newest first, as the server lists them: the parent comes last.
  const runs = [
    child('c2', 'p', 0.2),
    child('c1', 'p', 0.1),
    child('g1', 'c1', 0.05),
    run('solo', { metrics: { loss: 0.5 } }),
    run('p', { metrics: { loss: 0.3 } })
  ];

  it('puts children under their parent, collapsed by default', () => {
    const forest = buildRunTree(runs);
    expect(forest.map(n => n.run.info.run_id)).toEqual(['solo', 'p']);
    const rows = flattenTree(forest, new Map(), false);
    expect(ids(rows)).toEqual(['solo', 'p']);
    const p = rows[1];
    expect(p.childCount).toBe(2);
    expect(p.expanded).toBe(false);
    expect(p.level).toBe(1);
  });

  it('shows expanded children one level deeper, with ARIA positions', () => {
    const forest = buildRunTree(runs);
    const rows = flattenTree(
      forest,
      new Map([
        ['p', true],
        ['c1', true]
      ]),
      false
    );
    expect(ids(rows)).toEqual(['solo', 'p', 'c2', 'c1', 'g1']);
    expect(rows.map(r => r.level)).toEqual([1, 1, 2, 2, 3]);
    expect(rows[2].parentId).toBe('p');
    expect(rows[4].parentId).toBe('c1');
    expect([rows[2].posInSet, rows[2].setSize]).toEqual([1, 2]);
    expect([rows[3].posInSet, rows[3].setSize]).toEqual([2, 2]);
  });

  it('sorts among siblings, never tearing a child from its parent', () => {
    const byLoss = (a: IRun, b: IRun) =>
      (a.data.metrics?.[0]?.value as number) -
      (b.data.metrics?.[0]?.value as number);
    const forest = buildRunTree(runs, { compare: byLoss });
    const rows = flattenTree(forest, new Map([['p', true]]), false);
    // p (0.3) before solo (0.5); its children by loss: c1 (0.1), c2 (0.2).
    expect(ids(rows)).toEqual(['p', 'c1', 'c2', 'solo']);
  });

  it('a filtered child shows under its (context) parent, expanded', () => {
    // The filter matched only c1; p was fetched for context.
    const forest = buildRunTree([runs[1]], { context: [runs[4]] });
    expect(forest).toHaveLength(1);
    const rows = flattenTree(forest, new Map(), true);
    expect(ids(rows)).toEqual(['p', 'c1']);
    expect(rows.map(r => r.matched)).toEqual([false, true]);
    expect(rows[0].expanded).toBe(true);
  });

  it('with a filter, a matching parent with matching children opens', () => {
    const forest = buildRunTree([runs[4], runs[0]]);
    expect(ids(flattenTree(forest, new Map(), true))).toEqual(['p', 'c2']);
    expect(ids(flattenTree(forest, new Map(), false))).toEqual(['p']);
    // The user's choice wins.
    expect(ids(flattenTree(forest, new Map([['p', false]]), true))).toEqual([
      'p'
    ]);
  });

  it('children of matches (context) show under the matching parent', () => {
    const forest = buildRunTree([runs[4]], { context: [runs[0], runs[1]] });
    const rows = flattenTree(forest, new Map(), true);
    expect(ids(rows)).toEqual(['p', 'c2', 'c1']);
    expect(rows.map(r => r.matched)).toEqual([true, false, false]);
  });

  it('an orphan (parent not listed) is a top-level run', () => {
    const forest = buildRunTree([child('x', 'gone')]);
    expect(forest.map(n => n.run.info.run_id)).toEqual(['x']);
  });

  it('cuts a cycle instead of losing or repeating runs', () => {
    const forest = buildRunTree([child('a', 'b'), child('b', 'a')]);
    const rows = flattenTree(
      forest,
      new Map([
        ['a', true],
        ['b', true]
      ]),
      false
    );
    expect(ids(rows).sort()).toEqual(['a', 'b']);
  });

  it('lists the parents to fetch', () => {
    expect(missingParentIds(runs, new Set(['p']))).toEqual(['c1']);
    expect(
      missingParentIds([child('a', 'x'), child('b', 'x')], new Set())
    ).toEqual(['x']);
  });

  it('quotes filter values', () => {
    expect(quoteFilterValue("it's")).toBe("'it\\'s'");
  });
});
