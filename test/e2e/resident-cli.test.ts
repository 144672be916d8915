import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { oepPaths } from '../../src/state/paths.js';
import { prerequisiteSkip } from '../prerequisites.js';
import { eventually, OEP_BIN, OepSandbox } from './harness.js';

/** The resident CLI's lines in the daemon's log: one per command line it answered. */
function residentLines(home: string): string[] {
  return readFileSync(join(home, 'daemon.log'), 'utf8')
    .split('\n')
    .filter((line) => / resident CLI: oep /.test(line));
}

function residentPid(home: string): number {
  const ready = readFileSync(join(home, 'daemon.log'), 'utf8').match(/resident CLI: ready on .* \(pid (\d+)\)\n(?![\s\S]*resident CLI: ready)/);
  assert.ok(ready, 'the daemon log says the resident CLI is ready');
  return Number(ready[1]);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Sends one raw request line to the resident CLI's socket and returns the frames it answers. */
function ask(socket: string, line: string): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const client = connect(socket);
    let text = '';
    client.setEncoding('utf8');
    client.on('data', (chunk: string) => (text += chunk));
    client.once('error', reject);
    client.once('close', () => resolve(text.split('\n').filter((frame) => frame !== '').map((frame) => JSON.parse(frame) as unknown)));
    client.end(`${line}\n`);
  });
}

describe('the resident CLI: read-only verbs answered by a process the daemon keeps', () => {
  const oep = new OepSandbox();
  const cliSocket = oepPaths(oep.home).cliSocket;
  after(() => oep.close());

  before(async () => {
    writeFileSync(join(oep.home, 'ep.yml'), 'name: resident-ep\nauth_mode: key\n');
    await oep.ok(['endpoint', 'create', '-f', join(oep.home, 'ep.yml'), '-o', 'none']);
    await eventually('the resident CLI to listen', async () => (existsSync(cliSocket) ? true : undefined));
  });

  it('answers list and show exactly as the command in its own process does: output, errors and exit codes', async () => {
    const commands = [
      ['endpoint', 'list'],
      ['endpoint', 'list', '-o', 'table'],
      ['endpoint', 'show', '-n', 'resident-ep', '--query', 'name', '-o', 'tsv'],
      ['endpoint', 'show', '-n', 'resident-ep', '-o', 'yaml'],
      ['deployment', 'list', '-e', 'resident-ep'],
      ['traffic', 'show', '-n', 'resident-ep', '-o', 'json'],
      ['job', 'list'],
      ['endpoint', 'show', '-n', 'no-such-endpoint'],
      ['endpoint', 'show'],
      ['endpoint', 'list', '--no-such-flag'],
      ['endpoint', 'list', '-g', 'my-rg', '-o', 'tsv'],
    ];
    for (const args of commands) {
      const servedBefore = residentLines(oep.home).length;
      const resident = await oep.run(args);
      assert.equal(residentLines(oep.home).length, servedBefore + 1, `the resident CLI answered oep ${args.join(' ')}`);
      const own = await oep.run(args, { env: { OEP_CLI_RESIDENT: '0' } });
      assert.equal(residentLines(oep.home).length, servedBefore + 1, 'OEP_CLI_RESIDENT=0 runs the command in its own process');
      assert.deepEqual(resident, own, `oep ${args.join(' ')}: the same stdout, stderr and exit code either way`);
    }
    const missing = await oep.run(['endpoint', 'show', '-n', 'no-such-endpoint']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /OEP_ERR_ENDPOINT_NOT_FOUND/);
  });

  it('on a terminal: the same colours and layout as the command in its own process', { skip: prerequisiteSkip('the resident CLI terminal test', !existsSync('/usr/bin/script') && 'no script(1) here (util-linux; on Debian the bsdutils package)') }, async () => {
    /** What a terminal shows (stdout and stderr both go to it), as script(1) records it. */
    const onTerminal = (args: string, name: string, env: NodeJS.ProcessEnv = {}): Promise<string> => {
      const log = join(oep.home, `${name}.typescript`);
      return new Promise((resolve, reject) => {
        const environment = { ...process.env, OEP_HOME: oep.home, NO_COLOR: undefined, FORCE_COLOR: undefined, TERM: 'xterm', ...env };
        const child = execFile('script', ['-qec', `${process.execPath} ${OEP_BIN} ${args}`, log], { env: environment }, () => {
          if (existsSync(log)) resolve(readFileSync(log, 'utf8'));
          else reject(new Error('script(1) wrote no log'));
        });
        child.stdin?.end();
      });
    };
    for (const [index, args] of ['endpoint show -n no-such-endpoint', 'endpoint list -o table', 'traffic show -n resident-ep'].entries()) {
      const servedBefore = residentLines(oep.home).length;
      const resident = await onTerminal(args, `resident-${index}`);
      assert.equal(residentLines(oep.home).length, servedBefore + 1, `the resident CLI answered oep ${args} on a terminal`);
      const own = await onTerminal(args, `own-${index}`, { OEP_CLI_RESIDENT: '0' });
      // script(1)'s header and footer lines carry the time: compare what the command wrote.
      const body = (typescript: string): string => typescript.split('\n').filter((line) => !/^Script (started|done)/.test(line)).join('\n');
      assert.equal(body(resident), body(own), `oep ${args} on a terminal`);
    }
    assert.match(await onTerminal('endpoint show -n no-such-endpoint', 'red'), /\u001b\[31merror:\u001b\[39m Online endpoint no-such-endpoint does not exist/);
  });

  it('uses the command line\'s working directory and environment, not its own', async () => {
    // --query with a JMESPath error is reported the same; NO_COLOR unset on a pipe changes nothing either way.
    const servedBefore = residentLines(oep.home).length;
    const result = await oep.run(['endpoint', 'list', '--query', '[].name', '-o', 'tsv'], { cwd: oep.home, env: { NO_COLOR: '' } });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'resident-ep\n');
    assert.equal(residentLines(oep.home).length, servedBefore + 1);
    // Another OEP_HOME is another daemon's business: this resident CLI does not answer for it.
    const other = new OepSandbox();
    try {
      const listed = await other.run(['endpoint', 'list'], { env: { OEP_CLI_RESIDENT: undefined } });
      assert.equal(listed.stdout, '[]\n');
    } finally {
      await other.close();
    }
  });

  it('leaves every other verb, and --help, to the command line\'s own process', async () => {
    const servedBefore = residentLines(oep.home).length;
    const help = await oep.run(['endpoint', 'list', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /List endpoints/);
    await oep.ok(['daemon', 'status', '-o', 'none']);
    await oep.ok(['endpoint', 'update', '-n', 'resident-ep', '--set', 'description=changed', '-o', 'none']);
    assert.equal(residentLines(oep.home).length, servedBefore);
    assert.equal((await oep.ok(['endpoint', 'show', '-n', 'resident-ep', '--query', 'description', '-o', 'tsv'])).trim(), 'changed');
  });

  it('refuses what it cannot check: another build, another home, a malformed request', async () => {
    const request = { build: 'another', argv: ['endpoint', 'list'], cwd: oep.home, env: { OEP_HOME: oep.home }, stdout: { isTTY: false, columns: 0 }, stderr: { isTTY: false, columns: 0 } };
    assert.deepEqual(await ask(cliSocket, JSON.stringify(request)), [{ fallback: 'another build' }]);
    assert.deepEqual(await ask(cliSocket, '{"argv": 3}'), [{ fallback: 'malformed request' }]);
    assert.deepEqual(await ask(cliSocket, 'not json'), [{ fallback: 'malformed request' }]);
    assert.deepEqual(await ask(cliSocket, 'null'), [{ fallback: 'malformed request' }]);
    // A connection that sends nothing is closed after a few seconds, not kept open.
    const silent = connect(cliSocket);
    silent.on('error', () => undefined);
    const closed = await new Promise<boolean>((resolve) => {
      silent.once('close', () => resolve(true));
      setTimeout(() => resolve(false), 30_000).unref();
    });
    assert.ok(closed, 'the resident CLI closes a connection that sends no request');
    // Still answering after them.
    assert.equal((await oep.ok(['endpoint', 'list', '--query', 'length(@)'])).trim(), '1');
  });

  it('a relative OEP_HOME is the command line\'s, from its working directory', async () => {
    const servedBefore = residentLines(oep.home).length;
    const listed = await oep.run(['endpoint', 'list', '--query', '[].name', '-o', 'tsv'], { cwd: dirname(oep.home), env: { OEP_HOME: basename(oep.home) } });
    assert.equal(listed.stdout, 'resident-ep\n', listed.stderr);
    assert.equal(residentLines(oep.home).length, servedBefore + 1);
  });

  it('a stopped (stuck) resident CLI costs a command two seconds at most: it then runs in its own process', async () => {
    const pid = residentPid(oep.home);
    process.kill(pid, 'SIGSTOP');
    try {
      const servedBefore = residentLines(oep.home).length;
      assert.equal((await oep.ok(['endpoint', 'list', '--query', '[].name', '-o', 'tsv'])).trim(), 'resident-ep');
      await oep.ok(['daemon', 'status', '-o', 'none']);
      assert.equal(residentLines(oep.home).length, servedBefore, 'answered by the command lines\' own processes');
    } finally {
      process.kill(pid, 'SIGCONT');
    }
  });

  it('a killed resident CLI costs nothing but time: commands run in their own processes', async () => {
    const pid = residentPid(oep.home);
    process.kill(pid, 'SIGKILL');
    await eventually('the resident CLI to end', async () => (alive(pid) ? undefined : true));
    assert.ok(existsSync(cliSocket), 'a killed process leaves its socket');
    const servedBefore = residentLines(oep.home).length;
    assert.equal((await oep.ok(['endpoint', 'list', '--query', '[].name', '-o', 'tsv'])).trim(), 'resident-ep');
    assert.equal(residentLines(oep.home).length, servedBefore);
    await eventually('the daemon to log the end', async () => (/resident CLI ended \(SIGKILL\)/.test(readFileSync(join(oep.home, 'daemon.log'), 'utf8')) ? true : undefined));
  });

  it('ends with the daemon, also when the daemon is killed; a restarted daemon brings its own', async () => {
    await oep.ok(['daemon', 'restart', '-o', 'none']);
    await eventually('a new resident CLI', async () => (existsSync(cliSocket) && alive(residentPid(oep.home)) ? true : undefined));
    const pid = residentPid(oep.home);
    const servedBefore = residentLines(oep.home).length;
    await oep.ok(['endpoint', 'list', '-o', 'none']);
    assert.equal(residentLines(oep.home).length, servedBefore + 1);
    const daemonPid = (JSON.parse(await oep.ok(['daemon', 'status'])) as { pid: number }).pid;
    process.kill(daemonPid, 'SIGKILL');
    await eventually('the resident CLI to end with its daemon', async () => (alive(pid) ? undefined : true));
    await oep.ok(['daemon', 'stop']);
    assert.ok(!existsSync(cliSocket) || !alive(pid));
  });
});
