import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isResidentCommandLine, TOP_LEVEL_COMMANDS } from '../../src/cli/main.js';
import { parseRequest } from '../../src/cli/resident/protocol.cjs';
import { socketPathFor } from '../../src/state/paths.js';

describe('which command lines the resident CLI may answer', () => {
  it('the read-only verbs: list and show of what the daemon holds', async () => {
    for (const argv of [
      ['endpoint', 'list'],
      ['online-endpoint', 'show', '-n', 'x'],
      ['deployment', 'list', '-e', 'x'],
      ['batch-endpoint', 'list-jobs', '-n', 'x'],
      ['job', 'show', '-n', 'x'],
      ['traffic', 'show', '-n', 'x'],
    ]) {
      assert.equal(await isResidentCommandLine(argv), true, argv.join(' '));
    }
  });

  it('never a verb that changes something, reads input or runs long; never help or an unknown command', async () => {
    for (const argv of [
      ['endpoint', 'create', '-f', 'x.yml'],
      ['endpoint', 'invoke', '-n', 'x'],
      ['deployment', 'get-logs', '-n', 'x', '-e', 'y'],
      ['job', 'stream', '-n', 'x'],
      ['daemon', 'status'],
      ['config', 'list'],
      ['model', 'list'],
      ['endpoint', 'list', '--help'],
      ['endpoint', 'show', '-h'],
      ['endpoint'],
      ['validate', '-f', 'x.yml'],
      ['--version'],
      [],
    ]) {
      assert.equal(await isResidentCommandLine(argv), false, argv.join(' '));
    }
  });

  it('only list, show and list-jobs verbs are marked resident', async () => {
    for (const command of TOP_LEVEL_COMMANDS) {
      for (const verb of (await command.noun?.())?.verbs ?? []) {
        if (verb.resident) assert.match(verb.name, /^(list|show|list-jobs)$/, `${command.names[0]} ${verb.name}`);
      }
    }
  });
});

describe('the resident CLI request', () => {
  const good = { build: 'b', argv: ['endpoint', 'list'], cwd: '/work', env: { A: '1' }, stdout: { isTTY: false, columns: 0 }, stderr: { isTTY: true, columns: 80 } };

  it('is read when every field has its type', () => {
    assert.deepEqual(parseRequest(JSON.stringify(good)), good);
  });

  it('is refused otherwise', () => {
    for (const bad of [
      'not json',
      'null',
      '[]',
      JSON.stringify({ ...good, argv: ['endpoint', 3] }),
      JSON.stringify({ ...good, cwd: 'relative' }),
      JSON.stringify({ ...good, env: { A: 1 } }),
      JSON.stringify({ ...good, env: ['A=1'] }),
      JSON.stringify({ ...good, stdout: { isTTY: 'yes', columns: 0 } }),
      JSON.stringify({ ...good, stderr: { isTTY: true, columns: 1.5 } }),
      JSON.stringify({ ...good, build: undefined }),
    ]) {
      assert.equal(parseRequest(bad), undefined, bad);
    }
  });
});

describe('the resident CLI socket path', () => {
  it('is cli.sock beside daemon.sock, or its own name in the per-user temp folder for a long OEP_HOME', () => {
    assert.equal(socketPathFor('/home/me/.local/state/oep', '/tmp', 1000, 'cli'), '/home/me/.local/state/oep/cli.sock');
    const long = `/builds/${'workspace/'.repeat(12)}oep`;
    const daemon = socketPathFor(long, '/tmp', 1000);
    const cli = socketPathFor(long, '/tmp', 1000, 'cli');
    assert.equal(cli, daemon.replace(/\.sock$/, '-cli.sock'));
    assert.ok(Buffer.byteLength(cli) < 100);
  });
});
