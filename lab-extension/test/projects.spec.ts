// The "Run project" rules the dialog checks as the user types, and what
// "Run again" takes from a past project run.

import { describe, expect, it } from '@jest/globals';

import { IProjectParameter } from '../src/projects/api';
import {
  defaultEnvManager,
  parameterProblem,
  projectInputs
} from '../src/projects/params';
import { IRun } from '../src/protocol';

const param = (
  type: IProjectParameter['type'],
  required = false
): IProjectParameter => ({ name: 'p', type, required });

function run(
  tags: Record<string, string>,
  params: Record<string, string>
): IRun {
  return {
    info: { run_id: 'r1', experiment_id: '7' },
    data: {
      tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
      params: Object.entries(params).map(([key, value]) => ({ key, value }))
    }
  } as unknown as IRun;
}

describe('parameterProblem', () => {
  it('checks numbers as Python reads them', () => {
    expect(parameterProblem(param('int'), '42')).toBeNull();
    expect(parameterProblem(param('int'), ' -3 ')).toBeNull();
    expect(parameterProblem(param('int'), '4.2')).toBe('int');
    expect(parameterProblem(param('int'), 'ten')).toBe('int');
    expect(parameterProblem(param('float'), '0.5')).toBeNull();
    expect(parameterProblem(param('float'), '1e-3')).toBeNull();
    expect(parameterProblem(param('float'), '.5')).toBeNull();
    expect(parameterProblem(param('float'), 'inf')).toBeNull();
    expect(parameterProblem(param('float'), '1,5')).toBe('float');
  });

  it('needs a value only for a required parameter', () => {
    expect(parameterProblem(param('float', true), '')).toBe('required');
    expect(parameterProblem(param('float', false), '')).toBeNull();
    expect(parameterProblem(param('string', true), 'x')).toBeNull();
  });

  it('tells paths from URIs', () => {
    expect(parameterProblem(param('uri'), 's3://bucket/key')).toBeNull();
    expect(parameterProblem(param('uri'), 'data/train.csv')).toBe('uri');
    expect(parameterProblem(param('path'), 'data/train.csv')).toBeNull();
    expect(parameterProblem(param('path'), 'file:///tmp/x')).toBeNull();
    expect(parameterProblem(param('path'), 's3://bucket/key')).toBe('path');
    // A Windows drive letter is not a scheme.
    expect(parameterProblem(param('path'), 'C:\\data')).toBeNull();
  });

  it('leaves strings as they are (data, never code)', () => {
    expect(parameterProblem(param('string'), '$(rm -rf ~); `x`')).toBeNull();
  });
});

describe('projectInputs', () => {
  it('takes the project, entry point, params, env and experiment', () => {
    const inputs = projectInputs(
      run(
        {
          'mlflow.source.type': 'PROJECT',
          'mlflow.source.name': '/home/u/proj',
          'labtrack.project.path': 'proj',
          'mlflow.project.entryPoint': 'train',
          'mlflow.project.env': 'local'
        },
        { alpha: '0.1', epochs: '3' }
      )
    );
    expect(inputs).toEqual({
      path: 'proj',
      entryPoint: 'train',
      parameters: { alpha: '0.1', epochs: '3' },
      envManager: 'local',
      experimentId: '7'
    });
  });

  it('falls back to the source folder of a `labtrack run` run', () => {
    const inputs = projectInputs(
      run(
        { 'mlflow.source.type': 'PROJECT', 'mlflow.source.name': '/srv/p' },
        {}
      )
    );
    expect(inputs?.path).toBe('/srv/p');
    expect(inputs?.entryPoint).toBe('main');
  });

  it('offers nothing for other runs or remote projects', () => {
    expect(
      projectInputs(run({ 'mlflow.source.type': 'NOTEBOOK' }, {}))
    ).toBeNull();
    const git = run(
      {
        'mlflow.source.type': 'PROJECT',
        'mlflow.source.name': 'https://github.com/o/r#sub'
      },
      {}
    );
    expect(projectInputs(git)).toBeNull();
  });
});

describe('defaultEnvManager', () => {
  it('follows what the project asks for', () => {
    expect(defaultEnvManager('python')).toBe('virtualenv');
    expect(defaultEnvManager('conda')).toBe('conda');
    expect(defaultEnvManager('none')).toBe('local');
  });
});
