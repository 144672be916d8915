import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { DEFAULT_PACING, runLoadStep, type LoadTarget, type Pacing, type StepProgress } from '../../src/load/generator.js';
import { PACINGS } from '../../src/load/worker-plan.js';
import { LatencyHistogram, slotValue } from '../../src/model/latency-histogram.js';
import { until } from './router-support.js';

/**
 * The load generator against small servers on 127.0.0.1 started here (real sockets, real worker
 * threads). Counts are asserted exactly; times only with tolerances the schedule cannot miss
 * unless it is wrong (a late request is still sent, so counts never depend on the machine's speed).
 */

interface TestServer {
  url: string;
  /** Arrival time (performance.now()) of each request, in order. */
  arrivals: number[];
  close(): Promise<void>;
}

const servers: TestServer[] = [];
after(async () => {
  await Promise.all(servers.map((server) => server.close()));
});

async function serve(handle: (req: IncomingMessage, res: ServerResponse, index: number) => void): Promise<TestServer> {
  const arrivals: number[] = [];
  const server: Server = createServer((req, res) => {
    const index = arrivals.length;
    arrivals.push(performance.now());
    req.resume();
    req.on('end', () => handle(req, res, index));
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const handle_: TestServer = {
    url: `http://127.0.0.1:${port}/score`,
    arrivals,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  servers.push(handle_);
  return handle_;
}

function target(url: string): LoadTarget {
  return { url, method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer k' }, body: Buffer.from('{"data":[[1,2,3]]}') };
}

function answer(res: ServerResponse, status = 200): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end('[1.5]');
}

/** Latencies at or above `ms` in a step's histogram. */
function countAtLeast(histogram: number[], ms: number): number {
  let count = 0;
  histogram.forEach((n, slot) => {
    if (slotValue(slot) >= ms * 1000) count += n;
  });
  return count;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

describe('runLoadStep, open model (rate)', () => {
  // The default pacing with one and two threads, and every other pacing with one.
  const cases: { workers: number; pacing?: Pacing }[] = [{ workers: 1 }, { workers: 2 }, ...PACINGS.filter((p) => p !== DEFAULT_PACING).map((pacing) => ({ workers: 1, pacing }))];
  for (const { workers, pacing } of cases) {
    it(`sends every request of the schedule, counts only those after the warm-up, and keeps the pace (${workers} worker${workers > 1 ? 's' : ''}, pacing ${pacing ?? DEFAULT_PACING})`, async () => {
      const server = await serve((_req, res) => answer(res));
      const result = await runLoadStep(target(server.url), { mode: 'rate', rate: 100, durationMs: 1000, warmupMs: 200 }, { workers, pacing });
      // Due at i/100 s: 20 in the warm-up, 100 in the window.
      assert.equal(server.arrivals.length, 120);
      assert.equal(result.sent, 100);
      assert.equal(result.completed, 100);
      assert.deepEqual(result.counts, { ok: 100, s408: 0, s424: 0, s429: 0, other4xx: 0, other5xx: 0, clientErrors: 0 });
      assert.equal(result.mode, 'rate');
      assert.equal(result.offered, 100);
      assert.equal(LatencyHistogram.fromArray(result.histogram).count, 100);
      // The measured window is the schedule's (or up to the last answer, if that came later).
      assert.ok(result.durationMs >= 1000 && result.durationMs < 3000, `durationMs ${result.durationMs}`);
      assert.ok(Math.abs(result.achievedRps - 100 * (1000 / result.durationMs)) < 1e-9);
      // The pace, as the server saw it: request i arrives at about start + i x 10 ms. The start is
      // taken as the median offset, so one late request (even the first) does not shift the rest.
      // The bound is loose on purpose: the server shares this process and the machine may be busy
      // (a few ms of scheduling delay are normal there), while a generator that did not pace
      // (all at once, or at another rate) drifts by hundreds of ms.
      const offsets = server.arrivals.map((at, i) => at - i * 10);
      const start = median(offsets);
      const drift = offsets.map((offset) => Math.abs(offset - start));
      assert.ok(median(drift) < 25, `median drift from the schedule ${median(drift).toFixed(2)} ms`);
      const { p50, p90, p99, max, mean } = result.latencyMs;
      assert.ok(p50 > 0 && p50 <= p90 && p90 <= p99 && p99 <= max * 1.001 && mean > 0, JSON.stringify(result.latencyMs));
      // A request never leaves before it is due: timed from its send, every figure is at most the same.
      for (const key of ['p50', 'p90', 'p99', 'max', 'mean'] as const) {
        assert.ok(result.serviceMs[key] <= result.latencyMs[key] * 1.001 + 1e-9, `${key}: service ${result.serviceMs[key]} > latency ${result.latencyMs[key]}`);
      }
    });
  }

  it('measures latency from the time a request was due: a server that stalls 300 ms delays the requests due meanwhile', async () => {
    const stall = new Int32Array(new SharedArrayBuffer(4));
    const server = await serve((_req, res, index) => {
      // The whole server stops (as a one-worker scoring server does): its event loop blocks.
      if (index === 10) Atomics.wait(stall, 0, 0, 300);
      answer(res);
    });
    const result = await runLoadStep(target(server.url), { mode: 'rate', rate: 50, durationMs: 1000, warmupMs: 0 });
    assert.equal(result.sent, 50);
    assert.deepEqual(result.counts.ok, 50);
    // Requests are due every 20 ms: the stalled one waits ~300 ms, those due in its first 100 ms
    // still wait 200 ms or more, and so on. A generator that timed from when it sent would see one.
    assert.ok(result.latencyMs.max >= 290, `max ${result.latencyMs.max}`);
    assert.ok(countAtLeast(result.histogram, 200) >= 5, `latencies >= 200 ms: ${countAtLeast(result.histogram, 200)}`);
    assert.ok(countAtLeast(result.histogram, 100) >= 10, `latencies >= 100 ms: ${countAtLeast(result.histogram, 100)}`);
    // The pool grew instead of holding requests back: in flight during the stall, more than one.
    assert.ok(result.maxInFlight >= 10, `maxInFlight ${result.maxInFlight}`);
  });

  it('a refused connection is a client error of the request that waited for it', async () => {
    const server = await serve((_req, res) => answer(res));
    await server.close();
    const result = await runLoadStep(target(server.url), { mode: 'rate', rate: 20, durationMs: 300, warmupMs: 0 });
    assert.equal(result.sent, 0);
    assert.equal(result.completed, 0);
    assert.equal(result.counts.clientErrors, 6);
    assert.equal(result.achievedRps, 0);
  });

  it('an abort stops the load at once and returns what was measured so far', async () => {
    const server = await serve((_req, res) => answer(res));
    const controller = new AbortController();
    const progress: StepProgress[] = [];
    const running = runLoadStep(target(server.url), { mode: 'rate', rate: 100, durationMs: 600_000, warmupMs: 0 }, { signal: controller.signal, onProgress: (p) => progress.push(p) });
    await until('40 requests reached the server and progress was reported', () => server.arrivals.length >= 40 && progress.length >= 2);
    controller.abort();
    const result = await running;
    const seen = server.arrivals.length;
    assert.ok(result.sent >= 40 && result.sent <= seen, `sent ${result.sent}, the server saw ${seen}`);
    assert.ok(result.completed >= 39 && result.completed <= result.sent, `completed ${result.completed}`);
    assert.ok(result.durationMs > 0 && result.durationMs < 600_000, `durationMs ${result.durationMs}`);
    // Nothing more leaves once the promise has resolved: the worker threads are gone.
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(server.arrivals.length, seen);
    for (let i = 1; i < progress.length; i++) {
      assert.ok(progress[i]!.sent >= progress[i - 1]!.sent && progress[i]!.elapsedMs > progress[i - 1]!.elapsedMs);
    }
    assert.ok(progress.at(-1)!.completed > 0 && progress.at(-1)!.errors === 0);
  });

  it('an abort before the step starts returns an empty result', async () => {
    const controller = new AbortController();
    controller.abort();
    const result = await runLoadStep(target('http://127.0.0.1:9/score'), { mode: 'rate', rate: 10, durationMs: 1000, warmupMs: 0 }, { signal: controller.signal });
    assert.deepEqual([result.sent, result.completed, result.durationMs, result.histogram], [0, 0, 0, []]);
  });
});

describe('runLoadStep, closed model (concurrency)', () => {
  it('keeps N requests in flight, no more', async () => {
    let inFlight = 0;
    let most = 0;
    const server = await serve((_req, res) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      setTimeout(() => {
        inFlight -= 1;
        answer(res);
      }, 20);
    });
    const result = await runLoadStep(target(server.url), { mode: 'concurrency', concurrency: 4, durationMs: 500, warmupMs: 100 }, { workers: 2 });
    assert.equal(most, 4);
    assert.equal(result.maxInFlight, 4);
    assert.equal(result.offered, 4);
    assert.equal(result.lateSends, 0);
    assert.ok(result.completed > 0 && result.completed === result.counts.ok);
    assert.ok(result.latencyMs.p50 >= 19, `p50 ${result.latencyMs.p50}`);
  });

  it('counts answers by status, reads every framing, and reopens connections the server closes', async () => {
    const statuses = [200, 201, 408, 424, 429, 404, 503, 302];
    const tally = new Map<string, number>();
    const note = (what: string) => tally.set(what, (tally.get(what) ?? 0) + 1);
    const server = await serve((_req, res, index) => {
      const kind = index % 10;
      if (kind === 8) {
        note('reset');
        res.socket!.destroy();
        return;
      }
      const status = statuses[index % statuses.length]!;
      if (kind === 9) {
        note(String(status));
        // Chunked, written in two pieces.
        res.writeHead(status, { 'content-type': 'application/json' });
        res.write('[1');
        setImmediate(() => res.end('.5]'));
        return;
      }
      note(String(status));
      // Every third answer asks to close the connection.
      if (index % 3 === 0) res.setHeader('connection', 'close');
      answer(res, status);
    });
    const result = await runLoadStep(target(server.url), { mode: 'concurrency', concurrency: 2, durationMs: 400, warmupMs: 0 });
    const n = (status: number) => tally.get(String(status)) ?? 0;
    assert.deepEqual(result.counts, {
      ok: n(200) + n(201),
      s408: n(408),
      s424: n(424),
      s429: n(429),
      other4xx: n(404),
      other5xx: n(503),
      clientErrors: n(302) + (tally.get('reset') ?? 0),
    });
    assert.equal(result.completed, server.arrivals.length - (tally.get('reset') ?? 0));
    assert.equal(result.sent, server.arrivals.length);
    assert.ok(n(200) > 0 && (tally.get('reset') ?? 0) > 0, JSON.stringify([...tally]));
  });
});

describe('runLoadStep: bad steps and targets', () => {
  it('refuses them before starting anything', async () => {
    const t = target('http://127.0.0.1:9/score');
    await assert.rejects(runLoadStep(t, { mode: 'rate', rate: 0, durationMs: 1000, warmupMs: 0 }), /rate must be a positive number, not 0/);
    await assert.rejects(runLoadStep(t, { mode: 'concurrency', concurrency: 1.5, durationMs: 1000, warmupMs: 0 }), /whole number from 1 to 512/);
    await assert.rejects(runLoadStep(t, { mode: 'rate', rate: 5, durationMs: 0, warmupMs: 0 }), /positive duration/);
    await assert.rejects(runLoadStep(target('ftp://127.0.0.1/x'), { mode: 'rate', rate: 5, durationMs: 10, warmupMs: 0 }), /is not http:\/\/ or https:\/\//);
    await assert.rejects(runLoadStep(t, { mode: 'rate', rate: 5, durationMs: 10, warmupMs: 0 }, { pacing: 'spin' as Pacing }), /pacing must be one of poll, wait, timer, not "spin"/);
  });
});
