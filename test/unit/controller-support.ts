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
import type { DeploymentRecord, OepState, RuntimeKind } from '../../src/state/types.js';
import type { DeploymentIntent } from '../../src/supervisor/reconciler.js';

/**
 * What the controller's unit tests share: a state with endpoint `ep` (key auth, managed) holding
 * the given deployments, and the controller over it with an in-memory store, a reconciler that
 * records what it is asked to run (its replicas ready at once) and a router that listens nowhere.
 */
export function stateWith(...deployments: DeploymentRecord[]): OepState {
  return {
    version: 1,
    endpoints: {
      ep: {
        spec: { name: 'ep', tags: {}, auth_mode: 'key', traffic: {}, mirror_traffic: {}, public_network_access: 'enabled', kind: 'managed' } as EndpointSpec,
        port: 1,
        keys: { primary: 'p', secondary: 's' },
        token_secret: 'x',
        identity: { type: 'system_assigned', tenant_id: 't', system: { principal_id: 'p', client_id: 'c' }, user_assigned_identities: [] },
        provisioning_state: 'Succeeded',
        created_at: '',
        updated_at: '',
        deployments: Object.fromEntries(deployments.map((record) => [record.spec.name, record])),
      },
    },
  };
}

/** The controller over `state` (changed in place), and what the reconciler was asked to run. */
export function recordingController(state: OepState, defaultRuntime: RuntimeKind) {
  const intents: DeploymentIntent[] = [];
  const deps: ControllerDeps = {
    paths: oepPaths(process.env.OEP_HOME!),
    store: {
      snapshot: () => structuredClone(state),
      mutate: async <T>(change: (draft: OepState) => T | Promise<T>): Promise<T> => change(state),
    } as unknown as StateStore,
    reconciler: {
      apply: async (intent: DeploymentIntent) => void intents.push(intent),
      remove: async () => undefined,
      replicas: () => [],
      logFile: () => '',
      problem: () => undefined,
      problems: () => [],
      replicaCount: () => 1,
    },
    router: { upsert: async () => undefined, remove: async () => undefined, inflightOf: () => 0 } as unknown as Router,
    defaultRuntime: async () => defaultRuntime,
    checkRuntime: async () => undefined,
    version: 'test',
    shutdown: () => undefined,
  };
  return { handlers: createHandlers(deps), intents };
}

/** A call context that keeps the progress events; `notices()` gives the notice lines. */
export function recordingContext(): { context: CallContext; notices: () => string[] } {
  const events: ProgressEvent[] = [];
  const context: CallContext = { emit: (event) => void events.push(event), log: () => undefined, accept: () => undefined, signal: new AbortController().signal };
  return { context, notices: () => events.filter((event) => event.phase === 'notice').map((event) => event.message) };
}

/** OEP_HOME set to a fresh folder for the suite (the controller's paths), restored and removed after. */
export function useTemporaryHome(prefix: string): void {
  const home = mkdtempSync(join(tmpdir(), prefix));
  const saved = process.env.OEP_HOME;
  before(() => (process.env.OEP_HOME = home));
  after(() => {
    if (saved === undefined) delete process.env.OEP_HOME;
    else process.env.OEP_HOME = saved;
    rmSync(home, { recursive: true, force: true });
  });
}
