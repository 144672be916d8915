import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { OEP_BIN, OepSandbox } from '../e2e/harness.js';
import { prerequisiteSkip } from '../prerequisites.js';

/** Another user's OEP_HOME: refused before anything is read or written (OEP_ERR_HOME_UNSAFE, exit 2), never a stack trace (EACCES). */
const canSwitchUser = process.getuid?.() === 0;

describe("another user's OEP_HOME", () => {
  const owner = new OepSandbox();
  after(() => owner.close());

  it('says whose it is and what to do, exit 2', { skip: prerequisiteSkip("another user's OEP_HOME test", !canSwitchUser && 'needs root to run oep as another user (setpriv)') }, async () => {
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
      assert.equal(result.code, 2, result.stderr);
      assert.equal(
        result.stderr,
        `error: OEP_HOME ${owner.home} belongs to user root (uid 0), not to you (user nobody (uid 65534)): oep keeps its state, keys and logs only in a folder of your own.\n` +
          'hint: Use an OEP_HOME of your own (unset OEP_HOME for the default, ~/.local/state/oep), or run the command as its owner. Nothing was changed.\n(OEP_ERR_HOME_UNSAFE)\n',
      );
      assert.doesNotMatch(result.stderr, /\n {4}at /);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
