/**
 * The shapes of the team service's permission routes, and MLflow's levels
 * (no runtime dependencies: the model and its unit tests import this, the
 * server client is `api.ts`).
 */

/** MLflow's levels, lowest first (`NO_PERMISSIONS` is an explicit "no"). */
export const PERMISSION_LEVELS = [
  'NO_PERMISSIONS',
  'READ',
  'USE',
  'EDIT',
  'MANAGE'
] as const;

export type PermissionLevel = (typeof PERMISSION_LEVELS)[number];

export type GranteeKind = 'user' | 'group';

export type ResourceType = 'experiment' | 'registered_model';

/** An experiment (by id) or a registered model (by name). */
export interface IPermissionResource {
  readonly type: ResourceType;
  readonly id: string;
  /** What the dialog calls it (the experiment's or the model's name). */
  readonly name: string;
}

/**
 * Where an effective level comes from, as the service's rule decided it:
 * a hub admin, the grantee's own grant, one of their hub groups' grants
 * (`group` names it), or the team default.
 */
export type LevelSource = 'admin' | 'direct' | 'group' | 'default';

/** The level someone actually holds, and why (computed by the service). */
export interface IEffectiveLevel {
  permission: PermissionLevel;
  source: LevelSource;
  group?: string;
}

export interface IGrant {
  grantee_kind: GranteeKind;
  grantee: string;
  /** The level granted here. */
  permission: PermissionLevel;
  /**
   * What the grantee holds in effect (their groups' grants may be higher).
   * Given for one's own row and groups; for other users, to MANAGE holders.
   */
  effective?: IEffectiveLevel;
  /** False: the hub has no user of this name (the grant decides nothing). */
  hub_user?: boolean;
}

/** `GET api/labtrack/permissions`: the grants, the default, the caller's own. */
export interface IResourcePermissions {
  permissions: IGrant[];
  /** The level of every admitted user without a grant. */
  default_permission: PermissionLevel;
  /** The caller's effective level (admins: MANAGE). */
  my_permission: PermissionLevel;
  /** Where the caller's level comes from. */
  my_source?: IEffectiveLevel;
  can_manage: boolean;
}

/**
 * `GET api/labtrack/permissions/names` (MANAGE holders): hub user and group
 * names containing what was typed, and whether the hub knows that exact name
 * (`known`; null when no kind was asked or the hub did not answer).
 */
export interface IGranteeNames {
  users: string[];
  groups: string[];
  known: boolean | null;
  hub_answered: boolean;
}

/** The permission routes bound to one connection (what the model is given). */
export interface IPermissionsAPI {
  list(resource: IPermissionResource): Promise<IResourcePermissions>;
  grant(
    resource: IPermissionResource,
    kind: GranteeKind,
    grantee: string,
    level: PermissionLevel
  ): Promise<void>;
  revoke(
    resource: IPermissionResource,
    kind: GranteeKind,
    grantee: string
  ): Promise<void>;
  names(
    resource: IPermissionResource,
    kind: GranteeKind,
    typed: string
  ): Promise<IGranteeNames>;
}

/** Open the permissions dialog of a resource (wired by the plugin). */
export type OpenPermissions = (resource: IPermissionResource) => void;
