import { describe, expect, it } from '@jest/globals';

import { parseYamlMapping, summarizeMLmodel } from '../src/mlmodel';

// As labtrack.sklearn.log_model (and MLflow) write it: the signature is
// JSON inside a single-quoted YAML string folded over two lines.
const MLMODEL = `artifact_path: iris-clf
flavors:
  python_function:
    code: null
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.sklearn
    model_path: model.pkl
  sklearn:
    pickled_model: model.pkl
    sklearn_version: 1.9.1
model_id: m-a134
saved_input_example_info:
  artifact_path: input_example.json
  pandas_orient: split
  type: dataframe
signature:
  inputs: '[{"type": "double", "name": "sepal_length", "required": true}, {"type":
    "double", "name": "petal_width", "required": false}]'
  outputs: '[{"type": "long", "required": true}]'
  params: null
utc_time_created: '2026-12-07 15:53:55.503803'
`;

describe('MLmodel reader', () => {
  it('reads nested mappings, nulls and quoted strings', () => {
    const doc = parseYamlMapping(MLMODEL);
    expect(doc.model_id).toBe('m-a134');
    expect(doc.utc_time_created).toBe('2026-12-07 15:53:55.503803');
    const flavors = doc.flavors as Record<string, Record<string, unknown>>;
    expect(Object.keys(flavors)).toEqual(['python_function', 'sklearn']);
    expect(flavors.python_function.code).toBeNull();
    expect(flavors.python_function.env).toEqual({
      conda: 'conda.yaml',
      virtualenv: 'python_env.yaml'
    });
  });

  it('summarizes flavors, the signature as a schema and the input example', () => {
    const summary = summarizeMLmodel(MLMODEL);
    expect(summary.flavors).toEqual(['python_function', 'sklearn']);
    expect(summary.inputs).toEqual([
      { name: 'sepal_length', type: 'double', required: true },
      { name: 'petal_width', type: 'double', required: false }
    ]);
    expect(summary.outputs).toEqual([
      { name: '[0]', type: 'long', required: true }
    ]);
    expect(summary.inputExamplePath).toBe('input_example.json');
  });

  it('a model without signature or example', () => {
    const summary = summarizeMLmodel(
      "flavors:\n  python_function:\n    loader_module: x\nrun_id: 'it''s'\n"
    );
    expect(summary.flavors).toEqual(['python_function']);
    expect(summary.inputs).toBeNull();
    expect(summary.inputExamplePath).toBeNull();
    expect(parseYamlMapping("run_id: 'it''s'\n").run_id).toBe("it's");
  });
});
