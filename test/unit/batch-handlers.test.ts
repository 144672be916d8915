import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHandlers } from '../../src/daemon/controller.js';
import { isOepError } from '../../src/errors.js';
import type { BatchDeploymentSpec, BatchEndpointSpec } from '../../src/spec/batch-types.js';
import type { OepState } from '../../src/state/types.js';
import { fakeControllerDeps, quietContext, useTemporaryHome } from './controller-support.js';

/** A batch deployment of `bep` as the loader makes it (Azure's defaults). */
function batchDeployment(name: string): BatchDeploymentSpec {
  return {
    name,
    endpoint_name: 'bep',
    tags: {},
    model: { path: '/models/m', type: 'mlflow_model' },
    compute: 'azureml:cluster',
    resources: { instance_count: 1 },
    max_concurrency_per_instance: 1,
    mini_batch_size: 10,
    output_action: 'append_row',
    output_file_name: 'predictions.csv',
    retry_settings: { max_retries: 3, timeout: 30 },
    error_threshold: -1,
    logging_level: 'info',
    environment_variables: {},
  };
}

const ENDPOINT: BatchEndpointSpec = { name: 'bep', tags: {}, auth_mode: 'aad_token', defaults: {} };

/** The error code a call throws (it must throw an OepError). */
async function codeOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    assert.ok(isOepError(error), String(error));
    return error.code;
  }
  assert.fail('the call did not throw');
}

describe('batch handlers: records in the state, apart from the online endpoints', () => {
  const home = useTemporaryHome('oep-batch-handlers-');
  const setup = () => {
    const state: OepState = { version: 1, endpoints: {} };
    return { state, handlers: createHandlers(fakeControllerDeps(home, state)) };
  };
  const ctx = quietContext();

  it('creates under batch_endpoints only; a second create of a name is OEP_ERR_ENDPOINT_EXISTS', async () => {
    const { state, handlers } = setup();
    const view = await handlers['batchEndpoint.create']({ spec: ENDPOINT }, ctx);
    assert.deepEqual(view.defaults, { deployment_name: null });
    assert.deepEqual(Object.keys(state.endpoints), []);
    assert.deepEqual(Object.keys(state.batch_endpoints ?? {}), ['bep']);
    assert.equal(await codeOf(handlers['batchEndpoint.create']({ spec: ENDPOINT }, ctx)), 'OEP_ERR_ENDPOINT_EXISTS');
    assert.equal(await codeOf(handlers['batchDeployment.create']({ spec: { ...batchDeployment('blue'), endpoint_name: 'nope' } }, ctx)), 'OEP_ERR_ENDPOINT_NOT_FOUND');
  });

  it('the first deployment becomes the default, a later one only with setDefault', async () => {
    const { state, handlers } = setup();
    await handlers['batchEndpoint.create']({ spec: ENDPOINT }, ctx);
    await handlers['batchDeployment.create']({ spec: batchDeployment('blue') }, ctx);
    await handlers['batchDeployment.create']({ spec: batchDeployment('green') }, ctx);
    assert.equal(state.batch_endpoints?.bep?.spec.defaults.deployment_name, 'blue');
    await handlers['batchDeployment.create']({ spec: batchDeployment('red'), setDefault: true }, ctx);
    assert.equal(state.batch_endpoints?.bep?.spec.defaults.deployment_name, 'red');
    assert.equal(await codeOf(handlers['batchDeployment.create']({ spec: batchDeployment('red') }, ctx)), 'OEP_ERR_DEPLOYMENT_EXISTS');
  });

  it('an update names a default the endpoint has; the default is deleted last; the endpoint takes its deployments with it', async () => {
    const { state, handlers } = setup();
    await handlers['batchEndpoint.create']({ spec: ENDPOINT }, ctx);
    await handlers['batchDeployment.create']({ spec: batchDeployment('blue') }, ctx);
    await handlers['batchDeployment.create']({ spec: batchDeployment('green') }, ctx);
    const missing = handlers['batchEndpoint.update']({ spec: { ...ENDPOINT, defaults: { deployment_name: 'nope' } } }, ctx);
    assert.equal(await codeOf(missing), 'OEP_ERR_DEPLOYMENT_NOT_FOUND');
    assert.equal(state.batch_endpoints?.bep?.spec.defaults.deployment_name, 'blue');

    assert.equal(await codeOf(handlers['batchDeployment.delete']({ endpoint: 'bep', name: 'blue' }, ctx)), 'OEP_ERR_DEPLOYMENT_IS_DEFAULT');
    await handlers['batchEndpoint.update']({ spec: { ...ENDPOINT, defaults: { deployment_name: 'green' } } }, ctx);
    await handlers['batchDeployment.delete']({ endpoint: 'bep', name: 'blue' }, ctx);
    await handlers['batchDeployment.delete']({ endpoint: 'bep', name: 'green' }, ctx);
    assert.deepEqual(state.batch_endpoints?.bep?.spec.defaults, {});

    await handlers['batchDeployment.create']({ spec: batchDeployment('blue') }, ctx);
    await handlers['batchEndpoint.delete']({ name: 'bep' }, ctx);
    assert.deepEqual(state.batch_endpoints, {});
    assert.equal(await codeOf(handlers['batchDeployment.list']({ endpoint: 'bep' }, ctx)), 'OEP_ERR_ENDPOINT_NOT_FOUND');
  });

  it('a deployment shows as stored, with its id, state and no type (so show -o yaml can be given back to update -f)', async () => {
    const { handlers } = setup();
    await handlers['batchEndpoint.create']({ spec: ENDPOINT }, ctx);
    await handlers['batchDeployment.create']({ spec: batchDeployment('blue') }, ctx);
    const view = await handlers['batchDeployment.show']({ endpoint: 'bep', name: 'blue' }, ctx);
    assert.deepEqual(view, {
      ...batchDeployment('blue'),
      id: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/oep-local/providers/Microsoft.MachineLearningServices/workspaces/local/batchEndpoints/bep/deployments/blue',
      properties: {},
      provisioning_state: 'Succeeded',
    });
  });
});
