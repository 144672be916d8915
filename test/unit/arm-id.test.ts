import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assetResourceId,
  azureTimestamp,
  deploymentProperties,
  endpointProperties,
  LOCAL_WORKSPACE,
  onlineDeploymentResourceId,
  onlineEndpointIdProperty,
  onlineEndpointResourceId,
  workspaceResourceId,
} from '../../src/model/arm-id.js';
import { endpointResourceId } from '../../src/model/identity.js';
import { parseAssetReference } from '../../src/registry/references.js';

const WORKSPACE = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/oep-local/providers/Microsoft.MachineLearningServices/workspaces/local';

describe('ARM-shaped ids of the local workspace', () => {
  it('endpoint and deployment ids have ARM\'s shape and case', () => {
    assert.equal(workspaceResourceId(), WORKSPACE);
    assert.equal(onlineEndpointResourceId('my-endpoint'), `${WORKSPACE}/onlineEndpoints/my-endpoint`);
    assert.equal(onlineDeploymentResourceId('my-endpoint', 'blue'), `${WORKSPACE}/onlineEndpoints/my-endpoint/deployments/blue`);
  });

  it('the endpoint id is the one tokens name in xms_mirid (model/identity.ts)', () => {
    assert.equal(endpointResourceId('my-endpoint'), onlineEndpointResourceId('my-endpoint'));
  });

  it('azureml.onlineendpointid is the endpoint id in lower case, as the service writes it', () => {
    assert.equal(
      onlineEndpointIdProperty('My-Endpoint'),
      '/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/oep-local/providers/microsoft.machinelearningservices/workspaces/local/onlineendpoints/my-endpoint',
    );
  });

  it('another scope changes every part', () => {
    const scope = { subscription: 'sub', resourceGroup: 'RG', workspace: 'WS' };
    assert.equal(onlineDeploymentResourceId('ep', 'd', scope), '/subscriptions/sub/resourceGroups/RG/providers/Microsoft.MachineLearningServices/workspaces/WS/onlineEndpoints/ep/deployments/d');
    assert.equal(onlineEndpointIdProperty('ep', scope), '/subscriptions/sub/resourcegroups/rg/providers/microsoft.machinelearningservices/workspaces/ws/onlineendpoints/ep');
    assert.equal(LOCAL_WORKSPACE.workspace, 'local');
  });

  it('asset ids carry azureml: and read back as the same reference', () => {
    const id = assetResourceId('models', 'lin', '3');
    assert.equal(id, `azureml:${WORKSPACE}/models/lin/versions/3`);
    assert.deepEqual(parseAssetReference(id, 'models'), { kind: 'models', name: 'lin', version: '3', text: id });
    assert.equal(assetResourceId('environments', 'py', '1'), `azureml:${WORKSPACE}/environments/py/versions/1`);
  });
});

describe('properties as the service shows them', () => {
  const facts = { endpoint: 'ep', createdAt: '2026-04-17T16:55:44.738Z', lastModifiedAt: '2026-04-18T01:02:03.004Z', createdBy: 'dana' };

  it('an endpoint\'s: the service\'s four, keys sorted as az prints them', () => {
    const properties = endpointProperties(undefined, facts);
    assert.deepEqual(Object.keys(properties), ['azureml.onlineendpointid', 'createdAt', 'createdBy', 'lastModifiedAt']);
    assert.deepEqual(properties, {
      'azureml.onlineendpointid': onlineEndpointIdProperty('ep'),
      createdAt: '2026-04-17T16:55:44.738000+0000',
      createdBy: 'dana',
      lastModifiedAt: '2026-04-18T01:02:03.004000+0000',
    });
  });

  it('the YAML\'s own properties are kept beside them; a key the service writes is the service\'s', () => {
    const properties = endpointProperties({ enforce_access_to_default_secret_stores: 'enabled', Team: 'fraud', createdBy: 'someone else' }, facts);
    assert.deepEqual(Object.keys(properties), ['Team', 'azureml.onlineendpointid', 'createdAt', 'createdBy', 'enforce_access_to_default_secret_stores', 'lastModifiedAt']);
    assert.equal(properties.createdBy, 'dana');
    assert.equal(properties.enforce_access_to_default_secret_stores, 'enabled');
    assert.equal(properties.Team, 'fraud');
  });

  it('a deployment\'s are the YAML\'s own, sorted; none is an empty object', () => {
    assert.deepEqual(deploymentProperties(undefined), {});
    assert.deepEqual(Object.entries(deploymentProperties({ b: '2', a: '1' })), [['a', '1'], ['b', '2']]);
  });

  it('times have microseconds and +0000; what is not a time stays as it is', () => {
    assert.equal(azureTimestamp('2026-01-02T03:04:05Z'), '2026-01-02T03:04:05.000000+0000');
    assert.equal(azureTimestamp('2026-01-02T05:04:05.120+02:00'), '2026-01-02T03:04:05.120000+0000');
    assert.equal(azureTimestamp('yesterday'), 'yesterday');
  });
});
