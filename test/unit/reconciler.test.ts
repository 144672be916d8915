import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { OepError } from '../../src/errors.js';
import type { FoundReplica, PreparedConfiguration, ReplicaExit, ReplicaHandle, ReplicaRequest, Runtime } from '../../src/runtimes/types.js';
import type { DeploymentSpec } from '../../src/spec/types.js';
import { oepPaths } from '../../src/state/paths.js';
import { Reconciler } from '../../src/supervisor/reconciler.js';

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
  generation = 0;
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

/** A runtime of fake replicas; it can hold starts of a generation, fail starts, and offer found replicas. */
class FakeRuntime implements Runtime {
  readonly kind = 'process' as const;
  readonly started: FakeReplica[] = [];
  /** Generations whose replicas start only once the promise settles. */
  readonly heldGenerations = new Map<number, Promise<void>>();
  /** How many starts fail before one succeeds, and with what. */
  failures = 0;
  failure = new OepError('OEP_ERR_DOCKER_UNAVAILABLE', 'No Docker engine answered.', { hint: 'Start Docker.' });
  /** Found replicas and the fake replica behind each. */
  readonly leftovers = new Map<string, { found: FoundReplica; replica: FakeReplica; origin: string }>();
  readonly discarded: string[] = [];
  /** findReplicas answers once this settles (a slow look for leftovers). */
  finding?: Promise<void>;
  /** The deployments whose runtime files were cleaned up. */
  readonly cleaned: string[] = [];

  /** Starts asked for, held ones included. */
  requested = 0;

  async startReplica(request: ReplicaRequest): Promise<ReplicaHandle> {
    this.requested += 1;
    await this.heldGenerations.get(request.generation);
    if (this.failures > 0) {
      this.failures -= 1;
      throw this.failure;
    }
    const replica = new FakeReplica();
    replica.generation = request.generation;
    const origin = await replica.listen();
    this.started.push(replica);
    return this.handle(request, replica, origin);
  }

  /** Makes a running replica look like one an earlier daemon left. */
  async leave(index: number, generation: number, configHash = 'h'): Promise<FakeReplica> {
    const replica = new FakeReplica();
    const origin = await replica.listen();
    const found: FoundReplica = { id: `found-${index}-${generation}`, runtime: 'process', endpoint: 'ep', deployment: 'blue', index, generation, configHash, alive: true };
    this.leftovers.set(found.id, { found, replica, origin });
    return replica;
  }

  async findReplicas(): Promise<FoundReplica[]> {
    await this.finding;
    return [...this.leftovers.values()].map((entry) => entry.found);
  }

  async adoptReplica(found: FoundReplica, request: ReplicaRequest): Promise<ReplicaHandle> {
    const entry = this.leftovers.get(found.id)!;
    return { ...this.handle(request, entry.replica, entry.origin), adopted: true };
  }

  async discardReplica(found: FoundReplica): Promise<void> {
    this.discarded.push(found.id);
    this.leftovers.get(found.id)?.replica.die(0);
  }

  /** Counts preparations; `preparing` (when set) holds them until it resolves. */
  prepared = 0;
  preparing?: Promise<void>;
  /** Replicas the preparation reports seeing (a container found by label after start-up). */
  seenWhilePreparing: FoundReplica[] = [];

  async prepare(): Promise<PreparedConfiguration> {
    this.prepared += 1;
    await this.preparing;
    return { configHash: 'h', found: this.seenWhilePreparing };
  }

  async cleanup(endpoint: string, deployment: string): Promise<void> {
    this.cleaned.push(`${endpoint}/${deployment}`);
  }

  private handle(request: ReplicaRequest, replica: FakeReplica, origin: string): ReplicaHandle {
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
    await sleep(20);
  }
}

function sandbox(runtime: FakeRuntime, logs: string[] = [], restartDelayMs?: (restart: number) => number) {
  const home = mkdtempSync(join(tmpdir(), 'oep-rec-'));
  const reconciler = new Reconciler({ paths: oepPaths(home), runtimes: { process: runtime }, log: (line) => logs.push(line), ...(restartDelayMs && { restartDelayMs }) });
  return {
    reconciler,
    async close(): Promise<void> {
      await reconciler.stopAll();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

const apply = (reconciler: Reconciler, generation: number, overrides: Partial<DeploymentSpec> = {}, extra: { restore?: boolean } = {}) =>
  reconciler.apply({ endpoint: 'ep', spec: spec(overrides), runtime: 'process', generation, ...extra });

describe('reconciler with a fake runtime', () => {
  const runtime = new FakeRuntime();
  const logs: string[] = [];
  const { reconciler, close } = sandbox(runtime, logs);
  after(close);

  it('starts instance_count replicas and reports them ready', async () => {
    await apply(reconciler, 1);
    assert.deepEqual(reconciler.replicas('ep', 'blue').map((replica) => replica.ready), [true, true]);
    assert.ok(logs.includes('ep/blue: start blue#0 gen 1'), logs.join('\n'));
  });

  it('takes a replica out of rotation while its readiness probe fails, and back when it passes', async () => {
    const [first] = runtime.started;
    first!.readyStatus = 503;
    await until('replica 0 leaves rotation', () => reconciler.replicas('ep', 'blue')[0]!.ready === false);
    assert.equal(reconciler.replicas('ep', 'blue')[1]!.ready, true);
    first!.readyStatus = 200;
    await until('replica 0 is back', () => reconciler.replicas('ep', 'blue')[0]!.ready === true);
  });

  it('restarts a replica past liveness failure_threshold', async () => {
    const first = runtime.started[0]!;
    const before = runtime.started.length;
    first.liveStatus = 500;
    await until('a replacement starts', () => runtime.started.length > before);
    assert.equal(first.stopped, true);
    await until('the replacement is ready', () => reconciler.replicas('ep', 'blue')[0]!.ready);
    assert.ok(logs.some((line) => /failed its liveness probe 3 times \(failure_threshold 3\); stopping it/.test(line)), logs.join('\n'));
    assert.ok(logs.includes('ep/blue: recycle blue#0 gen 1 (failed its liveness probe)'), logs.join('\n'));
  });

  it('restarts a replica whose process dies, while the other keeps serving', async () => {
    const before = runtime.started.length;
    const victim = runtime.started[runtime.started.length - 1]!;
    const oldRecord = reconciler.replicas('ep', 'blue')[0]!;
    victim.die(137);
    await until('replica 0 leaves rotation', () => reconciler.replicas('ep', 'blue')[0]!.ready === false);
    assert.equal(reconciler.replicas('ep', 'blue')[1]!.ready, true);
    await until('a replacement is ready', () => runtime.started.length > before && reconciler.replicas('ep', 'blue')[0]!.ready);
    assert.ok(logs.some((line) => /exited \(code 137/.test(line)));
    assert.ok(logs.some((line) => /restarting replica 0 in 2 s \(restart 2\)/.test(line)), logs.join('\n'));
    // The router's record of the old process is not reused: its in-flight count stays its own.
    assert.notEqual(reconciler.replicas('ep', 'blue')[0], oldRecord);
  });

  it('a request waits for a replica that is coming, and not for one that is not', async () => {
    assert.equal(await reconciler.waitForReplica('ep', 'blue', 1000), true);
    assert.equal(await reconciler.waitForReplica('ep', 'nothing', 60_000), false);
  });

  it('scales up and down without touching the replicas that stay', async () => {
    const kept = reconciler.replicas('ep', 'blue')[0]!;
    reconciler.scale('ep', 'blue', 3);
    assert.equal(reconciler.replicaCount('ep', 'blue'), 3);
    await until('a third replica is ready', () => reconciler.replicas('ep', 'blue').filter((replica) => replica.ready).length === 3);
    reconciler.scale('ep', 'blue', 1);
    await until('two replicas are gone', () => reconciler.replicas('ep', 'blue').length === 1);
    assert.equal(reconciler.replicas('ep', 'blue')[0], kept);
  });

  it('stops every replica on remove', async () => {
    await reconciler.remove('ep', 'blue');
    assert.deepEqual(reconciler.replicas('ep', 'blue'), []);
    assert.ok(runtime.started.every((replica) => replica.stopped || replica.exited));
    assert.equal(await reconciler.waitForReplica('ep', 'blue', 60_000), false);
  });
});

describe('reconciler: updates', () => {
  it('never lets a stale configuration that finishes starting last replace a newer one, and stops its replicas', async () => {
    const runtime = new FakeRuntime();
    const { reconciler, close } = sandbox(runtime);
    try {
      // Configuration 1 starts only after configuration 2 is live: an order set by events, not delays.
      let startOld!: () => void;
      runtime.heldGenerations.set(1, new Promise<void>((resolve) => (startOld = resolve)));
      const restoring = apply(reconciler, 1, { instance_count: 3 }).then(() => undefined, (error: Error) => error);
      await until('configuration 1 is starting', () => runtime.requested === 3);
      await apply(reconciler, 2, { instance_count: 1 });
      assert.match(String((await restoring)?.message), /configuration 1 was replaced by configuration 2 while it was starting/);
      startOld();
      await until('the stale replicas are stopped', () => runtime.started.filter((replica) => replica.stopped).length === 3);
      assert.equal(reconciler.replicas('ep', 'blue').length, 1);
      assert.equal(runtime.started.length, 4);
      assert.equal(runtime.started.find((replica) => !replica.stopped)?.generation, 2);
    } finally {
      await close();
    }
  });

  it('a failed update keeps the old configuration serving, and fails with the phase as a field', async () => {
    const runtime = new FakeRuntime();
    const { reconciler, close } = sandbox(runtime);
    try {
      await apply(reconciler, 1, { instance_count: 1 });
      const serving = reconciler.replicas('ep', 'blue')[0];
      runtime.failures = 1;
      runtime.failure = new OepError('OEP_ERR_DEPLOYMENT_FAILED', 'Deployment blue failed in phase "init": init() failed.', { phase: 'init' });
      const error = await apply(reconciler, 2, { instance_count: 2 }).then(
        () => assert.fail('the update should fail'),
        (failure: unknown) => failure as OepError,
      );
      assert.equal(error.phase, 'init');
      assert.deepEqual(reconciler.replicas('ep', 'blue'), [serving]);
      assert.equal(runtime.started.filter((replica) => replica.generation === 2 && !replica.stopped).length, 0, 'the new replicas are stopped');
    } finally {
      await close();
    }
  });
});

describe('reconciler: the daemon out of file descriptors', () => {
  it('a start that fails with EMFILE is no replica failure: the roll-out goes on, no restart is counted', async () => {
    const runtime = new FakeRuntime();
    const logs: string[] = [];
    const { reconciler, close } = sandbox(runtime, logs);
    try {
      // What a spawn or an open gives when the daemon has no descriptor left; a plain failure would fail the roll-out.
      runtime.failures = 2;
      runtime.failure = Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' }) as unknown as OepError;
      const applied = apply(reconciler, 1, { instance_count: 1 });
      // Polling keeps the test's event loop alive while the retry timer (unref'd, as in the daemon) runs.
      await until('the replica is ready', () => reconciler.replicas('ep', 'blue').filter((replica) => replica.ready).length === 1);
      await applied;
      assert.deepEqual(reconciler.health().map((each) => each.restarts), [0]);
      assert.ok(logs.some((line) => line.includes('out of file descriptors')), logs.join('\n'));
    } finally {
      await close();
    }
  });
});

describe('reconciler: after a daemon restart', () => {
  it('adopts replicas an earlier daemon left, stops those nobody wants, and starts no duplicate', async () => {
    const runtime = new FakeRuntime();
    const logs: string[] = [];
    const { reconciler, close } = sandbox(runtime, logs);
    try {
      const kept = await runtime.leave(0, 3);
      const old = await runtime.leave(1, 2);
      const changed = await runtime.leave(1, 3, 'other');
      const observed = reconciler.observe();
      const restored = apply(reconciler, 3, {}, { restore: true });
      await observed;
      await restored;
      assert.equal(runtime.started.length, 1, 'only replica 1 is started; replica 0 is adopted');
      assert.equal(reconciler.replicas('ep', 'blue')[0]!.origin, runtime.leftovers.get('found-0-3')!.origin);
      assert.deepEqual(runtime.discarded.sort(), ['found-1-2', 'found-1-3']);
      assert.equal(kept.stopped, false);
      assert.equal(old.server.listening || changed.server.listening, false);
      assert.ok(logs.includes('ep/blue: adopt blue#0 gen 3'), logs.join('\n'));
      assert.ok(logs.includes('ep/blue: discard blue#1 gen 2 (replaced by gen 3)'), logs.join('\n'));
      assert.ok(logs.includes('ep/blue: discard blue#1 gen 3 (configuration changed)'), logs.join('\n'));
    } finally {
      await close();
    }
  });

  it('starts nothing before the configuration is prepared, then adopts what the preparation saw: adoption is decided once', async () => {
    const runtime = new FakeRuntime();
    const logs: string[] = [];
    const { reconciler, close } = sandbox(runtime, logs);
    let prepared!: () => void;
    runtime.preparing = new Promise((resolve) => (prepared = resolve));
    try {
      // Left while the runtime could not be asked at start-up: only the preparation sees it.
      const kept = await runtime.leave(0, 3);
      const left = runtime.leftovers.get('found-0-3')!;
      runtime.seenWhilePreparing = [left.found];
      runtime.leftovers.delete('found-0-3');
      await reconciler.observe();
      const restored = apply(reconciler, 3, {}, { restore: true });
      await until('the preparation is asked for', () => runtime.prepared === 1);
      await sleep(100);
      assert.equal(runtime.started.length, 0, 'no replica starts while the configuration is prepared');
      runtime.leftovers.set('found-0-3', left);
      prepared();
      await restored;
      assert.equal(runtime.prepared, 1);
      assert.equal(runtime.started.length, 1, 'replica 1 is started; replica 0 is adopted');
      assert.ok(logs.includes('ep/blue: adopt blue#0 gen 3'), logs.join('\n'));
      assert.ok(logs.includes('ep/blue: start blue#1 gen 3'), logs.join('\n'));
      assert.equal(kept.stopped, false);
    } finally {
      await close();
    }
  });

  it('retries a deployment that cannot start yet (no Docker engine) with backoff, and says why meanwhile', async () => {
    const runtime = new FakeRuntime();
    runtime.failures = 4;
    const { reconciler, close } = sandbox(runtime, [], () => 10);
    try {
      let restored = false;
      void apply(reconciler, 1, {}, { restore: true }).then(() => (restored = true), () => undefined);
      await until('the problem is known', () => reconciler.problem('ep', 'blue') !== undefined);
      assert.equal(
        reconciler.problem('ep', 'blue'),
        'Deployment blue of endpoint ep could not start after the daemon restarted: No Docker engine answered. Start Docker. oep keeps trying (next in 1 s).',
      );
      assert.equal(reconciler.problems().length, 1);
      assert.equal(await reconciler.waitForReplica('ep', 'blue', 60_000), false, 'a request does not wait for a deployment that keeps failing');
      await until('it is restored', () => restored);
      assert.equal(reconciler.problem('ep', 'blue'), undefined);
      assert.deepEqual(reconciler.problems(), []);
    } finally {
      await close();
    }
  });

  it('a request sent while the replicas come up waits for the first ready one', async () => {
    const runtime = new FakeRuntime();
    const { reconciler, close } = sandbox(runtime);
    try {
      let release!: () => void;
      runtime.heldGenerations.set(1, new Promise<void>((resolve) => (release = resolve)));
      void apply(reconciler, 1, {}, { restore: true }).catch(() => undefined);
      const waiting = reconciler.waitForReplica('ep', 'blue', 60_000);
      release();
      assert.equal(await waiting, true);
      assert.ok(reconciler.replicas('ep', 'blue').some((replica) => replica.ready));
    } finally {
      await close();
    }
  });

  it('stopAll stops what is starting too, and rejects what waited for it', async () => {
    const runtime = new FakeRuntime();
    const { reconciler } = sandbox(runtime);
    let release!: () => void;
    runtime.heldGenerations.set(1, new Promise<void>((resolve) => (release = resolve)));
    const creating = apply(reconciler, 1).then(() => undefined, (error: Error) => error);
    const stopping = reconciler.stopAll();
    assert.match(String((await creating)?.message), /was stopped while it was starting/);
    release();
    await stopping;
    assert.ok(runtime.started.every((replica) => replica.stopped));
    await assert.rejects(apply(reconciler, 2), /was stopped while it was starting/);
  });

  it('remove of a deployment this daemon never ran, asked while leftovers are looked for, ends once what it left is stopped, then cleans its files', async () => {
    const runtime = new FakeRuntime();
    const { reconciler, close } = sandbox(runtime);
    try {
      const left = await runtime.leave(0, 1);
      let found!: () => void;
      runtime.finding = new Promise<void>((resolve) => (found = resolve));
      const observed = reconciler.observe();
      let removed = false;
      // As a restarted daemon finishes a delete: the state names the runtime, nothing was applied.
      const removing = reconciler.remove('ep', 'blue', 'process').then(() => (removed = true));
      await sleep(50);
      assert.equal(removed, false, 'not done before the leftovers are known');
      found();
      await observed;
      await removing;
      assert.deepEqual(runtime.discarded, ['found-0-1']);
      assert.equal(left.server.listening, false);
      assert.deepEqual(runtime.cleaned, ['ep/blue']);
    } finally {
      await close();
    }
  });
});

describe('restart backoff after a long run', () => {
  const runtime = new FakeRuntime();
  const logs: string[] = [];
  const home = mkdtempSync(join(tmpdir(), 'oep-rec-'));
  let offset = 0;
  const reconciler = new Reconciler({
    paths: oepPaths(home),
    runtimes: { process: runtime },
    log: (line) => logs.push(line),
    now: () => Date.now() + offset,
    restartDelayMs: (restart) => restart * 10,
  });
  after(async () => {
    await reconciler.stopAll();
    rmSync(home, { recursive: true, force: true });
  });

  it('grows for a replica that keeps dying, and starts over for one that ran 10 minutes', async () => {
    await apply(reconciler, 1, { instance_count: 1 });
    const dieAndReturn = async (): Promise<void> => {
      const before = runtime.started.length;
      runtime.started[runtime.started.length - 1]!.die(137);
      await until('a replacement is ready', () => runtime.started.length > before && reconciler.replicas('ep', 'blue')[0]?.ready === true);
    };
    await dieAndReturn();
    await dieAndReturn();
    assert.ok(logs.some((line) => /restarting replica 0 in 0\.02 s \(restart 2\)/.test(line)), logs.join('\n'));
    offset += 10 * 60_000;
    await dieAndReturn();
    assert.match(logs.filter((line) => line.includes('restarting replica 0')).at(-1)!, /restarting replica 0 in 0\.01 s \(restart 1\)/);
  });
});
