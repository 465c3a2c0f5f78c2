/**
 * The team service's permission routes, as the permissions dialog uses them:
 * the grants on one experiment or registered model
 * (`api/labtrack/permissions`), and MLflow 3.17's grant and revoke
 * (`api/3.0/mlflow/users/permissions/grant|revoke`, with `group_name`
 * instead of `username` for a hub group), and the hub's user and group names
 * for the grant form (`api/labtrack/permissions/names`, MANAGE holders).
 * Served in team mode only.
 */

import { ServerConnection } from '@jupyterlab/services';
import { TranslationBundle } from '@jupyterlab/translation';

import { requestAPI } from '../api';
import {
  GranteeKind,
  IGranteeNames,
  IPermissionResource,
  IPermissionsAPI,
  IResourcePermissions
} from './protocol';

export * from './protocol';

const GRANTS_API = 'api/3.0/mlflow/users/permissions';

function grantBody(
  resource: IPermissionResource,
  kind: GranteeKind,
  grantee: string
): Record<string, string> {
  return {
    resource_type: resource.type,
    resource_id: resource.id,
    [kind === 'user' ? 'username' : 'group_name']: grantee
  };
}

export function createPermissionsAPI(
  settings?: ServerConnection.ISettings,
  trans?: TranslationBundle
): IPermissionsAPI {
  return {
    list: resource => {
      const query = new URLSearchParams({
        resource_type: resource.type,
        resource_id: resource.id
      });
      return requestAPI<IResourcePermissions>(
        `api/labtrack/permissions?${query.toString()}`,
        { method: 'GET' },
        settings,
        trans
      );
    },
    grant: async (resource, kind, grantee, level) => {
      const body = { ...grantBody(resource, kind, grantee), permission: level };
      await requestAPI(
        `${GRANTS_API}/grant`,
        { method: 'POST', body: JSON.stringify(body) },
        settings,
        trans
      );
    },
    revoke: async (resource, kind, grantee) => {
      await requestAPI(
        `${GRANTS_API}/revoke`,
        {
          method: 'POST',
          body: JSON.stringify(grantBody(resource, kind, grantee))
        },
        settings,
        trans
      );
    },
    names: (resource, kind, typed) => {
      const query = new URLSearchParams({
        resource_type: resource.type,
        resource_id: resource.id,
        kind,
        name: typed
      });
      return requestAPI<IGranteeNames>(
        `api/labtrack/permissions/names?${query.toString()}`,
        { method: 'GET' },
        settings,
        trans
      );
    }
  };
}
