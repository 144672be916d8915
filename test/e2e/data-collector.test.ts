import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { prerequisiteSkip } from '../prerequisites.js';
import { collection, COLLECTIONS, eventOf, readEvents } from './data-collector-events.js';
import { eventually, OepSandbox, REPO_ROOT } from './harness.js';

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'data-collector');

/**
 * A python3 with pandas for the process runtime: Azure's Collector logs pandas DataFrames only,
 * and so does oep's. OEP_TEST_PANDAS_PYTHON names one; otherwise the usual places are tried.
 */
function pandasPython(): string | undefined {
  const candidates = [process.env.OEP_TEST_PANDAS_PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => !!c);
  for (const candidate of candidates) {
    try {
      execFileSync(candidate, ['-c', 'import pandas'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // next
    }
  }
  return undefined;
}

const python = pandasPython();
const skip = prerequisiteSkip('data collector e2e tests', !python && 'no python3 with pandas here (apt-get install python3-pandas, or set OEP_TEST_PANDAS_PYTHON)');

describe('data_collector on the process runtime', { skip }, () => {
  const oep = new OepSandbox({ OEP_PYTHON: python ?? 'python3' });
  const folder = join(oep.home, 'data-collector', 'collect', 'blue');
  let scoringUri = '';
  let key = '';

  const score = async (rows: Record<string, number[]>, headers: Record<string, string> = {}) => {
    const response = await fetch(scoringUri, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...headers },
      body: JSON.stringify({ data: rows }),
    });
    return { status: response.status, requestId: response.headers.get('x-request-id') ?? '', body: (await response.json()) as Record<string, unknown> };
  };

  before(async () => {
    await oep.ok(['endpoint', 'create', '-f', join(FIXTURE, 'endpoint.yml'), '-o', 'none']);
    await oep.ok(['deployment', 'create', '-f', join(FIXTURE, 'deployment.yml'), '--all-traffic', '--runtime', 'process', '-o', 'none']);
    scoringUri = (await oep.ok(['endpoint', 'show', '-n', 'collect', '--query', 'scoring_uri', '-o', 'tsv'])).trim();
    key = (await oep.ok(['endpoint', 'get-credentials', '-n', 'collect', '--query', 'primaryKey', '-o', 'tsv'])).trim();
  });
  after(() => oep.close());

  it('deployment show names the folder', async () => {
    const shown = (await oep.ok(['deployment', 'show', '-n', 'blue', '-e', 'collect', '--query', 'data_collector_folder', '-o', 'tsv'])).trim();
    assert.equal(shown, folder);
  });

  it('writes request, response, model_inputs and model_outputs events that share the request id', async () => {
    const first = await score({ a: [1, 2], b: [10, 20] }, { 'x-client-tag': 'first' });
    const second = await score({ a: [5], b: [7] }, { 'x-client-tag': 'second' });
    for (const answer of [first, second]) {
      assert.equal(answer.status, 200);
      assert.match(answer.requestId, /^[0-9a-f-]{36}$/);
      // the script's context carries the router's request id
      assert.equal(answer.body.correlation_id, answer.requestId);
      assert.equal(answer.body.collected, true);
    }
    assert.deepEqual(first.body.total, [11, 22]);

    const events = await eventually('four collections with two events each', async () => {
      const found = readEvents(folder);
      const counts = COLLECTIONS.map((name) => collection(found, name).length);
      return counts.every((count) => count === 2) ? found : undefined;
    });

    // Azure's layout below the deployment: <collection>/<yyyy>/<MM>/<dd>/<HH>/<instance>.jsonl
    for (const folderKey of events.keys()) assert.match(folderKey, /^(request|response|model_inputs|model_outputs)\/\d{4}\/\d{2}\/\d{2}\/\d{2}$/);

    const byId = (name: string, id: string) => eventOf(events, name, id);
    const request = byId('request', first.requestId)!;
    const response = byId('response', first.requestId)!;
    const inputs = byId('model_inputs', first.requestId)!;
    const outputs = byId('model_outputs', first.requestId)!;
    for (const event of [request, response, inputs, outputs]) {
      assert.ok(event, `an event for ${first.requestId} in every collection`);
      assert.equal(event.xrequestid, first.requestId);
      assert.equal(event.specversion, '1.0');
      assert.equal(event.source, '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/oep-local/providers/Microsoft.MachineLearningServices/workspaces/local/onlineEndpoints/collect/deployments/blue');
      assert.match(String(event.time), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    }
    assert.equal(request.type, 'azureml.inference.request');
    assert.equal(request.method, 'POST');
    assert.equal(request.path, '/score');
    assert.deepEqual(request.data, { data: { a: [1, 2], b: [10, 20] } });
    assert.deepEqual(request.headers, { 'x-client-tag': 'first' });
    assert.equal(request.datacontenttype, 'application/json');
    assert.equal(response.type, 'azureml.inference.response');
    assert.deepEqual(response.data, first.body);
    assert.equal(inputs.type, 'azureml.inference.model_inputs');
    assert.deepEqual(inputs.data, [{ a: 1, b: 10 }, { a: 2, b: 20 }]);
    assert.equal(inputs.collectdatatype, 'pandas.core.frame.DataFrame');
    assert.equal(outputs.type, 'azureml.inference.model_outputs');
    assert.deepEqual(outputs.data, [{ total: 11 }, { total: 22 }]);
    // the second request has its own id in all four
    for (const name of COLLECTIONS) assert.ok(byId(name, second.requestId), `${name} of the second request`);
  });

  it('sampling_rate 0 collects nothing: the script is told its request is not in the sample', async () => {
    await oep.ok(['deployment', 'create', '-f', join(FIXTURE, 'deployment.yml'), '-n', 'green', '--set', 'data_collector.sampling_rate=0', '--runtime', 'process', '-o', 'none']);
    const answer = await score({ a: [1], b: [2] }, { 'azureml-model-deployment': 'green' });
    assert.equal(answer.status, 200);
    assert.equal(answer.body.collected, false);
    // give the router's batched writes time to land, were there any
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual([...readEvents(join(oep.home, 'data-collector', 'collect', 'green')).keys()], []);
  });

  it('a Collector whose collection is not enabled fails init(), as azureml-ai-monitoring does', async () => {
    const result = await oep.run([
      'deployment', 'create', '-f', join(FIXTURE, 'deployment.yml'), '-n', 'red',
      '--set', 'data_collector.collections.model_outputs.enabled=false', '--runtime', 'process', '-o', 'none',
    ]);
    assert.equal(result.code, 1, result.stderr);
    const logs = await oep.ok(['deployment', 'get-logs', '-n', 'red', '-e', 'collect']);
    assert.ok(
      logs.includes('Exception: collection model_outputs is not enabled, drop the data (oep: enable it in the deployment YAML under data_collector.collections.model_outputs.enabled: true)'),
      logs,
    );
  });
});
