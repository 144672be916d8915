/**
 * Turns validated, defaulted data into the spec the rest of oep uses. Only called when there are
 * no errors, so the shapes are the ones the schemas guarantee.
 */
import { isRecord } from './plain-data.js';
import { DEPLOYMENT_READ_ONLY_KEYS, ENDPOINT_READ_ONLY_KEYS } from './types.js';
import type { AuthMode, DeploymentSpec, DeploymentType, EndpointKind, EndpointSpec } from './types.js';

const AUTH_MODE_ALIASES: Record<string, AuthMode> = { Key: 'key', AMLToken: 'aml_token', AADToken: 'aad_token' };

export function toEndpointSpec(data: Record<string, unknown>, kind: EndpointKind): EndpointSpec {
  const spec = without(data, ['$schema', ...ENDPOINT_READ_ONLY_KEYS]) as unknown as EndpointSpec;
  spec.auth_mode = AUTH_MODE_ALIASES[spec.auth_mode] ?? spec.auth_mode;
  spec.traffic = withoutZeros(spec.traffic);
  spec.mirror_traffic = withoutZeros(spec.mirror_traffic ?? {});
  spec.kind = kind;
  return spec;
}

export function toDeploymentSpec(data: Record<string, unknown>, type: DeploymentType): DeploymentSpec {
  const spec = without(data, ['$schema', ...DEPLOYMENT_READ_ONLY_KEYS]);
  spec.type = type;
  for (const key of ['model', 'environment']) {
    const inline = spec[key];
    if (isRecord(inline) && inline.version !== undefined) inline.version = String(inline.version);
  }
  if (isRecord(spec.data_collector) && typeof spec.data_collector.rolling_rate === 'string') {
    // Azure's docs write Hour, its samples hour.
    spec.data_collector.rolling_rate = spec.data_collector.rolling_rate.toLowerCase();
  }
  const collections = isRecord(spec.data_collector) ? spec.data_collector.collections : undefined;
  for (const collection of Object.values(isRecord(collections) ? collections : {})) {
    if (!isRecord(collection)) continue;
    // Azure's samples write enabled: 'True'.
    if (collection.enabled !== undefined) collection.enabled = collection.enabled === true || /^true$/i.test(String(collection.enabled));
    if (isRecord(collection.data) && collection.data.version !== undefined) collection.data.version = String(collection.data.version);
  }
  const resources = isRecord(spec.resources) ? spec.resources : {};
  for (const quantities of [resources.requests, resources.limits]) {
    if (!isRecord(quantities)) continue;
    for (const [name, amount] of Object.entries(quantities)) quantities[name] = String(amount);
  }
  return spec as unknown as DeploymentSpec;
}

function without(data: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(data).filter(([key]) => !keys.includes(key)));
}

function withoutZeros(percentages: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(percentages).filter(([, percent]) => percent !== 0));
}
