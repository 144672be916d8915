import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import type { DaemonAgain } from '../../src/daemon/connection-lost.js';
import { DaemonConnectionLost, explainLostCall } from '../../src/daemon/connection-lost.js';
import { loadDeploymentSpec, unwrapSpec } from '../../src/spec/index.js';
import type { DeploymentSpec } from '../../src/spec/types.js';
import { OepError } from '../../src/errors.js';
import { oepPaths } from '../../src/state/paths.js';
import { OEP_BIN, REPO_ROOT } from '../e2e/harness.js';

/**
 * The CLI when the daemon's connection drops mid-command (issue 25 point 6): the built CLI against
 * a fake daemon on a unix socket that cuts the connection at chosen points (before anything, after
 * progress, after "accepted", mid log), then answers the CLI's questions as a restarted daemon.
 */

interface RpcCall {
  method: string;
  params: Record<string, unknown>;
}

/** What the fake does with one call: answer it (frames then end), or cut it. */
type Script = (call: RpcCall, reply: Reply) => void;

interface Reply {
  frame(frame: object): void;
  /** The daemon dies: the connection closes with no last frame. */
  cut(): void;
  /** Runs `then` once the frames so far are written. */
  flushed(then: () => void): void;
  /** Answers with a result (the last frame) and ends. */
  result(value: unknown): void;
  error(code: string, message: string): void;
}

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'rollout');
const NOT_FOUND = { code: 'OEP_ERR_DEPLOYMENT_NOT_FOUND', message: 'Deployment blue does not exist in endpoint rollout.' };

/** A fake daemon: `first` handles the first call of `method`; every other call is answered from `state`. */
class FakeDaemon {
  readonly calls: RpcCall[] = [];
  /** The deployment as a restarted daemon holds it (undefined: none). */
  deployment: { spec: unknown; provisioning_state: string } | undefined;
  private server: Server | undefined;
  private scripts = new Map<string, Script>();

  constructor(readonly socket: string) {}

  /** Cuts (or otherwise scripts) the first call of `method` only. */
  onFirst(method: string, script: Script): void {
    this.scripts.set(method, script);
  }

  async listen(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(this.socket, resolve));
  }

  /** Stops as `oep daemon stop` does: the socket goes first, then open connections. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => {
      const call = JSON.parse(Buffer.concat(chunks).toString('utf8')) as RpcCall;
      this.calls.push(call);
      // A killed daemon's last writes are in the kernel already: cut only once they are flushed.
      let written = Promise.resolve();
      const reply: Reply = {
        frame: (frame) => {
          if (!res.headersSent) res.writeHead(200, { 'content-type': 'application/x-ndjson' });
          written = new Promise((resolve) => res.write(`${JSON.stringify(frame)}\n`, () => resolve()));
        },
        cut: () => void written.then(() => req.socket.destroy()),
        flushed: (then) => void written.then(then),
        result: (value) => {
          reply.frame({ result: value });
          res.end();
        },
        error: (code, message) => {
          reply.frame({ error: { code, message } });
          res.end();
        },
      };
      const script = this.scripts.get(call.method);
      if (script) {
        this.scripts.delete(call.method);
        script(call, reply);
        return;
      }
      this.answer(call, reply);
    });
  }

  /** A restarted daemon's answers, from `deployment`. */
  private answer(call: RpcCall, reply: Reply): void {
    if (call.method === 'status') return reply.result({ pid: 4242, version: 'fake', home: '', socket: this.socket, endpoints: 1, metrics_url: null, problems: [] });
    if (call.method === 'deployment.show' || call.method === 'deployment.spec') {
      if (!this.deployment) return reply.error(NOT_FOUND.code, NOT_FOUND.message);
      return reply.result(call.method === 'deployment.spec' ? this.deployment.spec : { name: 'blue', endpoint_name: 'rollout', provisioning_state: this.deployment.provisioning_state });
    }
    if (call.method === 'endpoint.show') return reply.result({ name: 'rollout', provisioning_state: 'Succeeded' });
    reply.error('OEP_ERR_INTERNAL', `the fake daemon has no answer for ${call.method}`);
  }
}

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

function runCli(home: string, args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [OEP_BIN, ...args], { cwd: REPO_ROOT, env: { ...process.env, NO_COLOR: '1', OEP_HOME: home }, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/** No stack trace, no "this is a bug": what a user must never see for a daemon that went away. */
function assertNoCrash(run: CliRun): void {
  assert.doesNotMatch(run.stderr, /this is a bug|^\s+at /m, run.stderr);
  assert.equal(run.code, 1, run.stderr);
}

async function blueSpec(environmentValue?: string): Promise<DeploymentSpec> {
  return unwrapSpec(await loadDeploymentSpec({ file: join(FIXTURE, 'blue.yml'), cwd: REPO_ROOT, set: environmentValue ? [`environment_variables.ROUND="${environmentValue}"`] : [] }));
}

describe('the CLI when the daemon stops answering mid-command (a fake daemon on a unix socket)', () => {
  const root = mkdtempSync(join(tmpdir(), 'oep-lost-'));
  let home = '';
  let daemon: FakeDaemon;
  let log = '';
  let count = 0;

  beforeEach(async () => {
    count += 1;
    home = join(root, `h${count}`);
    const paths = oepPaths(home);
    await import('node:fs/promises').then((fs) => fs.mkdir(home, { mode: 0o700 }));
    log = paths.daemonLog;
    daemon = new FakeDaemon(paths.socket);
    await daemon.listen();
  });
  afterEach(async () => {
    await daemon.stop();
    // A real daemon would mean the CLI started one when it should have asked the fake: never leave it running.
    const pidFile = oepPaths(home).pidFile;
    if (existsSync(pidFile)) {
      process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
      assert.fail('the CLI started a real daemon');
    }
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  const update = ['deployment', 'update', '-f', join(FIXTURE, 'blue.yml'), '--set', 'environment_variables.ROUND="7"', '-o', 'none'];
  const hint = (): string => `hint: See the outcome with: oep deployment show -n blue -e rollout --query provisioning_state (why the daemon stopped may be in its log: ${log})`;

  it('update cut after "accepted", mid-progress: recorded, the daemon finishes it, and the command that shows it', async () => {
    daemon.onFirst('deployment.update', (call, reply) => {
      reply.frame({ event: { phase: 'start', message: 'starting blue#0' } });
      reply.frame({ accepted: null });
      daemon.deployment = { spec: (call.params as { spec: unknown }).spec, provisioning_state: 'Updating' };
      reply.frame({ event: { phase: 'start', message: 'starting blue#1' } });
      reply.cut();
    });
    const run = await runCli(home, update);
    assertNoCrash(run);
    assert.equal(
      run.stderr,
      [
        'error: The oep daemon stopped answering during deployment update (deployment blue of endpoint rollout).',
        '  The update was recorded before the daemon stopped: the daemon finishes it when it runs again.',
        "  Asked again, the daemon (pid 4242) shows deployment blue Updating, with this update's configuration.",
        hint(),
        '(OEP_ERR_DAEMON_LOST)',
        '',
      ].join('\n'),
    );
    assert.deepEqual(daemon.calls.map((call) => call.method), ['deployment.update', 'status', 'deployment.show', 'deployment.spec']);
  });

  it('update cut before any answer, not recorded: says so, and to run the command again', async () => {
    daemon.deployment = { spec: await blueSpec('6'), provisioning_state: 'Succeeded' };
    daemon.onFirst('deployment.update', (_call, reply) => reply.cut());
    const run = await runCli(home, update);
    assertNoCrash(run);
    assert.equal(
      run.stderr,
      [
        'error: The oep daemon stopped answering during deployment update (deployment blue of endpoint rollout).',
        '  The update was not recorded: asked again, the daemon (pid 4242) shows deployment blue Succeeded, with its earlier configuration. Nothing was changed: run the command again.',
        hint(),
        '(OEP_ERR_DAEMON_LOST)',
        '',
      ].join('\n'),
    );
  });

  it('update cut before "accepted" but recorded (the daemon died between the two): asked again, it has the update', async () => {
    daemon.deployment = { spec: await blueSpec('6'), provisioning_state: 'Succeeded' };
    daemon.onFirst('deployment.update', (call, reply) => {
      daemon.deployment = { spec: (call.params as { spec: unknown }).spec, provisioning_state: 'Updating' };
      reply.frame({ event: { phase: 'start', message: 'checking' } });
      reply.cut();
    });
    const run = await runCli(home, update);
    assertNoCrash(run);
    assert.match(run.stderr, /^ {2}The update was recorded: asked again, the daemon \(pid 4242\) shows deployment blue Updating, with this update's configuration\.$/m);
    assert.doesNotMatch(run.stderr, /run the command again/);
  });

  it('create cut before "accepted", nothing recorded: no deployment, run it again (not the "kept, Failed" hint)', async () => {
    daemon.onFirst('deployment.create', (_call, reply) => reply.cut());
    const run = await runCli(home, ['deployment', 'create', '-f', join(FIXTURE, 'blue.yml'), '-o', 'none']);
    assertNoCrash(run);
    assert.match(run.stderr, /^error: The oep daemon stopped answering during deployment create \(deployment blue of endpoint rollout\)\.$/m);
    assert.match(run.stderr, /^ {2}The create was not recorded: asked again, the daemon \(pid 4242\) shows no deployment blue in endpoint rollout\. Nothing was changed: run the command again\.$/m);
    assert.doesNotMatch(run.stderr, /kept, Failed/);
  });

  it('delete cut after "accepted": recorded; asked again, the deployment is gone', async () => {
    daemon.deployment = { spec: await blueSpec(), provisioning_state: 'Succeeded' };
    daemon.onFirst('deployment.delete', (_call, reply) => {
      daemon.deployment = undefined;
      reply.frame({ accepted: null });
      reply.cut();
    });
    const run = await runCli(home, ['deployment', 'delete', '-n', 'blue', '-e', 'rollout', '--yes']);
    assertNoCrash(run);
    assert.equal(
      run.stderr,
      [
        'error: The oep daemon stopped answering during deployment delete (deployment blue of endpoint rollout).',
        '  The delete was recorded before the daemon stopped: the daemon finishes it when it runs again.',
        '  Asked again, the daemon (pid 4242) shows no deployment blue in endpoint rollout any more: it is deleted.',
        hint(),
        '(OEP_ERR_DAEMON_LOST)',
        '',
      ].join('\n'),
    );
  });

  it('a read cut mid-answer (endpoint show): a clear error, exit 1, nothing on stdout', async () => {
    daemon.onFirst('endpoint.show', (_call, reply) => {
      reply.frame({ event: { phase: 'read', message: 'reading' } });
      reply.cut();
    });
    const run = await runCli(home, ['endpoint', 'show', '-n', 'rollout']);
    assertNoCrash(run);
    assert.equal(run.stdout, '');
    assert.equal(
      run.stderr,
      [
        'error: The oep daemon stopped answering during endpoint show (endpoint rollout).',
        '  Nothing was changed by this command.',
        '  The daemon answers again (pid 4242).',
        `hint: Run the command again (why the daemon stopped may be in its log: ${log})`,
        '(OEP_ERR_DAEMON_LOST)',
        '',
      ].join('\n'),
    );
  });

  it('get-logs --follow cut: the lines so far on stdout, then the command that follows again', async () => {
    daemon.onFirst('deployment.logs', (_call, reply) => {
      reply.frame({ log: 'line 1\n' });
      reply.frame({ log: 'line 2\n' });
      reply.cut();
    });
    const run = await runCli(home, ['deployment', 'get-logs', '-n', 'blue', '-e', 'rollout', '--follow']);
    assertNoCrash(run);
    assert.equal(run.stdout, 'line 1\nline 2\n');
    assert.equal(
      run.stderr,
      [
        'error: The oep daemon stopped answering during deployment get-logs --follow (deployment blue of endpoint rollout).',
        '  Following stopped with the daemon; the deployment keeps running and its log is kept.',
        '  The daemon answers again (pid 4242).',
        `hint: Follow it again with: oep deployment get-logs -n blue -e rollout --follow (why the daemon stopped may be in its log: ${log})`,
        '(OEP_ERR_DAEMON_LOST)',
        '',
      ].join('\n'),
    );
  });

  it('a daemon stopped on purpose (oep daemon stop) mid-update is not started again: the message says so', async () => {
    daemon.onFirst('deployment.update', (_call, reply) => {
      reply.frame({ accepted: null });
      reply.flushed(() => void daemon.stop());
    });
    const run = await runCli(home, update);
    assertNoCrash(run);
    assert.match(run.stderr, /^ {2}The update was recorded before the daemon stopped: the daemon finishes it when it runs again\.$/m);
    assert.match(
      run.stderr,
      /^ {2}The daemon was stopped \(its socket is gone, as after oep daemon stop\), so oep did not start it again: it finishes the update once it runs \(the next oep command starts it\)\.$/m,
    );
    assert.equal(existsSync(oepPaths(home).pidFile), false, 'no daemon was started');
  });
});

describe('explainLostCall: what a restarted daemon holds decides what the message says', () => {
  /** A restarted daemon that answers from a table; a method it lacks fails as the daemon would. */
  function daemonHolding(answers: Record<string, unknown>): DaemonAgain {
    return {
      daemonLog: '/home/u/.local/state/oep/daemon.log',
      ask: async (method) => {
        if (method === 'status') return { pid: 7 } as never;
        const answer = answers[method];
        if (answer instanceof Error) throw answer;
        if (answer === undefined) throw new OepError('OEP_ERR_ENDPOINT_NOT_FOUND', 'Online endpoint rollout does not exist.');
        return answer as never;
      },
    };
  }
  const lost = (method: string, params: object, accepted = false): DaemonConnectionLost =>
    DaemonConnectionLost.plain({ method: method as never, params, accepted }, '/log');
  const endpointSpec = { name: 'rollout', auth_mode: 'key', traffic: { blue: 100 }, mirror_traffic: {} };

  it('endpoint update of traffic: recorded when the endpoint has that traffic (0% entries dropped), else not', async () => {
    const params = { name: 'rollout', traffic: { blue: 100, green: 0 } };
    const held = await explainLostCall(lost('endpoint.update', params), daemonHolding({ 'endpoint.show': { provisioning_state: 'Succeeded' }, 'endpoint.spec': endpointSpec }));
    assert.equal(held.recorded, true);
    assert.deepEqual(held.details, ["The update was recorded: asked again, the daemon (pid 7) shows endpoint rollout Succeeded (traffic blue=100), with this update's settings."]);
    const other = await explainLostCall(lost('endpoint.update', { name: 'rollout', traffic: { green: 100 } }), daemonHolding({ 'endpoint.show': { provisioning_state: 'Succeeded' }, 'endpoint.spec': endpointSpec }));
    assert.equal(other.recorded, false);
    assert.match(other.details[0]!, /^The update was not recorded: .* \(traffic blue=100\), with its earlier settings\. Nothing was changed: run the command again\.$/);
  });

  it('endpoint create: recorded when the endpoint exists with the file (its traffic aside); not when it does not exist', async () => {
    const params = { spec: { ...endpointSpec, traffic: {} } };
    const made = await explainLostCall(lost('endpoint.create', params), daemonHolding({ 'endpoint.show': { provisioning_state: 'Succeeded' }, 'endpoint.spec': { ...endpointSpec, traffic: {} } }));
    assert.equal(made.recorded, true);
    const none = await explainLostCall(lost('endpoint.create', params), daemonHolding({}));
    assert.equal(none.recorded, false);
    assert.equal(none.hint, 'See the outcome with: oep endpoint show -n rollout --query provisioning_state (why the daemon stopped may be in its log: /home/u/.local/state/oep/daemon.log)');
  });

  it('endpoint delete that left it Deleting: recorded', async () => {
    const deleting = await explainLostCall(lost('endpoint.delete', { name: 'rollout' }), daemonHolding({ 'endpoint.show': { provisioning_state: 'Deleting' } }));
    assert.equal(deleting.recorded, true);
    assert.deepEqual(deleting.details, ['The delete was recorded: asked again, the daemon (pid 7) shows endpoint rollout Deleting.']);
  });

  it('a daemon whose first answer is cut too (being started again) is asked again, a bounded number of times', async () => {
    let statusAsks = 0;
    const flaky: DaemonAgain = {
      daemonLog: '/log',
      ask: async (method) => {
        if (method !== 'status') return daemonHolding({ 'deployment.show': { provisioning_state: 'Updating' } }).ask(method as never, {} as never);
        statusAsks += 1;
        if (statusAsks === 1) throw lost('status', {});
        return { pid: 9 } as never;
      },
    };
    const explained = await explainLostCall(lost('deployment.update', { spec: { name: 'blue', endpoint_name: 'rollout' } }, true), flaky);
    assert.equal(statusAsks, 2);
    assert.equal(explained.recorded, true);
    assert.match(explained.details.at(-1)!, /daemon \(pid 9\)/);

    let asks = 0;
    const gone: DaemonAgain = {
      daemonLog: '/log',
      ask: async () => {
        asks += 1;
        throw lost('status', {});
      },
    };
    const unknown = await explainLostCall(lost('deployment.update', { spec: { name: 'blue', endpoint_name: 'rollout' } }), gone);
    assert.equal(asks, 3, 'three asks, then the outcome is not known');
    assert.equal(unknown.recorded, undefined);
  });

  it('a daemon that cannot be asked: not known, said with the reason, still exit 1 and a code', async () => {
    const daemon: DaemonAgain = {
      daemonLog: '/log',
      ask: async () => {
        throw new OepError('OEP_ERR_DAEMON_UNAVAILABLE', 'The oep daemon did not start.');
      },
    };
    const explained = await explainLostCall(lost('deployment.update', { spec: { name: 'blue', endpoint_name: 'rollout' } }), daemon);
    assert.equal(explained.code, 'OEP_ERR_DAEMON_LOST');
    assert.equal(explained.exitCode, 1);
    assert.equal(explained.recorded, undefined);
    assert.deepEqual(explained.details, ['Whether the update was recorded is not known: asking the daemon again failed: The oep daemon did not start.']);
  });
});
