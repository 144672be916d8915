import type { ContainerInput } from '../../src/runtimes/docker/container-spec.js';
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

/**
 * What planContainer is given for replica 0 of deployment `spec` (generation 1, image python:3.11,
 * oep's server at /opt/oep/server, no GPU); the overrides replace fields as given.
 */
export function containerInput(spec: DeploymentSpec, overrides: Partial<ContainerInput> = {}): ContainerInput {
  return {
    home: '/home/ada/.local/state/oep',
    endpoint: 'ep',
    deployment: 'blue',
    replica: 0,
    generation: 1,
    spec,
    image: { reference: 'python:3.11', id: 'sha256:111' },
    python: 'python3',
    server: { dir: '/opt/oep/server', digest: 'd1' },
    version: '0.1.0',
    gpu: false,
    ...overrides,
  };
}
