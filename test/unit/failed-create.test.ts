import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keptAfterFailedCreate, updateCommand } from '../../src/engine/failed-create.js';
import { OepError } from '../../src/errors.js';
import { deploymentSpec } from './docker-fixtures.js';

describe('a create that failed after the deployment was recorded', () => {
  it('keeps the hint and adds the update that takes the fix, with the same flags', () => {
    const failed = new OepError('OEP_ERR_IMAGE_BUILD_FAILED', 'Deployment blue failed in phase "build": no image.', { hint: 'Pull it.', details: ['log'], phase: 'build' });
    const kept = keptAfterFailedCreate(failed, { file: 'blue.yml', set: ['instance_count=2'] }, deploymentSpec());
    assert.ok(kept instanceof OepError);
    assert.equal(kept.code, 'OEP_ERR_IMAGE_BUILD_FAILED');
    assert.equal(kept.message, failed.message);
    assert.deepEqual(kept.details, ['log']);
    assert.equal(kept.phase, 'build');
    assert.equal(
      kept.hint,
      'Pull it. Deployment blue is kept, Failed (as in Azure), and create refuses a name that exists: make the change with ' +
        'oep deployment update -f blue.yml --set instance_count=2, or delete it first (oep deployment delete -n blue -e ep --yes).',
    );
  });

  it('leaves Ctrl-C and errors that are not oep\'s as they are', () => {
    const interrupted = new OepError('OEP_ERR_INTERRUPTED', 'interrupted');
    assert.equal(keptAfterFailedCreate(interrupted, { set: [] }, deploymentSpec()), interrupted);
    const bug = new TypeError('x is undefined');
    assert.equal(keptAfterFailedCreate(bug, { set: [] }, deploymentSpec()), bug);
  });

  it('quotes the words a shell would split or expand', () => {
    assert.equal(
      updateCommand({ file: 'my dir/blue.yml', name: 'blue', endpointName: 'ep', set: ['environment={"image":"a:1"}', "tags.who=it's"] }),
      `oep deployment update -f 'my dir/blue.yml' -n blue -e ep --set 'environment={"image":"a:1"}' --set 'tags.who=it'\\''s'`,
    );
  });
});
