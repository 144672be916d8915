import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Restorer } from '../../src/daemon/restore.js';
import { OepError } from '../../src/errors.js';
import type { EndpointRoute } from '../../src/router/router.js';
import type { DeploymentSpec, EndpointSpec } from '../../src/spec/types.js';
import type { DeploymentRecord, OepState, ProvisioningState } from '../../src/state/types.js';
import type { DeployRequest, LiveReplica } from '../../src/supervisor/supervisor.js';

function deployment(name: string, provisioning_state: ProvisioningState = 'Succeeded'): DeploymentRecord {
  return {
    spec: { name, endpoint_name: 'ep', instance_count: 1, request_settings: { request_timeout_ms: 5000, max_concurrent_requests_per_instance: 1, max_queue_wait_ms: 500 } } as DeploymentSpec,
    runtime: 'docker',
    provisioning_state,
    generation: 1,
    created_at: '',
    updated_at: '',
  };
}

function stateWith(...deployments: DeploymentRecord[]): OepState {
  return {
    version: 1,
    endpoints: {
      ep: {
        spec: { name: 'ep', auth_mode: 'key', traffic: {}, mirror_traffic: {} } as unknown as EndpointSpec,
        port: 1,
        keys: { primary: 'p', secondary: 's' },
        token_secret: 'x',
        provisioning_state: 'Succeeded',
        created_at: '',
        updated_at: '',
        deployments: Object.fromEntries(deployments.map((record) => [record.spec.name, record])),
      },
    },
  };
}

/** A supervisor whose deploy fails `failures` times per deployment, then succeeds. */
class FakeSupervisor {
  readonly deploys: string[] = [];
  private readonly running = new Map<string, LiveReplica[]>();
  constructor(private failures: number) {}

  async deploy(request: DeployRequest): Promise<void> {
    this.deploys.push(request.spec.name);
    if (this.failures > 0) {
      this.failures -= 1;
      throw new OepError('OEP_ERR_DOCKER_UNAVAILABLE', 'No Docker engine answered.', { hint: 'Start Docker.' });
    }
    this.running.set(request.spec.name, [{ id: `${request.spec.name}/0`, origin: 'http://127.0.0.1:1', scoringPath: '/score', ready: true, inflight: 0 }]);
  }

  replicas(_endpoint: string, deployment: string): readonly LiveReplica[] {
    return this.running.get(deployment) ?? [];
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits for a condition; the deadline is far beyond what even a loaded machine needs. */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!condition()) {
    assert.ok(Date.now() < deadline, 'timed out');
    await sleep(5);
  }
}

describe('Restorer', () => {
  it('opens the listeners, retries a deployment that cannot start, and says why meanwhile', async () => {
    const state = stateWith(deployment('blue'), deployment('broken', 'Failed'));
    const supervisor = new FakeSupervisor(2);
    const routes: EndpointRoute[] = [];
    const logged: string[] = [];
    const restorer = new Restorer({
      store: { snapshot: () => state },
      supervisor,
      router: { upsert: async (route) => void routes.push(route) },
      log: (line) => logged.push(line),
      firstRetryMs: 10,
    });
    await restorer.restoreAll();
    assert.deepEqual(routes.map((route) => route.port), [1]);
    assert.equal(
      restorer.problem('ep', 'blue'),
      'Deployment blue of endpoint ep could not start after the daemon restarted: No Docker engine answered. Start Docker. oep keeps trying (next in 1 s).',
    );
    assert.deepEqual(restorer.all().length, 1);
    await until(() => restorer.problem('ep', 'blue') === undefined);
    assert.deepEqual(supervisor.deploys, ['blue', 'blue', 'blue'], 'a Failed deployment is not brought back');
    assert.deepEqual(logged, ['could not restore ep/blue: No Docker engine answered.', 'restored ep/blue']);
    assert.deepEqual(restorer.all(), []);
    restorer.close();
  });

  it('stops retrying a deployment that was deleted or updated meanwhile', async () => {
    const state = stateWith(deployment('blue'), deployment('green'));
    const supervisor = new FakeSupervisor(Number.POSITIVE_INFINITY);
    const restorer = new Restorer({ store: { snapshot: () => state }, supervisor, router: { upsert: async () => undefined }, log: () => undefined, firstRetryMs: 10 });
    await restorer.restoreAll();
    assert.equal(restorer.all().length, 2);
    delete state.endpoints.ep!.deployments.blue;
    state.endpoints.ep!.deployments.green = { ...deployment('green'), generation: 2 };
    await until(() => restorer.all().length === 0);
    const attempts = supervisor.deploys.length;
    await sleep(50);
    assert.equal(supervisor.deploys.length, attempts);
    restorer.close();
  });

  it('close() ends the retries', async () => {
    const supervisor = new FakeSupervisor(Number.POSITIVE_INFINITY);
    const restorer = new Restorer({ store: { snapshot: () => stateWith(deployment('blue')) }, supervisor, router: { upsert: async () => undefined }, log: () => undefined, firstRetryMs: 10 });
    await restorer.restoreAll();
    restorer.close();
    const attempts = supervisor.deploys.length;
    await sleep(50);
    assert.equal(supervisor.deploys.length, attempts);
  });
});
