/**
 * Cross-field rules: what one JSON Schema node cannot say. They run on the data after defaults,
 * even when the schema step found problems, so they guard every value they read.
 */
import { isRecord } from './plain-data.js';
import type { PathSegment, RawProblem } from './problem.js';
import type { DeploymentType } from './types.js';

/** Endpoint and deployment names: 3-32 characters (checked separately). */
export const NAME_PATTERN = /^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/;

/** Why `name` cannot name an endpoint or deployment, or undefined when it can. */
export function checkResourceName(name: string): string | undefined {
  if (name.length < 3 || name.length > 32) return `Invalid name "${name}": use 3-32 characters, not ${name.length}.`;
  if (!NAME_PATTERN.test(name)) {
    return `Invalid name "${name}": start with a letter, use only letters, digits and hyphens, and end with a letter or digit.`;
  }
  return undefined;
}

export function checkEndpointRules(data: Record<string, unknown>): RawProblem[] {
  const problems = checkNames(data, ['name']);
  const traffic = isRecord(data.traffic) ? data.traffic : {};
  const percentages = Object.values(traffic).filter((v): v is number => typeof v === 'number');
  const sum = percentages.reduce((a, b) => a + b, 0);
  if (sum !== 0 && sum !== 100) {
    problems.push({
      path: ['traffic'],
      at: 'key',
      message: `Traffic adds up to ${sum}; make it add up to 100, or to 0 for no live traffic.`,
    });
  }
  const mirror = isRecord(data.mirror_traffic) ? data.mirror_traffic : {};
  for (const [deployment, percent] of Object.entries(mirror)) {
    const live = traffic[deployment];
    if (typeof percent === 'number' && percent > 0 && typeof live === 'number' && live > 0) {
      problems.push({
        path: ['mirror_traffic', deployment],
        at: 'key',
        message: `Deployment "${deployment}" already gets live traffic (traffic.${deployment}: ${live}); a deployment gets live or mirrored traffic, not both.`,
        hint: `mirror a deployment without live traffic, or set traffic.${deployment} to 0`,
      });
    }
  }
  problems.push(...checkIdentity(data.identity));
  problems.push(...checkSecretStoreAccess(data));
  return problems;
}

/**
 * properties.enforce_access_to_default_secret_stores (secret injection): enabled or disabled, and
 * enabled only with a system-assigned identity, as Azure refuses it with a user-assigned one.
 */
function checkSecretStoreAccess(data: Record<string, unknown>): RawProblem[] {
  const properties = isRecord(data.properties) ? data.properties : {};
  const value = properties.enforce_access_to_default_secret_stores;
  if (value === undefined) return [];
  const path = ['properties', 'enforce_access_to_default_secret_stores'];
  if (value !== 'enabled' && value !== 'disabled') {
    return [{ path, at: 'value', message: 'Must be enabled or disabled.', hint: 'enabled lets the endpoint\'s system-assigned identity read the workspace\'s connections (secret injection); disabled is the default' }];
  }
  const identity = isRecord(data.identity) ? data.identity : {};
  if (value === 'enabled' && identity.type === 'user_assigned') {
    return [
      {
        path,
        at: 'value',
        message: 'enforce_access_to_default_secret_stores cannot be enabled on an endpoint with a user-assigned identity.',
        hint: "remove it (give the user-assigned identity access to the connections or Key Vault yourself, as Azure asks), or use identity type system_assigned",
      },
    ];
  }
  return [];
}

/** An ARM id of a user-assigned managed identity, as Azure requires in `resource_id`. */
const USER_ASSIGNED_ID = /^\/subscriptions\/[^/]+\/resource[gG]roups\/[^/]+\/providers\/Microsoft\.ManagedIdentity\/userAssignedIdentities\/[^/]+$/i;

function checkIdentity(identity: unknown): RawProblem[] {
  if (!isRecord(identity)) return [];
  const problems: RawProblem[] = [];
  const assigned = Array.isArray(identity.user_assigned_identities) ? identity.user_assigned_identities : [];
  if (identity.type === 'user_assigned' && assigned.length === 0) {
    problems.push({
      path: ['identity', 'type'],
      at: 'value',
      message: 'A user_assigned identity needs user_assigned_identities with the resource_id of each identity.',
      hint: 'add user_assigned_identities: [{resource_id: /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>}], or use type: system_assigned',
    });
  }
  if (identity.type === 'system_assigned' && assigned.length > 0) {
    problems.push({
      path: ['identity', 'user_assigned_identities'],
      at: 'key',
      message: 'user_assigned_identities go with type: user_assigned.',
      hint: 'set identity.type to user_assigned, or remove user_assigned_identities',
    });
  }
  assigned.forEach((item, index) => {
    const id = isRecord(item) ? item.resource_id : undefined;
    if (typeof id === 'string' && !USER_ASSIGNED_ID.test(id.trim())) {
      problems.push({
        path: ['identity', 'user_assigned_identities', index, 'resource_id'],
        at: 'value',
        message: `"${id}" is not the ARM id of a user-assigned identity.`,
        hint: 'use /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name> (az identity show --query id -o tsv prints it)',
      });
    }
  });
  return problems;
}

const TARGET_UTILIZATION_KEYS = ['min_instances', 'max_instances', 'target_utilization_percentage', 'polling_interval'];

/**
 * What online and batch deployments share: their names, the environment's shape, and a scoring
 * script that needs an environment to run in.
 */
export function checkNamesAndEnvironment(data: Record<string, unknown>): RawProblem[] {
  const problems = checkNames(data, ['name', 'endpoint_name']);
  const env = data.environment;
  if (isRecord(env)) problems.push(...checkEnvironmentShape(env, ['environment']));
  if (data.code_configuration !== undefined && env === undefined) {
    problems.push({
      path: ['code_configuration'],
      at: 'key',
      message: 'Needs an environment to run in.',
      hint: 'add environment: an inline image or build, or azureml:<name>:<version>',
    });
  }
  return problems;
}

export function checkDeploymentRules(data: Record<string, unknown>, type: DeploymentType): RawProblem[] {
  const problems = checkNamesAndEnvironment(data);
  if (type === 'kubernetes' && isRecord(data.scale_settings)) problems.push(...checkScaleSettings(data.scale_settings));
  return problems;
}

/** An environment (inline in a deployment, or an asset) runs an image or builds one, not both. */
export function checkEnvironmentShape(env: Record<string, unknown>, at: PathSegment[]): RawProblem[] {
  const problems: RawProblem[] = [];
  const hasImage = env.image !== undefined;
  const hasBuild = env.build !== undefined;
  if (hasImage && hasBuild) {
    problems.push({
      path: at,
      at: 'key',
      message: 'Set either image or build, not both.',
      hint: 'image runs a ready-made Docker image; build builds one from a Dockerfile',
    });
  } else if (!hasImage && !hasBuild) {
    problems.push({ path: at, at: 'key', message: 'Set image (a Docker image) or build (a directory with a Dockerfile).' });
  }
  if (env.conda_file !== undefined && hasBuild && !hasImage) {
    problems.push({
      path: [...at, 'conda_file'],
      at: 'key',
      message: 'Only works with image; this environment uses build.',
      hint: 'install the conda environment in the Dockerfile instead, or use image',
    });
  }
  return problems;
}

/** Each of `keys` that holds a string follows Azure's resource name rule (batch specs check theirs with it too). */
export function checkNames(data: Record<string, unknown>, keys: string[]): RawProblem[] {
  const problems: RawProblem[] = [];
  for (const key of keys) {
    const value = data[key];
    const message = typeof value === 'string' ? checkResourceName(value) : undefined;
    if (message !== undefined) problems.push({ path: [key], at: 'value', message });
  }
  return problems;
}

function checkScaleSettings(settings: Record<string, unknown>): RawProblem[] {
  if (settings.type !== 'target_utilization') {
    return TARGET_UTILIZATION_KEYS.filter((key) => settings[key] !== undefined).map((key) => ({
      path: ['scale_settings', key],
      at: 'key',
      message: 'Only used when scale_settings.type is target_utilization.',
      hint: `set scale_settings.type: target_utilization, or remove ${key}`,
    }));
  }
  const { min_instances: min, max_instances: max } = settings;
  if (typeof min === 'number' && typeof max === 'number' && min > max) {
    return [{ path: ['scale_settings', 'min_instances'], at: 'value', message: `Must not exceed max_instances (${max}).` }];
  }
  return [];
}
