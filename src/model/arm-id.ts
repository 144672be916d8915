/**
 * The ARM-shaped ids and the service-set properties that `az ml` shows for online endpoints,
 * deployments and registered assets, made for oep's one local workspace. Scripts feed them to
 * other commands (`az monitor autoscale create --resource $(... --query id)`), so they have
 * Azure's exact shape; the subscription, resource group and workspace are fixed local names
 * (docs/behaviour.md "Ids and properties"). Pure: no I/O, times and names are passed in.
 */

/** Where oep's resources live, as the three parts of an ARM id name an Azure ML workspace. */
export interface WorkspaceScope {
  subscription: string;
  resourceGroup: string;
  workspace: string;
}

/** The local subscription, resource group and workspace every id oep shows is in. */
export const LOCAL_WORKSPACE: WorkspaceScope = {
  subscription: '00000000-0000-0000-0000-000000000000',
  resourceGroup: 'oep-local',
  workspace: 'local',
};

const PROVIDER = 'Microsoft.MachineLearningServices';

/** The workspace's ARM id; every other id extends it. */
export function workspaceResourceId(scope: WorkspaceScope = LOCAL_WORKSPACE): string {
  return `/subscriptions/${scope.subscription}/resourceGroups/${scope.resourceGroup}/providers/${PROVIDER}/workspaces/${scope.workspace}`;
}

/** `endpoint show`'s `id`: `.../workspaces/<ws>/onlineEndpoints/<name>`, in ARM's case. */
export function onlineEndpointResourceId(endpoint: string, scope: WorkspaceScope = LOCAL_WORKSPACE): string {
  return `${workspaceResourceId(scope)}/onlineEndpoints/${endpoint}`;
}

/** `deployment show`'s `id`: the endpoint's id, then `/deployments/<name>`. */
export function onlineDeploymentResourceId(endpoint: string, deployment: string, scope: WorkspaceScope = LOCAL_WORKSPACE): string {
  return `${onlineEndpointResourceId(endpoint, scope)}/deployments/${deployment}`;
}

/** `batch-endpoint show`'s `id`: `.../workspaces/<ws>/batchEndpoints/<name>`. */
export function batchEndpointResourceId(endpoint: string, scope: WorkspaceScope = LOCAL_WORKSPACE): string {
  return `${workspaceResourceId(scope)}/batchEndpoints/${endpoint}`;
}

/** `batch-deployment show`'s `id`: the batch endpoint's id, then `/deployments/<name>`. */
export function batchDeploymentResourceId(endpoint: string, deployment: string, scope: WorkspaceScope = LOCAL_WORKSPACE): string {
  return `${batchEndpointResourceId(endpoint, scope)}/deployments/${deployment}`;
}

/**
 * `model show` / `environment show`'s `id`. az prints a workspace asset's id with the `azureml:`
 * prefix (`azureml:/subscriptions/.../models/<name>/versions/<v>`), the form a deployment YAML
 * accepts as a reference (src/registry/references.ts parses it back).
 */
export function assetResourceId(kind: 'models' | 'environments' | 'data', name: string, version: string, scope: WorkspaceScope = LOCAL_WORKSPACE): string {
  return `azureml:${workspaceResourceId(scope)}/${kind}/${name}/versions/${version}`;
}

/**
 * The endpoint's `azureml.onlineendpointid` property. The service writes it all in lower case
 * (`/subscriptions/<sub>/resourcegroups/<rg>/providers/microsoft.machinelearningservices/
 * workspaces/<ws>/onlineendpoints/<name>`), unlike the `id` beside it; ARM ids are
 * case-insensitive, so `az monitor autoscale --resource` takes either.
 */
export function onlineEndpointIdProperty(endpoint: string, scope: WorkspaceScope = LOCAL_WORKSPACE): string {
  return onlineEndpointResourceId(endpoint, scope).toLowerCase();
}

/** What the service knows about an endpoint that its properties report. */
export interface EndpointFacts {
  endpoint: string;
  /** ISO 8601 (as oep's state keeps times). */
  createdAt: string;
  lastModifiedAt: string;
  /** Who created it: in Azure the signed-in user's display name; here the local user. */
  createdBy: string;
}

/**
 * An endpoint's `properties` as `endpoint show` prints them: the YAML's own properties, and the
 * ones the service sets (`azureml.onlineendpointid`, `createdAt`, `createdBy`, `lastModifiedAt`),
 * which win over a YAML key of the same name, since the service writes them. Azure's
 * `AzureAsyncOperationUri` (a management.azure.com URL to poll the last operation) is left out:
 * no such operation exists here, and a URL that looks real but cannot answer would mislead.
 */
export function endpointProperties(user: Readonly<Record<string, string>> | undefined, facts: EndpointFacts): Record<string, string> {
  const service: Record<string, string> = {
    'azureml.onlineendpointid': onlineEndpointIdProperty(facts.endpoint),
    createdAt: azureTimestamp(facts.createdAt),
    createdBy: facts.createdBy,
    lastModifiedAt: azureTimestamp(facts.lastModifiedAt),
  };
  return sortedKeys({ ...user, ...service });
}

/**
 * A deployment's `properties`: the YAML's own. The only one Azure adds is
 * `AzureAsyncOperationUri`, left out as for endpoints (see endpointProperties).
 */
export function deploymentProperties(user: Readonly<Record<string, string>> | undefined): Record<string, string> {
  return sortedKeys({ ...user });
}

/**
 * A time as the service writes it in properties: microseconds and a `+0000` offset
 * (`2026-04-17T16:55:44.738923+0000`). JavaScript times have milliseconds: the last three
 * digits are zeros. A string that is not a time is returned as it is.
 */
export function azureTimestamp(iso: string): string {
  const time = new Date(iso);
  if (Number.isNaN(time.getTime())) return iso;
  const [seconds, fraction = '000'] = time.toISOString().replace(/Z$/, '').split('.');
  return `${seconds}.${fraction.padEnd(6, '0')}+0000`;
}

/** az prints objects with their keys sorted; the views keep that order whatever the printer does. */
function sortedKeys(record: Record<string, string>): Record<string, string> {
  const sorted: Record<string, string> = {};
  for (const key of Object.keys(record).sort()) sorted[key] = record[key]!;
  return sorted;
}
