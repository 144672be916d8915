import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { example, OEP_BIN, OepSandbox } from './harness.js';

describe('deployment get-logs --follow', () => {
  const oep = new OepSandbox();
  before(async () => {
    await oep.ok(['endpoint', 'create', '-f', example('quickstart', 'endpoint.yml'), '-o', 'none']);
    await oep.ok(['deployment', 'create', '-f', example('quickstart', 'blue-deployment.yml'), '--all-traffic', '--runtime', 'process', '-o', 'none']);
  });
  after(() => oep.close());

  it('prints the log, then new lines as they come, until Ctrl-C', async () => {
    const child = spawn(process.execPath, [OEP_BIN, 'deployment', 'get-logs', '-n', 'blue', '-e', 'quickstart', '--follow'], {
      env: { ...process.env, OEP_HOME: oep.home, NO_COLOR: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const waitFor = async (pattern: RegExp): Promise<void> => {
      const deadline = Date.now() + 10_000;
      while (!pattern.test(stdout)) {
        assert.ok(Date.now() < deadline, `timed out waiting for ${pattern} in:\n${stdout}\n${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    try {
      await waitFor(/init complete: model loaded/);
      assert.doesNotMatch(stdout, /POST \/score/);
      await oep.ok(['endpoint', 'invoke', '-n', 'quickstart', '--request-file', example('quickstart', 'sample-request.json')]);
      await waitFor(/POST \/score 200/);
    } finally {
      child.kill('SIGINT');
    }
    assert.equal(await exited, 130);
    assert.equal(stderr, '');
  });
});
