import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createHandlers, type ControllerDeps } from '../../src/daemon/controller.js';
import type { CallContext, Handlers } from '../../src/daemon/server.js';
import type { ViewSources } from '../../src/daemon/views.js';
import { OepError } from '../../src/errors.js';
import type { EndpointRoute, Router } from '../../src/router/router.js';
import type { EndpointSpec } from '../../src/spec/types.js';
import { oepPaths } from '../../src/state/paths.js';
import type { StateStore } from '../../src/state/store.js';
import type { DeploymentRecord, EndpointRecord, OepState, ProvisioningState } from '../../src/state/types.js';
import type { DeploymentIntent } from '../../src/supervisor/reconciler.js';
import { deploymentSpec } from './docker-fixtures.js';

/**
 * The controller as a table (issue 26 point 2): a state and one call, and either the error code
 * the call is refused with (the state then unchanged) or the state it leaves. The controller runs
 * with an in-memory state, a fake reconciler and router, and fake view sources (no secret or
 * certificate is derived from a home); a temporary home holds what a delete removes.
 */

const quiet = (): CallContext => ({ emit: () => undefined, log: () => undefined, accept: () => undefined, signal: new AbortController().signal });

/** An endpoint's spec as the loader makes it (auth key, managed, no traffic). */
function endpointSpec(overrides: Partial<EndpointSpec> = {}): EndpointSpec {
  return { name: 'ep', tags: {}, auth_mode: 'key', traffic: {}, mirror_traffic: {}, public_network_access: 'enabled', kind: 'managed', ...overrides } as unknown as EndpointSpec;
}

function deployment(name: string, provisioning_state: ProvisioningState = 'Succeeded'): DeploymentRecord {
  return { spec: deploymentSpec({ name }), runtime: 'process', provisioning_state, generation: 1, created_at: '', updated_at: '' };
}

/** One endpoint `ep` with the given deployments (all Succeeded) and live/mirror traffic. */
function endpoint(names: string[], options: { traffic?: Record<string, number>; mirror?: Record<string, number>; spec?: Partial<EndpointSpec>; state?: ProvisioningState } = {}): OepState {
  const record: EndpointRecord = {
    spec: endpointSpec({ traffic: options.traffic ?? {}, mirror_traffic: options.mirror ?? {}, ...options.spec }),
    port: 1,
    keys: { primary: 'p', secondary: 's' },
    token_secret: 'x',
    identity: { type: 'system_assigned', tenant_id: 't', system: { principal_id: 'p', client_id: 'c' }, user_assigned_identities: [] },
    provisioning_state: options.state ?? 'Succeeded',
    created_at: '',
    updated_at: '',
    deployments: Object.fromEntries(names.map((name) => [name, deployment(name)])),
  };
  return { version: 1, endpoints: { ep: record } };
}

/** The part of a state a row compares: each endpoint's state and traffic, each deployment's state. */
function summary(state: OepState): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(state.endpoints).map(([name, record]) => [
      name,
      {
        state: record.provisioning_state,
        traffic: record.spec.traffic,
        mirror: record.spec.mirror_traffic,
        deployments: Object.fromEntries(Object.entries(record.deployments).map(([id, item]) => [id, item.provisioning_state])),
      },
    ]),
  );
}

interface Row {
  name: string;
  state: OepState;
  call: (handlers: Handlers) => Promise<unknown>;
  /** What the fake reconciler does while a deployment starts (e.g. the deployment is deleted meanwhile). */
  whileStarting?: (state: OepState, intent: DeploymentIntent) => void;
  /** The error code the call is refused with; the state must then be as it was. */
  error?: string;
  /** Else: the state the call leaves (summary()). */
  then?: Record<string, unknown>;
  /** The reconciler and router calls the row expects among those recorded (in order). */
  calls?: string[];
}

/** Azure's limit, written out: a change of the constant must show here. */
const LIMIT = 20;
const twenty = Array.from({ length: LIMIT }, (_, index) => `d${index}`);
const nineteen = twenty.slice(1);
const table: Row[] = [
  {
    name: 'delete of a deployment with live traffic is refused',
    state: endpoint(['blue', 'green'], { traffic: { blue: 90, green: 10 } }),
    call: (handlers) => handlers['deployment.delete']({ endpoint: 'ep', name: 'green' }, quiet()),
    error: 'OEP_ERR_DEPLOYMENT_HAS_TRAFFIC',
  },
  {
    name: 'delete of a deployment with mirror traffic only goes through',
    state: endpoint(['blue', 'green'], { traffic: { blue: 100 }, mirror: { green: 10 } }),
    call: (handlers) => handlers['deployment.delete']({ endpoint: 'ep', name: 'green' }, quiet()),
    then: { ep: { state: 'Succeeded', traffic: { blue: 100 }, mirror: {}, deployments: { blue: 'Succeeded' } } },
    calls: ['remove ep/green'],
  },
  {
    name: `the ${LIMIT + 1}st deployment is refused`,
    state: endpoint(twenty),
    call: (handlers) => handlers['deployment.create']({ spec: deploymentSpec({ name: 'one-more' }), runtime: 'process' }, quiet()),
    error: 'OEP_ERR_LIMIT_EXCEEDED',
  },
  {
    name: `the ${LIMIT}th deployment is created and rolled out`,
    state: endpoint(nineteen),
    call: (handlers) => handlers['deployment.create']({ spec: deploymentSpec({ name: 'last' }), runtime: 'process' }, quiet()),
    then: { ep: { state: 'Succeeded', traffic: {}, mirror: {}, deployments: { ...Object.fromEntries(nineteen.map((name) => [name, 'Succeeded'])), last: 'Succeeded' } } },
    calls: ['apply ep/last generation 1'],
  },
  {
    name: 'a deployment that exists is not created again',
    state: endpoint(['blue']),
    call: (handlers) => handlers['deployment.create']({ spec: deploymentSpec({ name: 'blue' }), runtime: 'process' }, quiet()),
    error: 'OEP_ERR_DEPLOYMENT_EXISTS',
  },
  {
    name: 'auth_mode does not change on update',
    state: endpoint(['blue']),
    call: (handlers) => handlers['endpoint.update']({ name: 'ep', spec: endpointSpec({ auth_mode: 'aml_token' }) }, quiet()),
    error: 'OEP_ERR_SPEC_INVALID',
  },
  {
    name: 'compute does not change on update',
    state: endpoint(['blue']),
    call: (handlers) => handlers['endpoint.update']({ name: 'ep', spec: endpointSpec({ compute: 'azureml:k8s', kind: 'kubernetes' }) }, quiet()),
    error: 'OEP_ERR_SPEC_INVALID',
  },
  {
    name: 'an update that keeps auth and compute sets the traffic',
    state: endpoint(['blue', 'green'], { traffic: { blue: 100 } }),
    call: (handlers) => handlers['endpoint.update']({ name: 'ep', spec: endpointSpec({ traffic: { blue: 50, green: 50 } }) }, quiet()),
    then: { ep: { state: 'Succeeded', traffic: { blue: 50, green: 50 }, mirror: {}, deployments: { blue: 'Succeeded', green: 'Succeeded' } } },
    calls: ['route ep: blue,green'],
  },
  {
    name: 'traffic naming a deployment that does not exist is refused',
    state: endpoint(['blue']),
    call: (handlers) => handlers['endpoint.update']({ name: 'ep', traffic: { blue: 50, red: 50 } }, quiet()),
    error: 'OEP_ERR_TRAFFIC_INVALID',
  },
  {
    name: 'an endpoint that exists is not created again',
    state: endpoint([]),
    call: (handlers) => handlers['endpoint.create']({ spec: endpointSpec() }, quiet()),
    error: 'OEP_ERR_ENDPOINT_EXISTS',
  },
  {
    name: 'an endpoint being deleted takes no deployment',
    state: endpoint(['blue'], { state: 'Deleting' }),
    call: (handlers) => handlers['deployment.create']({ spec: deploymentSpec({ name: 'green' }), runtime: 'process' }, quiet()),
    error: 'OEP_ERR_BEING_DELETED',
  },
  {
    name: 'a deployment deleted while it starts: the create says so and nothing of it runs',
    state: endpoint(['blue']),
    whileStarting: (state, intent) => void delete state.endpoints.ep!.deployments[intent.spec.name],
    call: (handlers) => handlers['deployment.create']({ spec: deploymentSpec({ name: 'green' }), runtime: 'process' }, quiet()),
    error: 'OEP_ERR_DEPLOYMENT_NOT_FOUND',
    calls: ['apply ep/green generation 1', 'remove ep/green'],
  },
  {
    name: 'a deployment whose start fails is recorded Failed',
    state: endpoint(['blue']),
    whileStarting: () => {
      throw new OepError('OEP_ERR_DEPLOYMENT_FAILED', 'the scoring script raised');
    },
    call: (handlers) => handlers['deployment.update']({ spec: deploymentSpec({ name: 'blue' }), runtime: 'process' }, quiet()),
    error: 'OEP_ERR_DEPLOYMENT_FAILED',
    then: { ep: { state: 'Succeeded', traffic: {}, mirror: {}, deployments: { blue: 'Failed' } } },
  },
];

/** The controller over `state` with fakes that record what they are asked. */
function controller(home: string, row: Row) {
  const state = structuredClone(row.state);
  const calls: string[] = [];
  const views: ViewSources = {
    paths: oepPaths(home),
    replicaSecret: (endpoint, name) => `secret of ${endpoint}/${name}`,
    certificate: () => assert.fail('no row turns TLS on'),
    userName: 'tester',
  };
  const deps: ControllerDeps = {
    paths: oepPaths(home),
    store: {
      snapshot: () => structuredClone(state),
      mutate: async <T>(change: (draft: OepState) => T | Promise<T>): Promise<T> => change(state),
    } as unknown as StateStore,
    reconciler: {
      apply: async (intent: DeploymentIntent) => {
        calls.push(`apply ${intent.endpoint}/${intent.spec.name} generation ${intent.generation}`);
        row.whileStarting?.(state, intent);
      },
      remove: async (endpoint: string, name: string) => void calls.push(`remove ${endpoint}/${name}`),
      replicas: () => [],
      logFile: () => '',
      problem: () => undefined,
      problems: () => [],
      replicaCount: () => 1,
    },
    router: {
      upsert: async (route: EndpointRoute) => void calls.push(`route ${route.name}: ${Object.keys(route.deployments).join(',') || 'none'}`),
      remove: async (name: string) => void calls.push(`no listener for ${name}`),
      inflightOf: () => 0,
    } as unknown as Router,
    defaultRuntime: async () => 'process',
    version: 'test',
    shutdown: () => undefined,
  };
  return { handlers: createHandlers(deps, views), calls, state };
}

/** `expected` appears in `actual` in this order (other calls may come between). */
function assertInOrder(actual: string[], expected: string[]): void {
  let from = 0;
  for (const call of expected) {
    const at = actual.indexOf(call, from);
    assert.ok(at >= 0, `expected "${call}" after position ${from} in:\n${actual.join('\n')}`);
    from = at + 1;
  }
}

describe('controller: {state, call} -> error code | new state', () => {
  let home = '';
  before(() => {
    home = mkdtempSync(join(tmpdir(), 'oep-controller-'));
  });
  after(() => rmSync(home, { recursive: true, force: true }));

  for (const row of table) {
    it(row.name, async () => {
      const { handlers, calls, state } = controller(home, row);
      const outcome = await row.call(handlers).then(
        () => undefined,
        (error: unknown) => error,
      );
      if (row.error) {
        assert.ok(outcome instanceof OepError, `expected ${row.error}, got ${String(outcome)}`);
        assert.equal(outcome.code, row.error, outcome.message);
        // Refused before anything was recorded: the state is as it was (a roll-out's outcome aside).
        if (!row.then && !row.calls) assert.deepEqual(summary(state), summary(row.state));
      } else {
        assert.equal(outcome, undefined, String(outcome));
      }
      if (row.then) assert.deepEqual(summary(state), row.then);
      if (row.calls) assertInOrder(calls, row.calls);
    });
  }
});
