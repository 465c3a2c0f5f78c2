import { describe, expect, it } from '@jest/globals';

import { planOverflow } from '../src/toolbarmenu';

interface IItem {
  name: string;
  width: number;
  priority: number;
}

/** A row of `room` px: the items left in it, with a gap between each. */
function row(items: IItem[], room: number, gap = 10) {
  const calls: string[][] = [];
  const fits = (moved: ReadonlySet<IItem>): boolean => {
    const left = items.filter(item => !moved.has(item));
    calls.push([...moved].map(item => item.name));
    const width =
      left.reduce((sum, item) => sum + item.width, 0) +
      gap * Math.max(0, left.length - 1);
    return width <= room;
  };
  return { fits, calls };
}

const names = (moved: Set<IItem>): string[] =>
  [...moved].map(item => item.name).sort();

describe('planOverflow', () => {
  const items: IItem[] = [
    { name: 'status', width: 110, priority: 20 },
    { name: 'started', width: 115, priority: 10 },
    { name: 'show', width: 170, priority: 40 },
    { name: 'reset', width: 110, priority: 30 },
    { name: 'delete', width: 95, priority: 60 },
    { name: 'restore', width: 105, priority: 50 }
  ];

  it('moves nothing when the row fits, and asks once', () => {
    const { fits, calls } = row(items, 2000);
    expect(names(planOverflow(items, fits))).toEqual([]);
    expect(calls).toEqual([[]]);
  });

  it('moves the lowest priorities first, until the row fits', () => {
    // 755 px of controls and gaps; 530 px: started and status go (510 left).
    const { fits } = row(items, 530);
    expect(names(planOverflow(items, fits))).toEqual(['started', 'status']);
  });

  it('brings back what fits in the room a wider control left', () => {
    // 350 px: started, status, reset and show must go in order (show is
    // the one that makes room: 210 left); reset (110) then comes back: 330.
    const { fits } = row(items, 350);
    expect(names(planOverflow(items, fits))).toEqual([
      'show',
      'started',
      'status'
    ]);
  });

  it('moves everything when nothing fits', () => {
    const { fits } = row(items, 50);
    expect(names(planOverflow(items, fits)).length).toBe(items.length);
  });

  it('among equal priorities, the one further right moves first', () => {
    const equal: IItem[] = [
      { name: 'a', width: 100, priority: 1 },
      { name: 'b', width: 100, priority: 1 },
      { name: 'c', width: 100, priority: 1 }
    ];
    const { fits } = row(equal, 210);
    expect(names(planOverflow(equal, fits))).toEqual(['c']);
  });
});
