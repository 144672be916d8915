import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { wantsColour } from '../../src/cli/colour.js';
import type { CliContext, TextSink } from '../../src/cli/context.js';
import { main } from '../../src/cli/main.js';
import type { DaemonClient } from '../../src/daemon/client.js';

const TERMINAL: TextSink = { write: () => true, isTTY: true, columns: 80 };
const PIPE: TextSink = { write: () => true };

describe('wantsColour: which stream gets colour', () => {
  const cases: { sink: TextSink; env: NodeJS.ProcessEnv; colour: boolean; why: string }[] = [
    { sink: TERMINAL, env: {}, colour: true, why: 'a terminal' },
    { sink: PIPE, env: {}, colour: false, why: 'a pipe or a file' },
    { sink: TERMINAL, env: { NO_COLOR: '1' }, colour: false, why: 'NO_COLOR' },
    { sink: TERMINAL, env: { NO_COLOR: '' }, colour: true, why: 'an empty NO_COLOR is unset (no-color.org)' },
    { sink: TERMINAL, env: { TERM: 'dumb' }, colour: false, why: 'TERM=dumb' },
    { sink: PIPE, env: { FORCE_COLOR: '1' }, colour: true, why: 'FORCE_COLOR on a pipe' },
    { sink: PIPE, env: { FORCE_COLOR: '' }, colour: true, why: 'an empty FORCE_COLOR forces (as chalk reads it)' },
    { sink: TERMINAL, env: { FORCE_COLOR: '0' }, colour: false, why: 'FORCE_COLOR=0' },
    { sink: TERMINAL, env: { FORCE_COLOR: 'false' }, colour: false, why: 'FORCE_COLOR=false' },
    { sink: PIPE, env: { FORCE_COLOR: '1', NO_COLOR: '1' }, colour: false, why: 'NO_COLOR wins over FORCE_COLOR' },
  ];
  for (const { sink, env, colour, why } of cases) {
    it(`${why}: ${colour ? 'colour' : 'none'}`, () => {
      assert.equal(wantsColour(sink, env), colour);
    });
  }
});

describe('an error on stderr (oep deployment create -f a missing file, in-process)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'oep-colour-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const missing = join(dir, 'missing.yml');

  /** Runs the command with stderr as the given kind of stream; the daemon is never asked. */
  async function stderrOf(isTTY: boolean, env: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string }> {
    let stderr = '';
    const ctx: CliContext = {
      env,
      cwd: dir,
      stdout: { write: () => true, isTTY },
      stderr: { write: (text: string) => (stderr += text), isTTY, columns: isTTY ? 80 : undefined },
      stdin: process.stdin,
      home: join(dir, 'home'),
      client: {
        call: async () => {
          throw new Error('the daemon is not asked');
        },
      } as unknown as DaemonClient,
      confirm: async () => false,
      interrupt: new AbortController().signal,
      claimInterrupt: () => undefined,
    };
    const code = await main(['deployment', 'create', '-f', missing], ctx);
    return { code, stderr };
  }

  const plain = `error: File not found: ${missing}\nhint: looked for ${missing}\n(OEP_ERR_FILE_NOT_FOUND)\n`;

  it('a pipe gets plain text, with no escape codes', async () => {
    assert.deepEqual(await stderrOf(false, {}), { code: 2, stderr: plain });
  });

  it('a terminal with NO_COLOR gets plain text, even with FORCE_COLOR', async () => {
    assert.deepEqual(await stderrOf(true, { NO_COLOR: '1', FORCE_COLOR: '1' }), { code: 2, stderr: plain });
  });

  it('a terminal gets a red "error:" and a dim hint and code', async () => {
    const { stderr } = await stderrOf(true, {});
    assert.equal(stderr, `\u001b[31merror:\u001b[39m File not found: ${missing}\n\u001b[2mhint: looked for ${missing}\u001b[22m\n\u001b[2m(OEP_ERR_FILE_NOT_FOUND)\u001b[22m\n`);
  });

  it('FORCE_COLOR colours a pipe too', async () => {
    const { stderr } = await stderrOf(false, { FORCE_COLOR: '1' });
    assert.ok(stderr.startsWith('\u001b[31merror:\u001b[39m '), JSON.stringify(stderr));
  });
});
