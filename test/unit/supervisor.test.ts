import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { ReplicaExit, ReplicaHandle, ReplicaRequest, Runtime } from '../../src/runtimes/types.js';
import type { DeploymentSpec } from '../../src/spec/types.js';
import { oepPaths } from '../../src/state/paths.js';
import { Supervisor } from '../../src/supervisor/supervisor.js';

/**
 * A replica whose health answers the test controls: a real HTTP server on 127.0.0.1. Readiness
 * (/ready) and liveness (/live) answer separately, so a test of one never trips the other however
 * slowly a loaded machine runs the test.
 */
class FakeReplica {
  readyStatus = 200;
  liveStatus = 200;
  server: Server;
  stopped = false;
  private resolveExit!: (exit: ReplicaExit) => void;
  readonly exited = new Promise<ReplicaExit>((resolve) => (this.resolveExit = resolve));

  constructor() {
    this.server = createServer((req, res) => res.writeHead(req.url === '/ready' ? this.readyStatus : this.liveStatus).end());
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  die(code: number): void {
    this.server.close();
    this.server.closeAllConnections();
    this.resolveExit({ code, signal: null });
  }
}

class FakeRuntime implements Runtime {
  readonly kind = 'process' as const;
  readonly started: FakeReplica[] = [];
  /** Generations whose replicas start only once the promise settles. */
  readonly heldGenerations = new Map<number, Promise<void>>();

  async startReplica(request: ReplicaRequest): Promise<ReplicaHandle> {
    await this.heldGenerations.get(request.generation);
    const replica = new FakeReplica();
    const origin = await replica.listen();
    this.started.push(replica);
    return {
      id: `${request.endpoint}/${request.deployment}/${request.replica}`,
      target: { origin, scoringPath: '/score', readinessPath: '/ready', livenessPath: '/live' },
      exited: replica.exited,
      stop: async () => {
        replica.stopped = true;
        replica.die(0);
      },
    };
  }

  async cleanup(): Promise<void> {}
}

function spec(overrides: Partial<DeploymentSpec> = {}): DeploymentSpec {
  // A generous probe timeout: a probe that a loaded machine answers late still counts as answered.
  const probe = { initial_delay: 1, period: 1, timeout: 10, success_threshold: 1, failure_threshold: 2 };
  return {
    name: 'blue',
    endpoint_name: 'ep',
    type: 'managed',
    instance_count: 2,
    environment_variables: {},
    request_settings: { request_timeout_ms: 5000, max_concurrent_requests_per_instance: 1, max_queue_wait_ms: 500 },
    liveness_probe: { ...probe, failure_threshold: 3 },
    readiness_probe: probe,
    ...overrides,
  } as DeploymentSpec;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits for a condition; the deadline is far beyond what even a loaded machine needs. */
async function until(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(50);
  }
}

describe('supervisor with a fake runtime', () => {
  const home = mkdtempSync(join(tmpdir(), 'oep-sup-'));
  const runtime = new FakeRuntime();
  const logs: string[] = [];
  const supervisor = new Supervisor({ paths: oepPaths(home), runtimes: { process: runtime }, log: (line) => logs.push(line) });
  after(async () => {
    await supervisor.stopAll();
    rmSync(home, { recursive: true, force: true });
  });

  it('starts instance_count replicas and reports them ready', async () => {
    await supervisor.deploy({ endpoint: 'ep', spec: spec(), runtime: 'process', generation: 1, emit: () => undefined });
    assert.deepEqual(supervisor.replicas('ep', 'blue').map((replica) => replica.ready), [true, true]);
  });

  it('takes a replica out of rotation while its readiness probe fails, and back when it passes', async () => {
    const [first] = runtime.started;
    first!.readyStatus = 503;
    await until('replica 0 leaves rotation', () => supervisor.replicas('ep', 'blue')[0]!.ready === false);
    assert.equal(supervisor.replicas('ep', 'blue')[1]!.ready, true);
    first!.readyStatus = 200;
    await until('replica 0 is back', () => supervisor.replicas('ep', 'blue')[0]!.ready === true);
  });

  it('restarts a replica past liveness failure_threshold', async () => {
    const first = runtime.started[0]!;
    const before = runtime.started.length;
    first.liveStatus = 500;
    await until('a replacement starts', () => runtime.started.length > before);
    assert.equal(first.stopped, true);
    await until('the replacement is ready', () => supervisor.replicas('ep', 'blue')[0]!.ready);
    assert.ok(logs.some((line) => /failed its liveness probe 3 times \(failure_threshold 3\); stopping it/.test(line)), logs.join('\n'));
  });

  it('restarts a replica whose process dies, while the other keeps serving', async () => {
    const before = runtime.started.length;
    const victim = runtime.started[runtime.started.length - 1]!;
    victim.die(137);
    await until('replica 0 leaves rotation', () => supervisor.replicas('ep', 'blue')[0]!.ready === false);
    assert.equal(supervisor.replicas('ep', 'blue')[1]!.ready, true);
    await until('a replacement is ready', () => runtime.started.length > before && supervisor.replicas('ep', 'blue')[0]!.ready);
    assert.ok(logs.some((line) => /exited \(code 137/.test(line)));
  });

  it('stops every replica on stop', async () => {
    await supervisor.stop('ep', 'blue');
    assert.deepEqual(supervisor.replicas('ep', 'blue'), []);
    assert.ok(runtime.started.every((replica) => replica.stopped || replica.exited));
  });
});

describe('supervisor: a stale configuration that finishes starting last', () => {
  const home = mkdtempSync(join(tmpdir(), 'oep-sup-'));
  const runtime = new FakeRuntime();
  const supervisor = new Supervisor({ paths: oepPaths(home), runtimes: { process: runtime }, log: () => undefined });
  after(async () => {
    await supervisor.stopAll();
    rmSync(home, { recursive: true, force: true });
  });

  it('never replaces a newer one (an update during a restore), and stops its own replicas', async () => {
    // Configuration 1 starts only after configuration 2 is live: an order set by events, not delays.
    let startOld!: () => void;
    runtime.heldGenerations.set(1, new Promise<void>((resolve) => (startOld = resolve)));
    const restoring = supervisor.deploy({ endpoint: 'ep', spec: spec({ instance_count: 3 }), runtime: 'process', generation: 1, emit: () => undefined });
    await supervisor.deploy({ endpoint: 'ep', spec: spec({ instance_count: 1 }), runtime: 'process', generation: 2, emit: () => undefined });
    startOld();
    await assert.rejects(restoring, /configuration 1 was replaced by configuration 2 while it was starting/);
    assert.equal(supervisor.replicas('ep', 'blue').length, 1);
    assert.equal(runtime.started.length, 4);
    assert.deepEqual(runtime.started.map((replica) => replica.stopped).filter(Boolean).length, 3, 'the stale replicas were stopped');
    assert.equal(runtime.started.find((replica) => !replica.stopped) !== undefined, true);
  });
});
