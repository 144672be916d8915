import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { OEP_BIN, OepSandbox } from '../e2e/harness.js';
import { prerequisiteSkip } from '../prerequisites.js';

/** Another user's OEP_HOME: a clear OEP_ERR_DAEMON_UNAVAILABLE, never a stack trace (EACCES). */
const canSwitchUser = process.getuid?.() === 0;

describe("another user's OEP_HOME", () => {
  const owner = new OepSandbox();
  after(() => owner.close());

  it('says whose it is and what to do, exit 1', { skip: prerequisiteSkip("another user's OEP_HOME test", !canSwitchUser && 'needs root to run oep as another user (setpriv)') }, async () => {
    await owner.ok(['endpoint', 'list']);
    chmodSync(owner.home, 0o700);
    const cwd = mkdtempSync(join(tmpdir(), 'oep-nobody-'));
    chmodSync(cwd, 0o777);
    try {
      const result = await new Promise<{ code: number; stderr: string }>((resolve) => {
        execFile(
          'setpriv',
          ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, OEP_BIN, 'endpoint', 'list'],
          { cwd, env: { ...process.env, OEP_HOME: owner.home, NO_COLOR: '1', HOME: cwd } },
          (error, _stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stderr }),
        );
      });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^error: oep cannot use .* \(EACCES\): OEP_HOME .* belongs to another user or is not writable\.\n/);
      assert.match(result.stderr, /\(OEP_ERR_DAEMON_UNAVAILABLE\)\n$/);
      assert.doesNotMatch(result.stderr, /\n {4}at /);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
