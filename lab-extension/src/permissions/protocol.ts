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

export interface IGrant {
  grantee_kind: GranteeKind;
  grantee: string;
  permission: PermissionLevel;
}

/** `GET api/labtrack/permissions`: the grants, the default, the caller's own. */
export interface IResourcePermissions {
  permissions: IGrant[];
  /** The level of every admitted user without a grant. */
  default_permission: PermissionLevel;
  /** The caller's effective level (admins: MANAGE). */
  my_permission: PermissionLevel;
  can_manage: boolean;
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
}

/** Open the permissions dialog of a resource (wired by the plugin). */
export type OpenPermissions = (resource: IPermissionResource) => void;
