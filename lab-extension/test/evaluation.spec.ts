// Reading lt.evaluate's results and a run's datasets off a run, and marking
// the best value of an evaluation metric in the compare view.

import { describe, expect, it } from '@jest/globals';

import { bestIndex } from '../src/evaluation/compare';
import {
  datasetFilter,
  datasetsOf,
  evaluationFiles,
  evaluationMetrics,
  isEvaluationMetric
} from '../src/evaluation/data';
import { IRun } from '../src/protocol';

function run(metrics: Record<string, number>, inputs?: unknown): IRun {
  return {
    info: { run_id: 'r', experiment_id: '1' },
    data: {
      metrics: Object.entries(metrics).map(([key, value]) => ({
        key,
        value,
        step: 0,
        timestamp: 0
      }))
    },
    inputs
  } as unknown as IRun;
}

describe('evaluation metrics', () => {
  it("are the evaluator's names, with a metric_prefix too", () => {
    expect(isEvaluationMetric('accuracy_score')).toBe(true);
    expect(isEvaluationMetric('val_accuracy_score')).toBe(true);
    expect(isEvaluationMetric('loss')).toBe(false);
    expect(isEvaluationMetric('accuracy')).toBe(false);
    // Autologging's scores on the training data are not evaluation results.
    expect(isEvaluationMetric('training_accuracy_score')).toBe(false);
  });

  it("come in the evaluator's order", () => {
    const found = evaluationMetrics(
      run({ log_loss: 0.4, loss: 1, accuracy_score: 0.9, example_count: 10 })
    );
    expect(found.map(([k]) => k)).toEqual([
      'example_count',
      'accuracy_score',
      'log_loss'
    ]);
  });
});

describe('evaluationFiles', () => {
  it('finds the table, charts and PNGs without a Vega-Lite twin', () => {
    const files = evaluationFiles([
      'eval_results_table.json',
      'roc_curve_plot.vl.json',
      'roc_curve_plot.png',
      'lift_curve.png',
      'config.json',
      'per_class_metrics.csv'
    ]);
    expect(files).toEqual({
      table: 'eval_results_table.json',
      charts: ['roc_curve_plot.vl.json'],
      images: ['lift_curve.png']
    });
  });
});

describe('datasetsOf', () => {
  it('reads name, digest, context, source, schema and profile', () => {
    const [ds] = datasetsOf(
      run(
        {},
        {
          dataset_inputs: [
            {
              tags: [{ key: 'mlflow.data.context', value: 'training' }],
              dataset: {
                name: 'iris',
                digest: 'abc123',
                source_type: 'local',
                source: '{"uri": "data/iris.csv"}',
                schema:
                  '{"mlflow_colspec": [{"type": "double", "name": "x"}, {"type": "long", "name": "y"}]}',
                profile: '{"num_rows": 150, "num_elements": 300}'
              }
            }
          ]
        }
      )
    );
    expect(ds).toEqual({
      name: 'iris',
      digest: 'abc123',
      context: 'training',
      sourceType: 'local',
      source: 'data/iris.csv',
      schema: ['x: double', 'y: long'],
      profile: [
        ['num_rows', '150'],
        ['num_elements', '300']
      ]
    });
  });

  it('is empty for a run without inputs', () => {
    expect(datasetsOf(run({}))).toEqual([]);
  });
});

describe('datasetFilter', () => {
  it('quotes names as the search language reads them', () => {
    expect(datasetFilter({ name: "it's", digest: 'd1' })).toBe(
      "dataset.name = 'it\\'s' and dataset.digest = 'd1'"
    );
  });
});

describe('bestIndex', () => {
  it('marks the single best value, lower for errors and losses', () => {
    expect(bestIndex('accuracy_score', [0.8, 0.9])).toBe(1);
    expect(bestIndex('log_loss', [0.4, 0.6])).toBe(0);
    expect(bestIndex('val_mean_squared_error', [3, 2, 5])).toBe(1);
  });

  it('marks nothing for ties, counts, or a single value', () => {
    expect(bestIndex('accuracy_score', [1, 1])).toBe(-1);
    expect(bestIndex('example_count', [10, 12])).toBe(-1);
    expect(bestIndex('f1_score', [0.5, undefined])).toBe(-1);
  });
});
