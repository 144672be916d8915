import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { withSecretInjection } from '../../src/daemon/secret-injection.js';
import { saveConnection } from '../../src/registry/connections.js';
import type { DeploymentSpec } from '../../src/spec/types.js';
import type { StateStore } from '../../src/state/store.js';
import type { DeploymentRecord, OepState } from '../../src/state/types.js';
import type { DeploymentIntent } from '../../src/supervisor/reconciler.js';
import { deploymentSpec } from './docker-fixtures.js';

/**
 * The daemon's side of secret injection with a fake reconciler: what reaches `apply` (the values,
 * never in the state), the order at daemon start (replicas looked for only once every deployment
 * is wanted), a newer configuration never replaced by an older one, a failed resolution at start.
 */
const home = mkdtempSync(join(tmpdir(), 'oep-inject-unit-'));
after(() => rmSync(home, { recursive: true, force: true }));
const PLANT = 'planted-daemon-5c1f0e';

class FakeReconciler {
  readonly calls: string[] = [];
  readonly applied: DeploymentIntent[] = [];
  apply(intent: DeploymentIntent): Promise<void> {
    this.calls.push(`apply ${intent.spec.name} gen ${intent.generation}${intent.failed ? ' failed' : ''}`);
    this.applied.push(intent);
    return Promise.resolve();
  }
  observe(): Promise<void> {
    this.calls.push('observe');
    return Promise.resolve();
  }
  waitForReplica(_endpoint: string, _deployment: string, _timeoutMs: number): Promise<boolean> {
    this.calls.push('wait');
    return Promise.resolve(true);
  }
  replicas(): string[] {
    return ['own method'];
  }
}

function fakeStore(deployments: Record<string, { spec: DeploymentSpec; generation: number; provisioning_state?: DeploymentRecord['provisioning_state'] }>) {
  const state = {
    version: 1,
    endpoints: {
      ep: {
        spec: { name: 'ep' },
        deployments: Object.fromEntries(
          Object.entries(deployments).map(([name, item]) => [name, { spec: item.spec, generation: item.generation, provisioning_state: item.provisioning_state ?? 'Succeeded', runtime: 'process' }]),
        ),
      },
    },
  } as unknown as OepState;
  const store: Pick<StateStore, 'snapshot' | 'mutate'> & { state: OepState } = {
    state,
    snapshot: () => state,
    mutate: (async (change: (value: OepState) => unknown) => change(state)) as StateStore['mutate'],
  };
  return store;
}

const referenced = (name: string, connection = 'c1'): DeploymentSpec =>
  deploymentSpec({ name, endpoint_name: 'ep', environment_variables: { KEY: `\${{azureml://connections/${connection}/credentials/key}}`, PLAIN: 'p' } });

describe('withSecretInjection: the reconciler gets the values, the state keeps the references', async () => {
  await saveConnection(home, { name: 'c1', type: 'api_key', tags: {}, is_shared: true, target: 'https://t', metadata: {}, credentials: { type: 'api_key', key: PLANT } });

  it('a configuration with references reaches apply resolved; one without goes through untouched and at once', async () => {
    const fake = new FakeReconciler();
    const store = fakeStore({ blue: { spec: referenced('blue'), generation: 1 }, plain: { spec: deploymentSpec({ name: 'plain', endpoint_name: 'ep' }), generation: 1 } });
    const lines: string[] = [];
    const injecting = withSecretInjection(fake, { home, store, keyvaultSource: async () => 'local', log: (line) => lines.push(line) });
    void injecting.apply({ endpoint: 'ep', spec: deploymentSpec({ name: 'plain', endpoint_name: 'ep' }), runtime: 'process', generation: 1 });
    assert.deepEqual(fake.calls, ['apply plain gen 1'], 'synchronously, as without secret injection');
    await injecting.apply({ endpoint: 'ep', spec: referenced('blue'), runtime: 'process', generation: 1 });
    assert.deepEqual(fake.applied[1]!.spec.environment_variables, { KEY: PLANT, PLAIN: 'p' });
    assert.equal(store.state.endpoints.ep!.deployments.blue!.spec.environment_variables.KEY, '${{azureml://connections/c1/credentials/key}}');
    assert.deepEqual(lines, ['ep/blue: generation 1: injected 1 secret reference(s) (KEY) from connection']);
    assert.deepEqual(injecting.replicas(), ['own method'], 'other methods are the reconciler\'s');
  });

  it('an older configuration resolved after a newer one was recorded is never applied', async () => {
    const fake = new FakeReconciler();
    const store = fakeStore({ blue: { spec: referenced('blue'), generation: 3 } });
    const injecting = withSecretInjection(fake, { home, store, keyvaultSource: async () => 'local', log: () => undefined });
    await assert.rejects(injecting.apply({ endpoint: 'ep', spec: referenced('blue'), runtime: 'process', generation: 2 }), /configuration 2 was replaced while its secrets were resolved/);
    assert.deepEqual(fake.calls, []);
  });

  it('at daemon start, replicas are looked for only once every deployment (with or without references) is wanted', async () => {
    const fake = new FakeReconciler();
    const store = fakeStore({ blue: { spec: referenced('blue'), generation: 1 }, plain: { spec: deploymentSpec({ name: 'plain', endpoint_name: 'ep' }), generation: 1 } });
    const injecting = withSecretInjection(fake, { home, store, keyvaultSource: async () => 'local', log: () => undefined });
    // As restore.ts does: observe, then every apply, in one go.
    const observed = injecting.observe();
    const applies = [
      injecting.apply({ endpoint: 'ep', spec: referenced('blue'), runtime: 'process', generation: 1, restore: true }),
      injecting.apply({ endpoint: 'ep', spec: deploymentSpec({ name: 'plain', endpoint_name: 'ep' }), runtime: 'process', generation: 1, restore: true }),
    ];
    const waited = injecting.waitForReplica('ep', 'blue', 5000);
    assert.deepEqual(fake.calls, [], 'held while the references resolve');
    await observed;
    await Promise.all(applies);
    assert.equal(await waited, true);
    assert.deepEqual(fake.calls, ['observe', 'apply plain gen 1', 'apply blue gen 1', 'wait']);
    assert.equal(fake.applied.find((intent) => intent.spec.name === 'blue')!.spec.environment_variables.KEY, PLANT);
  });

  it('a reference that no longer resolves at daemon start fails the deployment (phase secrets), and what it left is stopped', async () => {
    const fake = new FakeReconciler();
    const store = fakeStore({ blue: { spec: referenced('blue', 'gone'), generation: 4 } });
    const lines: string[] = [];
    const injecting = withSecretInjection(fake, { home, store, keyvaultSource: async () => 'local', log: (line) => lines.push(line) });
    void injecting.observe();
    await assert.rejects(injecting.apply({ endpoint: 'ep', spec: referenced('blue', 'gone'), runtime: 'process', generation: 4, restore: true }), (error: Error & { code?: string; phase?: string }) => {
      assert.equal(error.code, 'OEP_ERR_DEPLOYMENT_FAILED');
      assert.equal(error.phase, 'secrets');
      return true;
    });
    const record = store.state.endpoints.ep!.deployments.blue!;
    assert.equal(record.provisioning_state, 'Failed');
    assert.deepEqual(record.failure, {
      phase: 'secrets',
      message: 'Deployment blue: SecretsInjectionError: a secret reference in environment_variables cannot be resolved.',
      details: ['environment_variables.KEY: SecretsInjectionError: ${{azureml://connections/gone/credentials/key}}: connection gone does not exist (the connections are c1).'],
    });
    assert.deepEqual(fake.calls, ['observe', 'apply blue gen 4 failed']);
    assert.match(lines[0] ?? '', /^ep\/blue: Deployment blue: SecretsInjectionError/);
  });
});
