import { describe, expect, it } from '@jest/globals';

import {
  DEFAULT_ORDER_BY,
  orderByClause,
  pythonString,
  searchRunsCode
} from '../src/code';

describe('copy as code', () => {
  it('writes the search_runs call of the table', () => {
    const filter = "metrics.loss < 0.5 and params.opt = 'adam'";
    expect(searchRunsCode(['1', '5'], filter, ['metrics.loss ASC'])).toBe(
      'lt.search_runs(experiment_ids=["1", "5"], ' +
        `filter_string="${filter}", ` +
        'order_by=["metrics.loss ASC"])'
    );
  });

  it('leaves out an empty filter and keeps the default order', () => {
    expect(searchRunsCode(['1'], '  ', DEFAULT_ORDER_BY)).toBe(
      'lt.search_runs(experiment_ids=["1"], order_by=["attributes.start_time DESC"])'
    );
  });

  it('names run_view_type when deleted runs are listed', () => {
    expect(searchRunsCode(['1'], '', DEFAULT_ORDER_BY, 'DELETED_ONLY')).toBe(
      'lt.search_runs(experiment_ids=["1"], run_view_type="DELETED_ONLY", ' +
        'order_by=["attributes.start_time DESC"])'
    );
  });

  it('maps table columns to order_by clauses', () => {
    expect(orderByClause('attributes.run_name', true)).toBe(
      'attributes.run_name ASC'
    );
    expect(orderByClause('attributes.duration', true)).toBeNull();
    expect(orderByClause('metrics.val loss', false)).toBe(
      'metrics.`val loss` DESC'
    );
    expect(orderByClause('params.lr', true)).toBe('params.lr ASC');
  });

  it('escapes Python strings', () => {
    expect(pythonString('say "hi"')).toBe(String.raw`"say \"hi\""`);
  });
});
