import type { BatchDeploymentSpec } from '../../spec/batch-types.js';
import type { BatchDeploymentRecord, BatchEndpointRecord, OepState } from '../../state/types.js';
import {
  assertBatchDeploymentAbsent,
  assertBatchEndpointAbsent,
  assertDefaultExists,
  assertDeletable,
  batchEndpointsOf,
  requireBatchDeployment,
  requireBatchEndpoint,
} from '../batch-rules.js';
import { batchDeploymentView, batchEndpointView } from '../batch-views.js';
import type { Handlers } from '../server.js';
import type { HandlerContext } from './context.js';

export type BatchHandlers = Pick<
  Handlers,
  | 'batchEndpoint.list'
  | 'batchEndpoint.show'
  | 'batchEndpoint.spec'
  | 'batchEndpoint.create'
  | 'batchEndpoint.update'
  | 'batchEndpoint.delete'
  | 'batchDeployment.list'
  | 'batchDeployment.show'
  | 'batchDeployment.spec'
  | 'batchDeployment.create'
  | 'batchDeployment.update'
  | 'batchDeployment.delete'
>;

/**
 * The batch endpoint and deployment methods. A batch deployment is a record until a job runs it:
 * no replica starts and no router listens, so every change is one mutation of the state (kept
 * under `batch_endpoints`, apart from the online endpoints) and is done when it is recorded.
 */
export function batchHandlers(ctx: HandlerContext): BatchHandlers {
  const { store } = ctx.deps;
  const stamp = (): string => new Date(ctx.now()).toISOString();

  return {
    async 'batchEndpoint.list'() {
      const endpoints = store.snapshot().batch_endpoints ?? {};
      return Object.keys(endpoints)
        .sort()
        .map((name) => batchEndpointView(endpoints[name]!));
    },

    async 'batchEndpoint.show'(params) {
      return batchEndpointView(requireBatchEndpoint(store.snapshot(), params.name));
    },

    async 'batchEndpoint.spec'(params) {
      return requireBatchEndpoint(store.snapshot(), params.name).spec;
    },

    async 'batchEndpoint.create'(params) {
      const created = await store.mutate((state) => {
        assertBatchEndpointAbsent(state, params.spec.name);
        const now = stamp();
        const record: BatchEndpointRecord = { spec: params.spec, provisioning_state: 'Succeeded', created_at: now, updated_at: now, deployments: {} };
        batchEndpointsOf(state)[params.spec.name] = record;
        return record;
      });
      return batchEndpointView(created);
    },

    async 'batchEndpoint.update'(params) {
      const updated = await store.mutate((state) => {
        const record = requireBatchEndpoint(state, params.spec.name);
        const wanted = params.spec.defaults.deployment_name;
        // A default named at create may name a deployment to come; a change names one that exists.
        if (wanted !== record.spec.defaults.deployment_name) assertDefaultExists(record, wanted);
        record.spec = params.spec;
        record.updated_at = stamp();
        return record;
      });
      return batchEndpointView(updated);
    },

    async 'batchEndpoint.delete'(params) {
      await store.mutate((state) => {
        requireBatchEndpoint(state, params.name);
        delete batchEndpointsOf(state)[params.name];
      });
      return null;
    },

    async 'batchDeployment.list'(params) {
      const owner = requireBatchEndpoint(store.snapshot(), params.endpoint);
      return Object.keys(owner.deployments)
        .sort()
        .map((name) => batchDeploymentView(owner.deployments[name]!));
    },

    async 'batchDeployment.show'(params) {
      return batchDeploymentView(requireBatchDeployment(store.snapshot(), params.endpoint, params.name));
    },

    async 'batchDeployment.spec'(params) {
      return requireBatchDeployment(store.snapshot(), params.endpoint, params.name).spec;
    },

    async 'batchDeployment.create'(params) {
      const created = await store.mutate((state) => {
        const owner = requireBatchEndpoint(state, params.spec.endpoint_name);
        assertBatchDeploymentAbsent(owner, params.spec.name);
        const now = stamp();
        const record: BatchDeploymentRecord = { spec: params.spec, provisioning_state: 'Succeeded', created_at: now, updated_at: now };
        owner.deployments[params.spec.name] = record;
        settleDefault(owner, params.spec, params.setDefault === true, now);
        return record;
      });
      return batchDeploymentView(created);
    },

    async 'batchDeployment.update'(params) {
      const updated = await store.mutate((state) => {
        const record = requireBatchDeployment(state, params.spec.endpoint_name, params.spec.name);
        record.spec = params.spec;
        record.updated_at = stamp();
        settleDefault(requireBatchEndpoint(state, params.spec.endpoint_name), params.spec, params.setDefault === true, record.updated_at);
        return record;
      });
      return batchDeploymentView(updated);
    },

    async 'batchDeployment.delete'(params) {
      await store.mutate((state: OepState) => {
        const owner = requireBatchEndpoint(state, params.endpoint);
        requireBatchDeployment(state, params.endpoint, params.name);
        assertDeletable(owner, params.name);
        delete owner.deployments[params.name];
        // The last deployment took the default with it.
        if (owner.spec.defaults.deployment_name === params.name) owner.spec = { ...owner.spec, defaults: {} };
      });
      return null;
    },
  };
}

/**
 * --set-default makes the deployment the endpoint's default; without it, an endpoint with no
 * default gets its first deployment as the default (docs/batch.md "YAML and commands").
 */
function settleDefault(owner: BatchEndpointRecord, spec: BatchDeploymentSpec, setDefault: boolean, now: string): void {
  if (!setDefault && owner.spec.defaults.deployment_name !== undefined) return;
  owner.spec = { ...owner.spec, defaults: { ...owner.spec.defaults, deployment_name: spec.name } };
  owner.updated_at = now;
}
