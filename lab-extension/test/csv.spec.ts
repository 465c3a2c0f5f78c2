import { describe, expect, it } from '@jest/globals';

import { csvField, metricCSV, runsCSV, safeFileName } from '../src/csv';
import { run } from './fakeapi';

describe('CSV', () => {
  it('quotes commas, quotes and line breaks; defuses formulas', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('=cmd()')).toBe('"\'=cmd()"');
    expect(csvField(-0.5)).toBe('-0.5');
    expect(csvField(undefined)).toBe('');
  });

  it('writes the runs with their columns, in the given order', () => {
    const a = run('a', {
      metrics: { loss: 0.123456789 },
      params: { lr: '0.1' },
      tags: { note: 'x, y' }
    });
    a.info.start_time = Date.UTC(2026, 0, 2, 3, 4, 5);
    const b = run('b', { status: 'FAILED' });
    const text = runsCSV([b, a], ['metrics.loss', 'params.lr', 'tags.note']);
    expect(text.split('\r\n')).toEqual([
      'run_name,run_id,experiment_id,status,lifecycle_stage,start_time,end_time,metrics.loss,params.lr,tags.note',
      'run-b,b,1,FAILED,active,,,,,',
      'run-a,a,1,FINISHED,active,2026-01-02T03:04:05.000Z,,0.123456789,0.1,"x, y"',
      ''
    ]);
  });

  it('writes metric histories in long form, full precision', () => {
    const text = metricCSV(
      [
        {
          run_id: 'a',
          key: 'loss',
          steps: [0, 1],
          timestamps: [10, 20],
          values: [1.5, 'NaN']
        }
      ],
      new Map([['a', 'first']])
    );
    expect(text).toBe(
      'run_id,run_name,key,step,timestamp,value\r\n' +
        'a,first,loss,0,10,1.5\r\n' +
        'a,first,loss,1,20,NaN\r\n'
    );
  });

  it('makes safe file names', () => {
    expect(safeFileName('my exp/v2')).toBe('my_exp_v2');
    expect(safeFileName('///')).toBe('labtrack');
  });
});
