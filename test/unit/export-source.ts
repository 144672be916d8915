import { join } from 'node:path';
import { REPO_ROOT } from '../e2e/harness.js';
import type { ExportSource } from '../../src/export/kubernetes.js';
import { loadDeploymentSpec, loadEndpointSpec, unwrapSpec } from '../../src/spec/index.js';

/**
 * The endpoint the export tests use, built from examples/quickstart as test/e2e/export.test.ts
 * creates it with the CLI: blue (2 instances, 90%), green (3 s timeout, 10%) and shadow (10%
 * mirrored). Keys and timestamps are fixed here; the e2e test replaces its own with these.
 */
export const FIXTURE_KEYS = { primary: 'primary-key-for-tests', secondary: 'secondary-key-for-tests' };
export const FIXTURE_UPDATED_AT = '2025-01-02T03:04:05.678Z';

/** The deployments: name -> the --set overrides the e2e test creates them with. */
export const FIXTURE_DEPLOYMENTS: Record<string, string[]> = {
  // A secret in environment_variables: it goes to a Secret in secret.yaml, never the Deployment's file.
  blue: ['instance_count=2', 'environment_variables.DB_PASSWORD=hunter2-for-tests'],
  green: ['request_settings.request_timeout_ms=3000'],
  shadow: [],
};
export const FIXTURE_TRAFFIC = { blue: 90, green: 10 };
export const FIXTURE_MIRROR = { shadow: 10 };

export async function fixtureSource(): Promise<ExportSource> {
  const folder = join(REPO_ROOT, 'examples', 'quickstart');
  const endpoint = unwrapSpec(await loadEndpointSpec({ file: join(folder, 'endpoint.yml'), cwd: REPO_ROOT, name: 'export-e2e' }));
  const deployments = [];
  for (const [name, set] of Object.entries(FIXTURE_DEPLOYMENTS)) {
    const spec = unwrapSpec(await loadDeploymentSpec({ file: join(folder, 'blue-deployment.yml'), cwd: REPO_ROOT, name, endpointName: 'export-e2e', set }));
    deployments.push({ spec, generation: 1, updated_at: FIXTURE_UPDATED_AT });
  }
  return { endpoint: { ...endpoint, traffic: { ...FIXTURE_TRAFFIC }, mirror_traffic: { ...FIXTURE_MIRROR } }, keys: FIXTURE_KEYS, deployments };
}
