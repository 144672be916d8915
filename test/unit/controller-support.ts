import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { createHandlers, type ControllerDeps } from '../../src/daemon/controller.js';
import type { CallContext } from '../../src/daemon/server.js';
import type { ProgressEvent } from '../../src/model/progress.js';
import type { Router } from '../../src/router/router.js';
import type { EndpointSpec } from '../../src/spec/types.js';
import { oepPaths } from '../../src/state/paths.js';
import type { StateStore } from '../../src/state/store.js';
import type { DeploymentRecord, EndpointRecord, OepState, ProvisioningState, RuntimeKind } from '../../src/state/types.js';
import type { DeploymentIntent } from '../../src/supervisor/reconciler.js';
import { deploymentSpec } from './docker-fixtures.js';

/**
 * What the controller's unit tests share: a state with endpoint `ep` (key auth, managed) holding
 * the given deployments, and the controller over it with an in-memory store, a reconciler that
 * records what it is asked to run (its replicas ready at once) and a router that listens nowhere.
 */
export function stateWith(...deployments: DeploymentRecord[]): OepState {
  return { version: 1, endpoints: { ep: endpointRecord(deployments) } };
}

/** An endpoint's spec as the loader makes it (endpoint `ep`, key auth, managed, no traffic); `overrides` replace fields. */
export function endpointSpec(overrides: Partial<EndpointSpec> = {}): EndpointSpec {
  return { name: 'ep', tags: {}, auth_mode: 'key', traffic: {}, mirror_traffic: {}, public_network_access: 'enabled', kind: 'managed', ...overrides } as unknown as EndpointSpec;
}

/** Endpoint `ep`'s record (port 1, fixed keys, a system-assigned identity) holding `deployments`. */
export function endpointRecord(deployments: DeploymentRecord[], options: { spec?: Partial<EndpointSpec>; state?: ProvisioningState } = {}): EndpointRecord {
  return {
    spec: endpointSpec(options.spec),
    port: 1,
    keys: { primary: 'p', secondary: 's' },
    token_secret: 'x',
    identity: { type: 'system_assigned', tenant_id: 't', system: { principal_id: 'p', client_id: 'c' }, user_assigned_identities: [] },
    provisioning_state: options.state ?? 'Succeeded',
    created_at: '',
    updated_at: '',
    deployments: Object.fromEntries(deployments.map((record) => [record.spec.name, record])),
  };
}

/** Deployment `name` of `ep` as the daemon records it: the process runtime, generation 1. */
export function deploymentRecord(name: string, provisioning_state: ProvisioningState = 'Succeeded'): DeploymentRecord {
  return { spec: deploymentSpec({ name }), runtime: 'process', provisioning_state, generation: 1, created_at: '', updated_at: '' };
}

/** What a test may put in place of the fakes' parts; the reconciler's and router's methods one by one. */
export interface FakeDepsOptions extends Partial<Omit<ControllerDeps, 'reconciler' | 'router'>> {
  reconciler?: Partial<ControllerDeps['reconciler']>;
  router?: Partial<Pick<Router, 'upsert' | 'remove' | 'inflightOf'>>;
}

/**
 * The controller's dependencies over `state` (changed in place) in `home`: an in-memory store, a
 * reconciler that runs nothing and knows no replica, a router that listens nowhere, the process
 * runtime by default. A test replaces the parts whose calls it watches.
 */
export function fakeControllerDeps(home: string, state: OepState, options: FakeDepsOptions = {}): ControllerDeps {
  const { reconciler, router, ...rest } = options;
  return {
    paths: oepPaths(home),
    store: {
      snapshot: () => structuredClone(state),
      mutate: async <T>(change: (draft: OepState) => T | Promise<T>): Promise<T> => change(state),
    } as unknown as StateStore,
    reconciler: {
      apply: async () => undefined,
      remove: async () => undefined,
      replicas: () => [],
      logFile: () => '',
      problem: () => undefined,
      problems: () => [],
      replicaCount: () => 1,
      ...reconciler,
    },
    router: { upsert: async () => undefined, remove: async () => undefined, inflightOf: () => 0, ...router } as unknown as Router,
    defaultRuntime: async () => 'process',
    version: 'test',
    shutdown: () => undefined,
    ...rest,
  };
}

/** The controller over `state` (changed in place), and what the reconciler was asked to run. */
export function recordingController(state: OepState, defaultRuntime: RuntimeKind) {
  const intents: DeploymentIntent[] = [];
  const deps = fakeControllerDeps(process.env.OEP_HOME!, state, {
    reconciler: { apply: async (intent: DeploymentIntent) => void intents.push(intent) },
    defaultRuntime: async () => defaultRuntime,
    checkRuntime: async () => undefined,
  });
  return { handlers: createHandlers(deps), intents };
}

/** A call context that drops the progress events (for calls whose events a test does not read). */
export function quietContext(): CallContext {
  return { emit: () => undefined, log: () => undefined, accept: () => undefined, signal: new AbortController().signal };
}

/** A call context that keeps the progress events; `notices()` gives the notice lines. */
export function recordingContext(): { context: CallContext; notices: () => string[] } {
  const events: ProgressEvent[] = [];
  const context: CallContext = { emit: (event) => void events.push(event), log: () => undefined, accept: () => undefined, signal: new AbortController().signal };
  return { context, notices: () => events.filter((event) => event.phase === 'notice').map((event) => event.message) };
}

/**
 * OEP_HOME set to a fresh folder for the suite (the controller's paths), restored and removed
 * after. Returns the folder, for the tests that plant or look for files in it.
 */
export function useTemporaryHome(prefix: string): string {
  const home = mkdtempSync(join(tmpdir(), prefix));
  const saved = process.env.OEP_HOME;
  before(() => (process.env.OEP_HOME = home));
  after(() => {
    if (saved === undefined) delete process.env.OEP_HOME;
    else process.env.OEP_HOME = saved;
    rmSync(home, { recursive: true, force: true });
  });
  return home;
}
