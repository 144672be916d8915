import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { example, OepSandbox } from './harness.js';

describe('deployment get-logs --follow', () => {
  const oep = new OepSandbox();
  before(async () => {
    await oep.ok(['endpoint', 'create', '-f', example('quickstart', 'endpoint.yml'), '-o', 'none']);
    await oep.ok(['deployment', 'create', '-f', example('quickstart', 'blue-deployment.yml'), '--all-traffic', '--runtime', 'process', '-o', 'none']);
  });
  after(() => oep.close());

  it('prints the log, then new lines as they come, until Ctrl-C', async () => {
    const follow = oep.start(['deployment', 'get-logs', '-n', 'blue', '-e', 'quickstart', '--follow']);
    const waitFor = async (pattern: RegExp): Promise<void> => {
      const deadline = Date.now() + 60_000; // an event to wait for, not a budget
      while (!pattern.test(follow.stdout)) {
        assert.ok(Date.now() < deadline, `timed out waiting for ${pattern} in:\n${follow.stdout}\n${follow.stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    try {
      await waitFor(/init complete: model loaded/);
      assert.doesNotMatch(follow.stdout, /POST \/score/);
      await oep.ok(['endpoint', 'invoke', '-n', 'quickstart', '--request-file', example('quickstart', 'sample-request.json')]);
      await waitFor(/POST \/score 200/);
    } finally {
      follow.child.kill('SIGINT');
    }
    assert.equal(await follow.exited, 130);
    assert.equal(follow.stderr, '');
  });
});
