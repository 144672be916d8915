import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { localTraffic, secondLocalDeployment } from '../../src/model/local-endpoint.js';

describe('--local endpoints (model/local-endpoint.ts)', () => {
  it('route all traffic to their one deployment, and none while they have none', () => {
    assert.deepEqual(localTraffic(['blue']), { blue: 100 });
    assert.deepEqual(localTraffic([]), {});
  });

  it('take their first deployment and updates of it, and refuse a second one with the way out', () => {
    assert.equal(secondLocalDeployment('ep', [], 'blue'), undefined);
    assert.equal(secondLocalDeployment('ep', ['blue'], 'blue'), undefined);
    const refused = secondLocalDeployment('ep', ['blue'], 'green');
    assert.ok(refused);
    assert.equal(refused.message, 'Endpoint ep was created with --local and already holds deployment blue; a local endpoint holds one deployment, as in Azure\'s local mode.');
    assert.match(refused.hint, /^Delete it first \(oep deployment delete -n blue -e ep --yes\), update it with this YAML \(-n blue\), or create the endpoint without --local/);
  });
});
