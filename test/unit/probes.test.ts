import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Probe } from '../../src/spec/types.js';
import { watchProbes, type ProbeClock, type WatchProbesOptions } from '../../src/supervisor/probes.js';
import { PROBE_NOT_SENT } from '../../src/supervisor/readiness.js';

/**
 * Issue 25 point 7: each probe keeps its own initial_delay, period, timeout and thresholds, as a
 * kubelet's probe workers do. Before, both ran at min(readiness.period, liveness.period): with
 * readiness every 1 s and liveness every 10 s x 3, a replica that stopped answering was killed
 * after 5.5 s. These tests run the schedule on a fake clock, so every time is exact.
 */

/** A clock whose time moves only when the test says; timers fire in time order. */
class FakeClock implements ProbeClock {
  private time = 0;
  private nextId = 0;
  private readonly timers = new Map<number, { at: number; run: () => void }>();

  now = (): number => this.time;

  setTimeout = (run: () => void, ms: number): unknown => {
    this.nextId += 1;
    this.timers.set(this.nextId, { at: this.time + ms, run });
    return this.nextId;
  };

  clearTimeout = (timer: unknown): void => {
    this.timers.delete(timer as number);
  };

  /** Moves time to `until`, firing each timer due on the way and letting the work it starts settle. */
  async advanceTo(until: number): Promise<void> {
    for (let id = this.nextDue(until); id !== undefined; id = this.nextDue(until)) {
      const timer = this.timers.get(id)!;
      this.timers.delete(id);
      this.time = timer.at;
      timer.run();
      await settle();
    }
    this.time = until;
    await settle();
  }

  /** The timer that fires first at or before `until` (the one set first, of those due at once). */
  private nextDue(until: number): number | undefined {
    let next: number | undefined;
    for (const [id, timer] of this.timers) {
      // Map order is the order timers were set, so `<` keeps the earlier of two due at once.
      if (timer.at <= until && (next === undefined || timer.at < this.timers.get(next)!.at)) next = id;
    }
    return next;
  }
}

/** Lets every promise chain the fired timers started run to its next wait. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

type Answer = number | 'hang';

/** A replica behind fake probes: each route answers what the test sets, or hangs until the probe's timeout. */
class FakeReplica {
  readonly sent: { route: string; at: number }[] = [];
  readonly answers: Record<string, Answer> = { '/ready': 200, '/live': 200 };

  constructor(private readonly clock: FakeClock) {}

  send = (url: string, timeoutMs: number): Promise<number> => {
    const route = new URL(url).pathname;
    this.sent.push({ route, at: this.clock.now() });
    const answer = this.answers[route] ?? 404;
    if (answer !== 'hang') return Promise.resolve(answer);
    return new Promise((resolve) => this.clock.setTimeout(() => resolve(0), timeoutMs));
  };

  /** When each probe of a route was sent (ms). */
  sentTimes(route: string): number[] {
    return this.sent.filter((probe) => probe.route === route).map((probe) => probe.at);
  }
}

const probe = (settings: Partial<Probe>): Probe => ({ initial_delay: 1, period: 1, timeout: 1, success_threshold: 1, failure_threshold: 3, ...settings });

/** watchProbes on a fake clock and replica; records what it reports, and when. */
function watch(readiness: Partial<Probe>, liveness: Partial<Probe>, options: Omit<WatchProbesOptions, 'clock' | 'send'> = {}) {
  const clock = new FakeClock();
  const replica = new FakeReplica(clock);
  const events: string[] = [];
  let ready = true;
  const target = { origin: 'http://127.0.0.1:1', scoringPath: '/score', readinessPath: '/ready', livenessPath: '/live' };
  const spec = { readiness_probe: probe(readiness), liveness_probe: probe(liveness) };
  const stop = watchProbes(
    target,
    spec,
    () => ready,
    {
      readiness: (now) => {
        ready = now;
        events.push(`${clock.now()} ms: ${now ? 'ready' : 'out of rotation'}`);
      },
      unhealthy: (failures) => events.push(`${clock.now()} ms: unhealthy after ${failures} liveness failures`),
      notSent: () => events.push(`${clock.now()} ms: a probe was not sent`),
    },
    { ...options, clock, send: replica.send },
  );
  return { clock, replica, events, stop };
}

describe('probes keep their own periods', () => {
  it("readiness every 1 s, liveness every 10 s x 3: the replica leaves rotation after readiness's threshold and is restarted 31.5 s after it stopped answering, not 5.5 s", async () => {
    const { clock, replica, events } = watch({ period: 1, timeout: 1, failure_threshold: 3 }, { period: 10, timeout: 2, failure_threshold: 3 });
    await clock.advanceTo(1500);
    // The replica stops answering just after the first liveness probe passed.
    replica.answers['/ready'] = 'hang';
    replica.answers['/live'] = 'hang';
    await clock.advanceTo(60_000);
    assert.deepEqual(events, ['5000 ms: out of rotation', '33000 ms: unhealthy after 3 liveness failures']);
    assert.deepEqual(replica.sentTimes('/live'), [1000, 11_000, 21_000, 31_000]);
    // Readiness every second, each failing one waiting its 1 s timeout; nothing once liveness gave up.
    assert.deepEqual(replica.sentTimes('/ready'), Array.from({ length: 32 }, (_, index) => 1000 * (index + 1)));
  });

  it('readiness takes the replica out and back on its own schedule while liveness, on its own, sees nothing wrong', async () => {
    const { clock, replica, events } = watch({ period: 2, timeout: 1, failure_threshold: 2, success_threshold: 3 }, { period: 5, failure_threshold: 1 });
    replica.answers['/ready'] = 503;
    await clock.advanceTo(4000);
    replica.answers['/ready'] = 200;
    await clock.advanceTo(20_000);
    assert.deepEqual(events, ['3000 ms: out of rotation', '9000 ms: ready']);
    assert.deepEqual(replica.sentTimes('/ready').slice(0, 5), [1000, 3000, 5000, 7000, 9000]);
    assert.deepEqual(replica.sentTimes('/live'), [1000, 6000, 11_000, 16_000]);
  });

  it("each probe waits its own initial_delay, counted from the replica's start", async () => {
    const { clock, replica } = watch({ initial_delay: 1, period: 3 }, { initial_delay: 20, period: 10 }, { runningForMs: 4000 });
    await clock.advanceTo(30_000);
    // The replica has run 4 s already: readiness's 1 s delay is over, liveness's 20 s are 16 s away.
    assert.deepEqual(replica.sentTimes('/ready'), [0, 3000, 6000, 9000, 12_000, 15_000, 18_000, 21_000, 24_000, 27_000, 30_000]);
    assert.deepEqual(replica.sentTimes('/live'), [16_000, 26_000]);
  });

  it('a probe slower than its period is followed by the next at once, never overlapping it', async () => {
    const { clock, replica, events } = watch({ period: 1, timeout: 3, failure_threshold: 10 }, { period: 10, failure_threshold: 3 });
    replica.answers['/ready'] = 'hang';
    await clock.advanceTo(12_000);
    assert.deepEqual(replica.sentTimes('/ready'), [1000, 4000, 7000, 10_000]);
    assert.deepEqual(events, []);
  });

  it('only failures in a row count: one passing liveness probe starts the count again', async () => {
    const { clock, replica, events } = watch({ period: 10 }, { period: 1, failure_threshold: 3 });
    const script: Answer[] = [500, 500, 200, 500, 500, 200, 500, 500, 500];
    for (const [index, answer] of script.entries()) {
      replica.answers['/live'] = answer;
      await clock.advanceTo(1000 * (index + 1));
    }
    assert.deepEqual(events, ['9000 ms: unhealthy after 3 liveness failures']);
  });

  it('a probe that could not be sent counts neither as a failure nor as a pass', async () => {
    const { clock, replica, events } = watch({ period: 10 }, { period: 1, failure_threshold: 3 });
    const script: Answer[] = [500, PROBE_NOT_SENT, 500, PROBE_NOT_SENT, 500];
    for (const [index, answer] of script.entries()) {
      replica.answers['/live'] = answer;
      await clock.advanceTo(1000 * (index + 1));
    }
    assert.deepEqual(events, ['2000 ms: a probe was not sent', '4000 ms: a probe was not sent', '5000 ms: unhealthy after 3 liveness failures']);
  });

  it('stops: an answer that comes after the stop counts for nothing and nothing more is sent', async () => {
    const { clock, replica, events, stop } = watch({ period: 1, timeout: 5, failure_threshold: 1 }, { period: 1, timeout: 5, failure_threshold: 1 });
    replica.answers['/ready'] = 'hang';
    replica.answers['/live'] = 'hang';
    await clock.advanceTo(2000);
    stop();
    await clock.advanceTo(30_000);
    assert.deepEqual(events, []);
    assert.equal(replica.sent.length, 2);
  });
});
