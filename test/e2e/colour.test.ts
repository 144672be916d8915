import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { prerequisiteSkip } from '../prerequisites.js';
import { OEP_BIN } from './harness.js';

/**
 * The real CLI's error output, on a pipe and on a terminal (script(1) gives it one). The command
 * fails before it needs the daemon, so none starts.
 */
describe('colour on stderr (the real CLI)', () => {
  const home = mkdtempSync(join(tmpdir(), 'oep-colour-'));
  after(() => rmSync(home, { recursive: true, force: true }));
  const missing = join(home, 'missing.yml');
  const plain = `error: File not found: ${missing}\nhint: looked for ${missing}\n(OEP_ERR_FILE_NOT_FOUND)\n`;

  /** The environment of the test run without its colour settings (node --test sets FORCE_COLOR on a terminal). */
  function environment(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
    return { ...process.env, OEP_HOME: home, NO_COLOR: undefined, FORCE_COLOR: undefined, TERM: 'xterm', ...extra };
  }

  function piped(extra: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
    return new Promise((resolve) => {
      execFile(process.execPath, [OEP_BIN, 'deployment', 'create', '-f', missing], { env: environment(extra) }, (error, _stdout, stderr) =>
        resolve({ code: error ? (error.code as number) : 0, stderr }),
      );
    });
  }

  /** What a terminal shows (stdout and stderr both go to it), as script(1) records it. */
  function onTerminal(extra: NodeJS.ProcessEnv, name: string): Promise<string> {
    const log = join(home, `${name}.typescript`);
    const command = `${process.execPath} ${OEP_BIN} deployment create -f ${missing}`;
    return new Promise((resolve, reject) => {
      const child = execFile('script', ['-qec', command, log], { env: environment(extra) }, () => {
        if (existsSync(log)) resolve(readFileSync(log, 'utf8'));
        else reject(new Error('script(1) wrote no log'));
      });
      child.stdin?.end();
    });
  }

  it('a pipe gets plain text, with no escape codes', async () => {
    assert.deepEqual(await piped({}), { code: 2, stderr: plain });
  });

  it('FORCE_COLOR colours a pipe', async () => {
    const { stderr } = await piped({ FORCE_COLOR: '1' });
    assert.ok(stderr.startsWith('\u001b[31merror:\u001b[39m '), JSON.stringify(stderr));
  });

  describe('on a terminal', { skip: prerequisiteSkip('the terminal colour tests', !existsSync('/usr/bin/script') && 'no script(1) here (util-linux; on Debian the bsdutils package)') }, () => {
    it('gets a red "error:"', async () => {
      assert.match(await onTerminal({}, 'colour'), /\u001b\[31merror:\u001b\[39m File not found: /);
    });

    it('with NO_COLOR (and FORCE_COLOR too) gets no escape codes', async () => {
      const shown = await onTerminal({ NO_COLOR: '1', FORCE_COLOR: '1' }, 'no-colour');
      assert.match(shown, /error: File not found: /);
      assert.doesNotMatch(shown, /\u001b\[/);
    });
  });
});
