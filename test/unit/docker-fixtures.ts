import type { DeploymentSpec } from '../../src/spec/types.js';

/** A complete, valid deployment spec (deployment blue of endpoint ep); the overrides replace fields as given. */
export function deploymentSpec(overrides: Partial<DeploymentSpec> = {}): DeploymentSpec {
  const probe = { initial_delay: 1, period: 1, timeout: 1, success_threshold: 1, failure_threshold: 2 };
  return {
    name: 'blue',
    endpoint_name: 'ep',
    tags: {},
    type: 'managed',
    environment_variables: {},
    instance_count: 1,
    app_insights_enabled: false,
    scale_settings: { type: 'default' },
    request_settings: { request_timeout_ms: 5000, max_concurrent_requests_per_instance: 1, max_queue_wait_ms: 500 },
    liveness_probe: probe,
    readiness_probe: probe,
    ...overrides,
  };
}

/** A deployment spec that differs from the base only in its environment (which may be missing or a reference). */
export function specWithEnvironment(environment: DeploymentSpec['environment']): DeploymentSpec {
  return deploymentSpec({ environment });
}
