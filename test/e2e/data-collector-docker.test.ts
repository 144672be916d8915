import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { closeDockerSandbox, docker, dockerSkipReason, eventually, sandboxContainers } from './docker-harness.js';
import { collection, COLLECTIONS, eventOf, readEvents } from './data-collector-events.js';
import { OepSandbox, REPO_ROOT } from './harness.js';

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'data-collector');
/** The fixture's image: python3 with pandas (Azure's Collector logs DataFrames only). */
const PANDAS_IMAGE = 'oep-test/python-mlflow:bookworm';

const skip = await dockerSkipReason([PANDAS_IMAGE]);

describe('data_collector on the docker runtime', { skip }, () => {
  const oep = new OepSandbox();
  const folder = join(oep.home, 'data-collector', 'collect', 'blue');
  let scoringUri = '';
  let key = '';

  before(async () => {
    await oep.ok(['endpoint', 'create', '-f', join(FIXTURE, 'endpoint.yml'), '-o', 'none']);
    await oep.ok(['deployment', 'create', '-f', join(FIXTURE, 'deployment.yml'), '--all-traffic', '--runtime', 'docker', '-o', 'none']);
    scoringUri = (await oep.ok(['endpoint', 'show', '-n', 'collect', '--query', 'scoring_uri', '-o', 'tsv'])).trim();
    key = (await oep.ok(['endpoint', 'get-credentials', '-n', 'collect', '--query', 'primaryKey', '-o', 'tsv'])).trim();
  });

  after(async () => {
    const left = await closeDockerSandbox(oep);
    assert.deepEqual(left, [], 'containers left by this sandbox');
  });

  it('mounts the deployment folder read-write and tells the server where it is', async () => {
    const [container] = await sandboxContainers(oep, false);
    const info = await docker.getContainer(container!.Id).inspect();
    assert.ok(info.HostConfig.Binds?.includes(`${folder}:/var/oep-data-collector:rw`), JSON.stringify(info.HostConfig.Binds));
    assert.ok(info.Config.Env.includes('OEP_DATA_COLLECTOR_DIR=/var/oep-data-collector'), JSON.stringify(info.Config.Env));
    const shown = (await oep.ok(['deployment', 'show', '-n', 'blue', '-e', 'collect', '--query', 'data_collector_folder', '-o', 'tsv'])).trim();
    assert.equal(shown, folder);
  });

  it('links the payloads the router logs with the rows the script collects, and the files belong to the user', async () => {
    const response = await fetch(scoringUri, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ data: { a: [1, 2], b: [3, 4] } }),
    });
    assert.equal(response.status, 200);
    const requestId = response.headers.get('x-request-id') ?? '';
    const body = (await response.json()) as { total: number[]; collected: boolean; correlation_id: string };
    assert.deepEqual(body, { total: [4, 6], collected: true, correlation_id: requestId });

    const events = await eventually('an event in each collection', async () => {
      const found = readEvents(folder);
      return COLLECTIONS.every((name) => eventOf(found, name, requestId)) ? found : undefined;
    });
    assert.deepEqual(eventOf(events, 'model_inputs', requestId)!.data, [{ a: 1, b: 3 }, { a: 2, b: 4 }]);
    assert.deepEqual(eventOf(events, 'model_outputs', requestId)!.data, [{ total: 4 }, { total: 6 }]);
    assert.deepEqual(eventOf(events, 'request', requestId)!.data, { data: { a: [1, 2], b: [3, 4] } });
    assert.deepEqual(eventOf(events, 'response', requestId)!.data, body);
    // written by root in the container, handed to the owner of the folder (the user running oep)
    const owner = statSync(folder).uid;
    for (const [key] of events) assert.equal(statSync(join(folder, key)).uid, owner, key);
    assert.equal(collection(events, 'model_inputs').length, 1);
  });
});
