import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHandlers } from '../../src/daemon/controller.js';
import type { Handlers } from '../../src/daemon/server.js';
import type { ViewSources } from '../../src/daemon/views.js';
import { OepError } from '../../src/errors.js';
import type { EndpointRoute } from '../../src/router/router.js';
import type { EndpointSpec } from '../../src/spec/types.js';
import { oepPaths } from '../../src/state/paths.js';
import type { OepState, ProvisioningState } from '../../src/state/types.js';
import type { DeploymentIntent } from '../../src/supervisor/reconciler.js';
import { deploymentRecord, endpointRecord, endpointSpec, fakeControllerDeps, quietContext, useTemporaryHome } from './controller-support.js';
import { deploymentSpec } from './docker-fixtures.js';

/**
 * The controller as a table (issue 26 point 2): a state and one call, and either the error code
 * the call is refused with (the state then unchanged) or the state it leaves. The controller runs
 * with an in-memory state, a fake reconciler and router, and fake view sources (no secret or
 * certificate is derived from a home); a temporary home holds what a delete removes.
 */

/** One endpoint `ep` with the given deployments (all Succeeded) and live/mirror traffic. */
function endpoint(names: string[], options: { traffic?: Record<string, number>; mirror?: Record<string, number>; spec?: Partial<EndpointSpec>; state?: ProvisioningState } = {}): OepState {
  const spec = { traffic: options.traffic ?? {}, mirror_traffic: options.mirror ?? {}, ...options.spec };
  const record = endpointRecord(names.map((name) => deploymentRecord(name)), { spec, state: options.state });
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
    call: (handlers) => handlers['deployment.delete']({ endpoint: 'ep', name: 'green' }, quietContext()),
    error: 'OEP_ERR_DEPLOYMENT_HAS_TRAFFIC',
  },
  {
    name: 'delete of a deployment with mirror traffic only goes through',
    state: endpoint(['blue', 'green'], { traffic: { blue: 100 }, mirror: { green: 10 } }),
    call: (handlers) => handlers['deployment.delete']({ endpoint: 'ep', name: 'green' }, quietContext()),
    then: { ep: { state: 'Succeeded', traffic: { blue: 100 }, mirror: {}, deployments: { blue: 'Succeeded' } } },
    calls: ['remove ep/green'],
  },
  {
    name: `the ${LIMIT + 1}st deployment is refused`,
    state: endpoint(twenty),
    call: (handlers) => handlers['deployment.create']({ spec: deploymentSpec({ name: 'one-more' }), runtime: 'process' }, quietContext()),
    error: 'OEP_ERR_LIMIT_EXCEEDED',
  },
  {
    name: `the ${LIMIT}th deployment is created and rolled out`,
    state: endpoint(nineteen),
    call: (handlers) => handlers['deployment.create']({ spec: deploymentSpec({ name: 'last' }), runtime: 'process' }, quietContext()),
    then: { ep: { state: 'Succeeded', traffic: {}, mirror: {}, deployments: { ...Object.fromEntries(nineteen.map((name) => [name, 'Succeeded'])), last: 'Succeeded' } } },
    calls: ['apply ep/last generation 1'],
  },
  {
    name: 'a deployment that exists is not created again',
    state: endpoint(['blue']),
    call: (handlers) => handlers['deployment.create']({ spec: deploymentSpec({ name: 'blue' }), runtime: 'process' }, quietContext()),
    error: 'OEP_ERR_DEPLOYMENT_EXISTS',
  },
  {
    name: 'auth_mode does not change on update',
    state: endpoint(['blue']),
    call: (handlers) => handlers['endpoint.update']({ name: 'ep', spec: endpointSpec({ auth_mode: 'aml_token' }) }, quietContext()),
    error: 'OEP_ERR_SPEC_INVALID',
  },
  {
    name: 'compute does not change on update',
    state: endpoint(['blue']),
    call: (handlers) => handlers['endpoint.update']({ name: 'ep', spec: endpointSpec({ compute: 'azureml:k8s', kind: 'kubernetes' }) }, quietContext()),
    error: 'OEP_ERR_SPEC_INVALID',
  },
  {
    name: 'an update that keeps auth and compute sets the traffic',
    state: endpoint(['blue', 'green'], { traffic: { blue: 100 } }),
    call: (handlers) => handlers['endpoint.update']({ name: 'ep', spec: endpointSpec({ traffic: { blue: 50, green: 50 } }) }, quietContext()),
    then: { ep: { state: 'Succeeded', traffic: { blue: 50, green: 50 }, mirror: {}, deployments: { blue: 'Succeeded', green: 'Succeeded' } } },
    calls: ['route ep: blue,green'],
  },
  {
    name: 'traffic naming a deployment that does not exist is refused',
    state: endpoint(['blue']),
    call: (handlers) => handlers['endpoint.update']({ name: 'ep', traffic: { blue: 50, red: 50 } }, quietContext()),
    error: 'OEP_ERR_TRAFFIC_INVALID',
  },
  {
    name: 'an endpoint that exists is not created again',
    state: endpoint([]),
    call: (handlers) => handlers['endpoint.create']({ spec: endpointSpec() }, quietContext()),
    error: 'OEP_ERR_ENDPOINT_EXISTS',
  },
  {
    name: 'an endpoint being deleted takes no deployment',
    state: endpoint(['blue'], { state: 'Deleting' }),
    call: (handlers) => handlers['deployment.create']({ spec: deploymentSpec({ name: 'green' }), runtime: 'process' }, quietContext()),
    error: 'OEP_ERR_BEING_DELETED',
  },
  {
    name: 'a deployment deleted while it starts: the create says so and nothing of it runs',
    state: endpoint(['blue']),
    whileStarting: (state, intent) => void delete state.endpoints.ep!.deployments[intent.spec.name],
    call: (handlers) => handlers['deployment.create']({ spec: deploymentSpec({ name: 'green' }), runtime: 'process' }, quietContext()),
    error: 'OEP_ERR_DEPLOYMENT_NOT_FOUND',
    calls: ['apply ep/green generation 1', 'remove ep/green'],
  },
  {
    name: 'a deployment whose start fails is recorded Failed',
    state: endpoint(['blue']),
    whileStarting: () => {
      throw new OepError('OEP_ERR_DEPLOYMENT_FAILED', 'the scoring script raised');
    },
    call: (handlers) => handlers['deployment.update']({ spec: deploymentSpec({ name: 'blue' }), runtime: 'process' }, quietContext()),
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
  const deps = fakeControllerDeps(home, state, {
    reconciler: {
      apply: async (intent: DeploymentIntent) => {
        calls.push(`apply ${intent.endpoint}/${intent.spec.name} generation ${intent.generation}`);
        row.whileStarting?.(state, intent);
      },
      remove: async (endpoint: string, name: string) => void calls.push(`remove ${endpoint}/${name}`),
    },
    router: {
      upsert: async (route: EndpointRoute) => void calls.push(`route ${route.name}: ${Object.keys(route.deployments).join(',') || 'none'}`),
      remove: async (name: string) => void calls.push(`no listener for ${name}`),
    },
  });
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
  const home = useTemporaryHome('oep-controller-');

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
