import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { eventually, example, OepSandbox, REPO_ROOT } from './harness.js';

describe('daemon and state', () => {
  const oep = new OepSandbox();
  after(() => oep.close());

  it('starts once when many commands race a cold start, and none of their writes is lost', async () => {
    const dir = join(oep.home, 'specs');
    mkdirSync(dir);
    const names = ['alpha', 'bravo', 'charlie', 'delta', 'echo'];
    for (const name of names) writeFileSync(join(dir, `${name}.yml`), `name: ${name}\n`);
    const results = await Promise.all(names.map((name) => oep.run(['endpoint', 'create', '-f', join(dir, `${name}.yml`), '-o', 'none'])));
    for (const result of results) assert.equal(result.code, 0, result.stderr);
    const listed = JSON.parse(await oep.ok(['endpoint', 'list'])) as { name: string }[];
    assert.deepEqual(listed.map((item) => item.name), names);
    const state = JSON.parse(readFileSync(join(oep.home, 'state.json'), 'utf8')) as { endpoints: Record<string, { port: number }> };
    assert.deepEqual(Object.keys(state.endpoints).sort(), names);
    const ports = new Set(Object.values(state.endpoints).map((endpoint) => endpoint.port));
    assert.equal(ports.size, names.length, 'every endpoint has its own port');
  });

  it('keeps its socket and state readable by the owning user only', async () => {
    assert.equal(statSync(join(oep.home, 'daemon.sock')).mode & 0o777, 0o600);
    assert.equal(statSync(join(oep.home, 'state.json')).mode & 0o777, 0o600);
    assert.equal(statSync(oep.home).mode & 0o077, 0);
  });

  it('daemon status shows the pid and home; stop then status says it is not running', async () => {
    const status = JSON.parse(await oep.ok(['daemon', 'status'])) as { pid: number; home: string };
    assert.equal(status.home, oep.home);
    assert.ok(status.pid > 0);
    await oep.ok(['daemon', 'stop']);
    const after = await oep.run(['daemon', 'status']);
    assert.equal(after.code, 1);
    assert.match(after.stderr, /The oep daemon is not running/);
  });

  it('refuses an endpoint whose traffic names deployments it cannot have yet', async () => {
    const file = join(oep.home, 'with-traffic.yml');
    writeFileSync(file, 'name: foxtrot\ntraffic:\n  blue: 100\n');
    const result = await oep.run(['endpoint', 'create', '-f', file]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^error: Endpoint foxtrot has no deployments yet, so its traffic cannot name blue\.$/m);
    assert.equal((await oep.run(['endpoint', 'show', '-n', 'foxtrot'])).code, 2);
  });

  // Bad flags (a missing -n, commas in --traffic, -o xml) need no daemon: rows of test/unit/cli-table.test.ts.
});

describe('a daemon that cannot start', () => {
  const oep = new OepSandbox();
  after(() => oep.close());

  it('says why on stderr, from its log, with exit 1', async () => {
    writeFileSync(join(oep.home, 'state.json'), '{broken');
    const result = await oep.run(['endpoint', 'list']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^error: The oep daemon did not start\.$/m);
    assert.match(result.stderr, /oep daemon failed: The state file .*state\.json is unreadable/);
    assert.match(result.stderr, /hint: Move the file away to start from an empty state/);
  });
});

describe('deleting an endpoint while a deployment starts', () => {
  const oep = new OepSandbox();
  after(() => oep.close());

  /**
   * `deployment create` of the slow-init fixture, whose init() waits until the test writes the
   * gate file: the deployment is still starting for as long as the test needs, on any machine.
   */
  let gates = 0;
  const slowInit = (): { args: string[]; gate: string } => {
    const gate = join(oep.home, `init-gate-${(gates += 1)}`);
    const file = join(REPO_ROOT, 'test', 'fixtures', 'e2e', 'slow-init', 'deployment.yml');
    return { gate, args: ['deployment', 'create', '-f', file, '--set', `environment_variables.OEP_TEST_INIT_GATE=${gate}`, '--runtime', 'process'] };
  };

  /** Scoring servers started for this sandbox (they inherit its OEP_HOME). */
  const serversOfSandbox = (): number[] =>
    readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .filter((pid) => {
        try {
          const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
          const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
          return cmdline.includes('oep_server.py') && environ.split('\0').includes(`OEP_HOME=${oep.home}`);
        } catch {
          return false;
        }
      })
      .map(Number);

  it('fails the create, and leaves no replica running', async () => {
    await oep.ok(['endpoint', 'create', '-f', example('quickstart', 'endpoint.yml'), '-o', 'none']);
    const creating = oep.run(slowInit().args);
    await eventually('the replica to start', async () => (serversOfSandbox().length > 0 ? true : undefined), 60_000);
    await oep.ok(['endpoint', 'delete', '-n', 'quickstart', '--yes']);
    const created = await creating;
    assert.equal(created.code, 1);
    assert.match(created.stderr, /^error: Deployment slow was stopped while it was starting \(deleted, or the daemon is stopping\)\.$/m);
    assert.deepEqual(serversOfSandbox(), []);
  });

  it('Ctrl-C while a deployment starts: the CLI stops waiting and says so, the daemon finishes it', async () => {
    await oep.ok(['endpoint', 'create', '-f', example('quickstart', 'endpoint.yml'), '-o', 'none']);
    const { args, gate } = slowInit();
    const creating = oep.start(args);
    await eventually('the replica to start', async () => (serversOfSandbox().length > 0 ? true : undefined), 60_000);
    creating.child.kill('SIGINT');
    assert.equal(await creating.exited, 130);
    // Only now may init() finish: the deployment was still starting when the CLI was interrupted.
    writeFileSync(gate, '');
    assert.equal(creating.stdout, '');
    assert.match(
      creating.stderr,
      /^interrupted: oep stopped waiting, but the daemon goes on creating deployment slow of endpoint quickstart \(as Azure does when az is interrupted\)\. Follow it with: oep deployment show -n slow -e quickstart$/m,
    );
    const state = await eventually('the deployment to finish', async () => {
      const shown = JSON.parse(await oep.ok(['deployment', 'show', '-n', 'slow', '-e', 'quickstart'])) as { provisioning_state: string };
      return shown.provisioning_state === 'Creating' ? undefined : shown.provisioning_state;
    });
    assert.equal(state, 'Succeeded');
    await oep.ok(['endpoint', 'delete', '-n', 'quickstart', '--yes']);
    assert.deepEqual(serversOfSandbox(), []);
  });

  it('daemon stop while a deployment starts leaves no replica running', async () => {
    await oep.ok(['endpoint', 'create', '-f', example('quickstart', 'endpoint.yml'), '-o', 'none']);
    const creating = oep.run(slowInit().args);
    await eventually('the replica to start', async () => (serversOfSandbox().length > 0 ? true : undefined), 60_000);
    await oep.ok(['daemon', 'stop']);
    assert.notEqual((await creating).code, 0);
    assert.deepEqual(serversOfSandbox(), []);
  });
});

describe('an OEP_HOME too long for a unix socket path', () => {
  const temp = mkdtempSync(join(tmpdir(), 'oep-tmp-'));
  const home = join(temp, 'a-deep-ci-workspace'.repeat(4), 'oep-home');
  const oep = new OepSandbox({ OEP_HOME: home, TMPDIR: temp });
  after(async () => {
    await oep.close();
    rmSync(temp, { recursive: true, force: true });
  });

  it('puts the socket in a private folder of the temp directory, and works', async () => {
    await oep.ok(['endpoint', 'create', '-f', example('quickstart', 'endpoint.yml'), '-o', 'none']);
    const socket = JSON.parse(await oep.ok(['daemon', 'status', '--query', 'socket'])) as string;
    assert.equal(dirname(socket), join(temp, `oep-${process.getuid!()}`));
    assert.equal(statSync(dirname(socket)).mode & 0o777, 0o700);
    assert.equal(statSync(socket).mode & 0o777, 0o600);
    await oep.ok(['daemon', 'stop']);
    assert.equal(existsSync(socket), false);
  });

  it('refuses a socket folder that others can use, and says what to do', async () => {
    const shared = join(temp, `oep-${process.getuid!()}`);
    chmodSync(shared, 0o777);
    const result = await oep.run(['endpoint', 'list']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`is not a folder private to this user`));
    assert.match(result.stderr, new RegExp(`Remove ${shared.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, or set OEP_HOME to a shorter path`));
    chmodSync(shared, 0o700);
    assert.equal((await oep.run(['endpoint', 'list'])).code, 0);
  });
});
