import { describe, expect, it } from '@jest/globals';

import { NO_QUICK_FILTERS } from '../src/runfilters';
import { ISavedView, SavedViews, SavedViewsByKey } from '../src/savedviews';

function view(name: string, filter = ''): ISavedView {
  return {
    name,
    filter,
    quick: { ...NO_QUICK_FILTERS, status: 'FAILED' },
    columns: ['metrics.loss'],
    sort: { column: 'metrics.loss', ascending: true },
    charts: [{ id: 'c0', metric: 'loss' }]
  };
}

describe('SavedViews', () => {
  it('saves by name per experiment, replacing a view of the same name', () => {
    const views = new SavedViews();
    const persisted: SavedViewsByKey[] = [];
    views.onChanged = v => persisted.push(v);
    views.save('1', view('b'));
    views.save('1', view('a'));
    views.save('1', view('b', 'metrics.loss < 1'));
    views.save('2', view('other'));
    expect(views.viewsFor('1').map(v => [v.name, v.filter])).toEqual([
      ['a', ''],
      ['b', 'metrics.loss < 1']
    ]);
    expect(views.viewsFor('3')).toEqual([]);
    expect(persisted).toHaveLength(4);
    views.remove('2', 'other');
    expect(Object.keys(persisted[persisted.length - 1])).toEqual(['1']);
  });

  it('loads from the settings without saving back, emitting on change only', () => {
    const views = new SavedViews();
    let saved = 0;
    let emitted = 0;
    views.onChanged = () => saved++;
    views.changed.connect(() => {
      emitted++;
    });
    const stored = { '1': [view('a')] };
    views.load(stored);
    views.load(JSON.parse(JSON.stringify(stored)));
    expect(views.viewsFor('1')[0].quick.status).toBe('FAILED');
    expect(emitted).toBe(1);
    expect(saved).toBe(0);
  });
});
