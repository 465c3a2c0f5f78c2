// The permissions dialog's model (team mode): what it lists, what it sends,
// and how a refused change reaches the user. A hand-written stand-in for the
// team service holds the grants and applies its rules: MANAGE to change
// grants, never above one's own level.

import { describe, expect, it } from '@jest/globals';

import {
  GranteeKind,
  IGranteeNames,
  IGrant,
  IPermissionResource,
  IPermissionsAPI,
  IResourcePermissions,
  PermissionLevel
} from '../src/permissions/protocol';
import {
  PermissionsModel,
  granteeProblem,
  levelRank
} from '../src/permissions/model';
import { LabtrackAPIError } from '../src/protocol';

const EXPERIMENT: IPermissionResource = {
  type: 'experiment',
  id: '7',
  name: 'churn'
};

function denied(message: string): LabtrackAPIError {
  return new LabtrackAPIError(message, 403, 'PERMISSION_DENIED');
}

/** The team service's grants on one resource, for one caller. */
class FakeTeam implements IPermissionsAPI {
  constructor(
    readonly caller: string,
    grants: IGrant[]
  ) {
    this.grants = grants;
  }

  grants: IGrant[];
  readonly sent: unknown[][] = [];
  /** Resolve `list` calls by hand (null: answer at once). */
  held: ((reply: IResourcePermissions) => void)[] | null = null;

  myLevel(): PermissionLevel {
    const own = this.grants.find(
      g => g.grantee_kind === 'user' && g.grantee === this.caller
    );
    return own?.permission ?? 'READ';
  }

  list = async (
    resource: IPermissionResource
  ): Promise<IResourcePermissions> => {
    this.sent.push(['list', resource.type, resource.id]);
    const mine = this.myLevel();
    const reply: IResourcePermissions = {
      // Not in the dialog's order: the model sorts.
      permissions: [...this.grants].reverse(),
      default_permission: 'READ',
      my_permission: mine,
      can_manage: mine === 'MANAGE'
    };
    if (this.held) {
      return new Promise(resolve => this.held!.push(() => resolve(reply)));
    }
    return reply;
  };

  grant = async (
    resource: IPermissionResource,
    kind: GranteeKind,
    grantee: string,
    level: PermissionLevel
  ): Promise<void> => {
    this.sent.push(['grant', resource.id, kind, grantee, level]);
    const mine = this.myLevel();
    if (mine !== 'MANAGE') {
      throw denied(
        `Permission denied: '${this.caller}' holds ${mine} on experiment '7', which does not allow manage.`
      );
    }
    this.grants = this.grants.filter(
      g => !(g.grantee_kind === kind && g.grantee === grantee)
    );
    this.grants.push({ grantee_kind: kind, grantee, permission: level });
  };

  /** The hub's users and groups. */
  hubUsers = ['alice', 'bob', 'bobby', 'carol'];
  hubGroups = ['team', 'reviewers'];

  names = async (
    resource: IPermissionResource,
    kind: GranteeKind,
    typed: string
  ): Promise<IGranteeNames> => {
    this.sent.push(['names', resource.id, kind, typed]);
    if (this.myLevel() !== 'MANAGE') {
      throw denied('Permission denied.');
    }
    const all = kind === 'user' ? this.hubUsers : this.hubGroups;
    const hits = all.filter(n => n.includes(typed));
    return {
      users: kind === 'user' ? hits : [],
      groups: kind === 'group' ? hits : [],
      known: typed ? all.includes(typed) : null,
      hub_answered: true
    };
  };

  revoke = async (
    resource: IPermissionResource,
    kind: GranteeKind,
    grantee: string
  ): Promise<void> => {
    this.sent.push(['revoke', resource.id, kind, grantee]);
    if (this.myLevel() !== 'MANAGE') {
      throw denied('Permission denied.');
    }
    this.grants = this.grants.filter(
      g => !(g.grantee_kind === kind && g.grantee === grantee)
    );
  };
}

const ALICE_MANAGES: IGrant = {
  grantee_kind: 'user',
  grantee: 'alice',
  permission: 'MANAGE'
};

function listed(model: PermissionsModel): string[] {
  return model.grants.map(
    g => `${g.grantee_kind}:${g.grantee}=${g.permission}`
  );
}

describe('PermissionsModel', () => {
  it('lists users, then groups, with the caller’s level and what they may grant', async () => {
    const team = new FakeTeam('alice', [
      { grantee_kind: 'group', grantee: 'team', permission: 'READ' },
      ALICE_MANAGES,
      { grantee_kind: 'group', grantee: 'reviewers', permission: 'USE' },
      { grantee_kind: 'user', grantee: 'bob', permission: 'EDIT' }
    ]);
    const model = new PermissionsModel({
      api: team,
      resource: EXPERIMENT,
      me: 'alice'
    });
    expect(model.loaded).toBe(false);
    await model.load();
    expect(listed(model)).toEqual([
      'user:alice=MANAGE',
      'user:bob=EDIT',
      'group:reviewers=USE',
      'group:team=READ'
    ]);
    expect(model.myLevel).toBe('MANAGE');
    expect(model.defaultLevel).toBe('READ');
    expect(model.canManage).toBe(true);
    expect(model.grantableLevels).toEqual([
      'NO_PERMISSIONS',
      'READ',
      'USE',
      'EDIT',
      'MANAGE'
    ]);
    expect(model.isMine(model.grants[0])).toBe(true);
    expect(model.isMine(model.grants[1])).toBe(false);
    expect(team.sent).toEqual([['list', 'experiment', '7']]);
  });

  it('offers nothing to grant to a caller without MANAGE', async () => {
    const team = new FakeTeam('bob', [
      ALICE_MANAGES,
      { grantee_kind: 'user', grantee: 'bob', permission: 'EDIT' }
    ]);
    const model = new PermissionsModel({ api: team, resource: EXPERIMENT });
    await model.load();
    expect(model.myLevel).toBe('EDIT');
    expect(model.canManage).toBe(false);
    expect(model.grantableLevels).toEqual([]);
    expect(listed(model)).toEqual(['user:alice=MANAGE', 'user:bob=EDIT']);
  });

  it('grants, changes a level and revokes, showing what the server then holds', async () => {
    const team = new FakeTeam('alice', [ALICE_MANAGES]);
    const model = new PermissionsModel({ api: team, resource: EXPERIMENT });
    await model.load();
    const emitted: boolean[] = [];
    model.changed.connect(() => emitted.push(model.busy));

    expect(await model.grant('user', '  bob ', 'EDIT')).toBe(true);
    expect(await model.grant('group', 'reviewers', 'READ')).toBe(true);
    expect(listed(model)).toEqual([
      'user:alice=MANAGE',
      'user:bob=EDIT',
      'group:reviewers=READ'
    ]);
    expect(await model.grant('group', 'reviewers', 'USE')).toBe(true);
    expect(await model.revoke('user', 'bob')).toBe(true);
    expect(listed(model)).toEqual(['user:alice=MANAGE', 'group:reviewers=USE']);
    expect(model.actionError).toBeNull();
    expect(team.sent.filter(c => c[0] !== 'list')).toEqual([
      ['grant', '7', 'user', 'bob', 'EDIT'],
      ['grant', '7', 'group', 'reviewers', 'READ'],
      ['grant', '7', 'group', 'reviewers', 'USE'],
      ['revoke', '7', 'user', 'bob']
    ]);
    // Busy while each change is in flight, not after.
    expect(emitted[0]).toBe(true);
    expect(model.busy).toBe(false);
  });

  it('keeps a refusal’s message and re-reads the caller’s level', async () => {
    const team = new FakeTeam('alice', [ALICE_MANAGES]);
    const model = new PermissionsModel({ api: team, resource: EXPERIMENT });
    await model.load();
    expect(model.canManage).toBe(true);
    // Meanwhile an admin lowers alice to EDIT: her open dialog still offers grants.
    team.grants = [
      { grantee_kind: 'user', grantee: 'alice', permission: 'EDIT' }
    ];
    expect(await model.grant('user', 'bob', 'MANAGE')).toBe(false);
    expect(model.actionError?.errorCode).toBe('PERMISSION_DENIED');
    expect(model.actionError?.message).toBe(
      "Permission denied: 'alice' holds EDIT on experiment '7', which does not allow manage."
    );
    // The listing now says what she holds: no more grant controls.
    expect(model.canManage).toBe(false);
    expect(model.grantableLevels).toEqual([]);
    expect(listed(model)).toEqual(['user:alice=EDIT']);

    // Given MANAGE back, the next change clears the old message.
    team.grants = [ALICE_MANAGES];
    await model.load();
    expect(model.actionError?.errorCode).toBe('PERMISSION_DENIED');
    expect(await model.grant('user', 'bob', 'READ')).toBe(true);
    expect(model.actionError).toBeNull();
  });

  it('reports a listing that fails, and drops an answer to a superseded listing', async () => {
    const failing: IPermissionsAPI = {
      list: async () => {
        throw new LabtrackAPIError(
          'No experiment with id 7',
          404,
          'RESOURCE_DOES_NOT_EXIST'
        );
      },
      grant: async () => undefined,
      revoke: async () => undefined,
      names: async () => ({
        users: [],
        groups: [],
        known: null,
        hub_answered: true
      })
    };
    const broken = new PermissionsModel({ api: failing, resource: EXPERIMENT });
    await broken.load();
    expect(broken.loaded).toBe(false);
    expect(broken.state.error?.errorCode).toBe('RESOURCE_DOES_NOT_EXIST');

    const team = new FakeTeam('alice', [ALICE_MANAGES]);
    team.held = [];
    const model = new PermissionsModel({ api: team, resource: EXPERIMENT });
    const first = model.load();
    team.grants = [
      ALICE_MANAGES,
      { grantee_kind: 'user', grantee: 'bob', permission: 'EDIT' }
    ];
    const second = model.load();
    const [answerFirst, answerSecond] = team.held;
    answerSecond(undefined as never);
    await second;
    answerFirst(undefined as never);
    await first;
    // The older answer (alice only, listed before bob's grant) did not win.
    expect(listed(model)).toEqual(['user:alice=MANAGE', 'user:bob=EDIT']);
    expect(model.state.loading).toBe(false);
  });
});

describe('granteeProblem and levelRank', () => {
  it('refuses empty names and names with spaces', () => {
    expect(granteeProblem('  ')).toBe('empty');
    expect(granteeProblem('bob smith')).toBe('spaces');
    expect(granteeProblem(' bob ')).toBeNull();
    expect(granteeProblem('data-science')).toBeNull();
  });

  it('orders MLflow’s levels', () => {
    expect(levelRank('NO_PERMISSIONS')).toBe(0);
    expect(levelRank('READ')).toBeLessThan(levelRank('USE'));
    expect(levelRank('EDIT')).toBeLessThan(levelRank('MANAGE'));
  });
});

describe('PermissionsModel and the hub', () => {
  it('suggests hub names and grants no name the hub does not know', async () => {
    const team = new FakeTeam('alice', [ALICE_MANAGES]);
    const model = new PermissionsModel({ api: team, resource: EXPERIMENT });
    await model.load();
    await model.suggest('user', 'bob');
    expect(model.suggestions).toEqual(['bob', 'bobby']);
    await model.suggest('group', 'te');
    expect(model.suggestions).toEqual(['team']);

    // A typo: the hub has no such user, nothing is sent to grant.
    expect(await model.grantNew('user', 'bbo', 'READ')).toBe('unknown');
    expect(team.sent.filter(s => s[0] === 'grant')).toEqual([]);
    // A hub user not among the suggestions is granted all the same.
    expect(await model.grantNew('user', ' carol ', 'USE')).toBe('granted');
    expect(team.grants.map(g => g.grantee)).toContain('carol');
    // A listed grantee's level changes without asking the hub again.
    team.hubUsers = [];
    expect(await model.grantNew('user', 'carol', 'EDIT')).toBe('granted');

    // Without MANAGE nobody's names are asked for.
    const bob = new FakeTeam('bob', [ALICE_MANAGES]);
    const readOnly = new PermissionsModel({ api: bob, resource: EXPERIMENT });
    await readOnly.load();
    await readOnly.suggest('user', 'a');
    expect(readOnly.suggestions).toEqual([]);
    expect(bob.sent.filter(s => s[0] === 'names')).toEqual([]);
  });

  it("keeps where the caller's level comes from", async () => {
    const team = new FakeTeam('alice', [ALICE_MANAGES]);
    team.list = async () => ({
      permissions: [
        {
          grantee_kind: 'user',
          grantee: 'bob',
          permission: 'USE',
          effective: { permission: 'EDIT', source: 'group', group: 'team' },
          hub_user: true
        }
      ],
      default_permission: 'READ',
      my_permission: 'EDIT',
      my_source: { permission: 'EDIT', source: 'group', group: 'team' },
      can_manage: false
    });
    const model = new PermissionsModel({ api: team, resource: EXPERIMENT });
    await model.load();
    expect(model.mySource).toEqual({
      permission: 'EDIT',
      source: 'group',
      group: 'team'
    });
    expect(model.grants[0].effective?.permission).toBe('EDIT');
  });
});
