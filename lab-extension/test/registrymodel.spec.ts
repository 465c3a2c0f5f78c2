import { beforeEach, describe, expect, it } from '@jest/globals';

import { IModelVersion, IRegisteredModel } from '../src/protocol';
import { RegistryChange, RegistryModel } from '../src/registrymodel';
import { Deferred, FakeAPI, apiError } from './fakeapi';

/** A tiny in-memory registry behind the fake API. */
class Registry {
  models = new Map<string, IRegisteredModel>([
    ['clf', { name: 'clf', description: 'first' }],
    ['reg', { name: 'reg' }]
  ]);
  versions = new Map<string, IModelVersion[]>([
    [
      'clf',
      [
        { name: 'clf', version: '2', current_stage: 'None' },
        { name: 'clf', version: '1', current_stage: 'None' }
      ]
    ],
    ['reg', [{ name: 'reg', version: '1' }]]
  ]);
  aliases = new Map<string, Map<string, string>>();

  install(api: FakeAPI): void {
    api
      .on('searchRegisteredModels', async () => [...this.models.values()])
      .on('getRegisteredModel', async name => ({
        ...this.models.get(name)!,
        aliases: [...(this.aliases.get(name) ?? new Map())].map(
          ([alias, version]) => ({ alias, version })
        )
      }))
      .on('searchModelVersions', async name => [
        ...(this.versions.get(name) ?? [])
      ])
      .on('setModelAlias', async (name, alias, version) => {
        const map = this.aliases.get(name) ?? new Map<string, string>();
        map.set(alias, version);
        this.aliases.set(name, map);
      })
      .on('deleteModelAlias', async (name, alias) => {
        this.aliases.get(name)?.delete(alias);
      })
      .on('transitionModelVersionStage', async (name, version, stage) => {
        const v = this.versions.get(name)!.find(x => x.version === version)!;
        v.current_stage = stage;
      })
      .on('updateRegisteredModel', async (name, description) => {
        this.models.get(name)!.description = description;
      });
  }
}

describe('RegistryModel', () => {
  let api: FakeAPI;
  let server: Registry;
  let registry: RegistryModel;
  let changes: RegistryChange[];

  beforeEach(() => {
    api = new FakeAPI();
    server = new Registry();
    server.install(api);
    registry = new RegistryModel({ api });
    changes = [];
    registry.changed.connect((_, change) => {
      changes.push(change);
    });
  });

  it('lists the models and selects the first one', async () => {
    await registry.refresh();
    expect(registry.models.map(m => m.name)).toEqual(['clf', 'reg']);
    expect(registry.selectedName).toBe('clf');
    expect(registry.detail?.versions.map(v => v.version)).toEqual(['2', '1']);
    expect(changes).toEqual(['models', 'selection', 'detail']);
  });

  it('keeps the selected model across a refresh', async () => {
    await registry.refresh();
    await registry.select('reg');
    await registry.refresh();
    expect(registry.selectedName).toBe('reg');
    expect(registry.detail?.registered.name).toBe('reg');
  });

  it('shows the new alias after setting it, and moves it', async () => {
    await registry.refresh();
    changes.length = 0;
    await registry.setAlias('clf', 'champion', '1');
    expect(registry.detail?.aliases.get('champion')).toBe('1');
    expect(changes).toEqual(['detail']);
    await registry.setAlias('clf', 'champion', '2');
    expect(registry.detail?.aliases.get('champion')).toBe('2');
    await registry.removeAlias('clf', 'champion');
    expect(registry.detail?.aliases.has('champion')).toBe(false);
  });

  it('merges aliases named by versions with the model aliases', async () => {
    server.versions.get('clf')![0].aliases = ['latest'];
    await registry.refresh();
    expect([...(registry.detail?.aliases ?? [])]).toEqual([['latest', '2']]);
  });

  it('a failed change rejects, and the model is read again anyway', async () => {
    await registry.refresh();
    const reads = api.callsOf('getRegisteredModel').length;
    api.on('setModelAlias', () =>
      Promise.reject(apiError('bad alias', 'INVALID_PARAMETER_VALUE', 400))
    );
    await expect(registry.setAlias('clf', 'v1', '1')).rejects.toThrow(
      'bad alias'
    );
    expect(api.callsOf('getRegisteredModel').length).toBe(reads + 1);
  });

  it('moves a version to another stage', async () => {
    await registry.refresh();
    await registry.setStage('clf', '1', 'Production');
    const v1 = registry.detail?.versions.find(v => v.version === '1');
    expect(v1?.current_stage).toBe('Production');
  });

  it('saves the description and emits description only', async () => {
    await registry.refresh();
    changes.length = 0;
    await registry.setDescription('clf', 'better');
    expect(registry.detail?.registered.description).toBe('better');
    expect(changes).toEqual(['description']);
  });

  it('a failed list sets modelsState.error; the next success clears it', async () => {
    api.on('searchRegisteredModels', () => Promise.reject(apiError('down')));
    await registry.refresh();
    expect(registry.modelsState.error?.message).toBe('down');
    expect(registry.selectedName).toBeNull();
    server.install(api);
    await registry.refresh();
    expect(registry.modelsState.error).toBeNull();
    expect(registry.selectedName).toBe('clf');
  });

  it('a failed model read sets detailState.error', async () => {
    await registry.refresh();
    api.on('getRegisteredModel', () => Promise.reject(apiError('gone')));
    await registry.select('reg');
    expect(registry.selectedName).toBe('reg');
    expect(registry.detail).toBeNull();
    expect(registry.detailState.error?.message).toBe('gone');
  });

  it('an empty registry selects nothing', async () => {
    server.models.clear();
    await registry.refresh();
    expect(registry.selectedName).toBeNull();
    expect(registry.detail).toBeNull();
    expect(changes).toEqual(['models', 'selection', 'detail']);
  });

  it('drops the answer for a model no longer selected', async () => {
    await registry.refresh();
    const slow = new Deferred<IRegisteredModel>();
    api.on('getRegisteredModel', name =>
      name === 'clf' ? slow.promise : Promise.resolve({ name })
    );
    const first = registry.select('clf');
    await registry.select('reg');
    slow.resolve({ name: 'clf' });
    await first;
    expect(registry.detail?.registered.name).toBe('reg');
  });
});
