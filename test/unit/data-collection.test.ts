import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  dataCollectionEnvironment,
  dataCollectionOf,
  payloadEvent,
  payloadLoggingOf,
  rolledPath,
} from '../../src/model/data-collection.js';
import { validateDeploymentObject } from '../../src/spec/index.js';
import { noLocalEffectWarnings } from '../../src/spec/local-effect.js';
import type { DataCollector, DeploymentSpec } from '../../src/spec/types.js';

function spec(dataCollector?: DataCollector): DeploymentSpec {
  return { name: 'blue', endpoint_name: 'ep', data_collector: dataCollector } as DeploymentSpec;
}

const both = { model_inputs: { enabled: true }, model_outputs: { enabled: true } };

describe('data collection settings', () => {
  it('collects only enabled collections, lower-cased, with Azure defaults', () => {
    assert.equal(dataCollectionOf(spec()), undefined);
    assert.equal(dataCollectionOf(spec({ sampling_rate: 1, collections: { model_inputs: {}, request: { enabled: false } } })), undefined);
    assert.deepEqual(dataCollectionOf(spec({ sampling_rate: 0.5, collections: { Model_Inputs: { enabled: true }, request: { enabled: true } } })), {
      samplingRate: 0.5,
      rollingRate: 'hour',
      collections: ['model_inputs', 'request'],
      captureHeaders: [],
      source: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/oep-local/providers/Microsoft.MachineLearningServices/workspaces/local/onlineEndpoints/ep/deployments/blue',
    });
  });

  it('the router has work only for payload logging, or to tell the script about sampling below 1', () => {
    assert.equal(payloadLoggingOf(spec({ sampling_rate: 1, collections: both }), '/d'), undefined);
    const sampled = payloadLoggingOf(spec({ sampling_rate: 0.25, collections: both }), '/d');
    assert.equal(sampled?.tellScript, true);
    assert.equal(sampled?.request, false);
    const payloads = payloadLoggingOf(
      spec({ sampling_rate: 1, collections: { request: { enabled: true } }, request_logging: { capture_headers: ['X-Tag', 'Authorization'] } }),
      '/d',
    );
    assert.deepEqual(payloads, {
      dir: '/d',
      source: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/oep-local/providers/Microsoft.MachineLearningServices/workspaces/local/onlineEndpoints/ep/deployments/blue',
      request: true,
      response: false,
      samplingRate: 1,
      rollingRate: 'hour',
      captureHeaders: ['x-tag'],
      tellScript: false,
    });
  });

  it('the replica gets the folder and the custom collections only', () => {
    assert.deepEqual(dataCollectionEnvironment(spec({ sampling_rate: 1, collections: { request: { enabled: true } } }), '/x'), {});
    assert.deepEqual(dataCollectionEnvironment(spec({ sampling_rate: 0.5, rolling_rate: 'day', collections: { ...both, response: { enabled: true } } }), '/x'), {
      OEP_DATA_COLLECTOR_DIR: '/x',
      OEP_DATA_COLLECTOR: '{"collections":["model_inputs","model_outputs"],"sampling_rate":0.5,"rolling_rate":"day","source":"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/oep-local/providers/Microsoft.MachineLearningServices/workspaces/local/onlineEndpoints/ep/deployments/blue"}',
    });
  });

  it("takes rolling_rate as Azure's docs spell it (Hour) and as its samples do (hour)", () => {
    const loaded = validateDeploymentObject(
      { name: 'blue', endpoint_name: 'ep1', environment: { image: 'x' }, instance_type: 'S', data_collector: { rolling_rate: 'Minute', collections: { model_inputs: { enabled: 'True' } } } },
      'test',
    );
    assert.deepEqual(loaded.errors, []);
    assert.deepEqual(loaded.value?.data_collector, { rolling_rate: 'minute', sampling_rate: 1, collections: { model_inputs: { enabled: true } } });
  });

  it('rolls the folders by rolling_rate, in UTC', () => {
    const time = new Date('2026-03-04T05:06:07.890Z');
    assert.equal(rolledPath('year', time), '2026');
    assert.equal(rolledPath('month', time), '2026/03');
    assert.equal(rolledPath('day', time), '2026/03/04');
    assert.equal(rolledPath('hour', time), '2026/03/04/05');
    assert.equal(rolledPath('minute', time), '2026/03/04/05/06');
  });
});

describe('payload events', () => {
  const base = { id: 'e1', source: '/s', time: new Date('2026-03-04T05:06:07.890Z'), requestId: 'r1' };

  it('keeps a JSON request as JSON, with path, method and captured headers', () => {
    const event = payloadEvent({ ...base, type: 'request', body: Buffer.from('{"data": [1, 2]}'), contentType: 'application/json', path: '/score?x=1', method: 'POST', headers: { 'x-tag': 'a' } });
    assert.deepEqual(event, {
      specversion: '1.0',
      id: 'e1',
      source: '/s',
      type: 'azureml.inference.request',
      datacontenttype: 'application/json',
      time: '2026-03-04T05:06:07Z',
      data: { data: [1, 2] },
      path: '/score?x=1',
      method: 'POST',
      contentrange: 'bytes 0-15/16',
      correlationid: 'r1',
      xrequestid: 'r1',
      headers: { 'x-tag': 'a' },
    });
  });

  it('keeps text as text, bytes that are not UTF-8 as base64, and an empty body as empty', () => {
    const text = payloadEvent({ ...base, type: 'response', body: Buffer.from('hello'), contentType: 'text/plain' });
    assert.equal(text.data, 'hello');
    assert.equal(text.datacontenttype, 'text/plain');
    const bytes = payloadEvent({ ...base, type: 'request', body: Buffer.from([0xff, 0x00, 0xfe]), contentType: 'application/octet-stream' });
    assert.equal(bytes.data, '/wD+');
    assert.equal(bytes.dataencoding, 'base64');
    const empty = payloadEvent({ ...base, type: 'response', body: Buffer.alloc(0) });
    assert.equal(empty.data, '');
    assert.equal(empty.contentrange, 'bytes */0');
    const broken = payloadEvent({ ...base, type: 'request', body: Buffer.from('{not json'), contentType: 'application/json' });
    assert.equal(broken.data, '{not json');
  });
});

describe('settings with no local effect', () => {
  it('names each setting as written, and leaves out values that do have an effect', () => {
    const warned = (kind: 'endpoint' | 'deployment', data: Record<string, unknown>) => noLocalEffectWarnings(kind, data).map((problem) => problem.path.join('.'));
    // An endpoint identity has a local effect (deployments' MSI_ENDPOINT gives its tokens): no warning.
    assert.deepEqual(warned('endpoint', { name: 'e', identity: { type: 'system_assigned' } }), []);
    assert.deepEqual(warned('deployment', { app_insights_enabled: false, egress_public_network_access: 'enabled', scale_settings: { type: 'default' } }), []);
    assert.deepEqual(
      warned('deployment', {
        app_insights_enabled: true,
        egress_public_network_access: 'disabled',
        data_collector: { collections: { a: { enabled: true, data: { name: 'x' } }, b: { enabled: true } } },
        identity: {},
      }),
      ['app_insights_enabled', 'egress_public_network_access', 'data_collector.collections.a.data'],
    );
  });
});
