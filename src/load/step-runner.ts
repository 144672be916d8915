import { performance } from 'node:perf_hooks';
import { LatencyHistogram } from '../model/latency-histogram.js';
import { countStatus, emptyCounts, LATE_SEND_MS, type StepPart } from '../model/load-step.js';
import { serializeRequest } from '../router/http1.js';
import { LoadConnection, type Answer, type ConnectionEvents, type Endpoint } from './connection.js';
import { SHARED, type WorkerPlan } from './worker-plan.js';

/** Pacing `poll`: how long before a due time the open model stops sleeping on a timer and polls. */
const POLL_MS = 1.5;
/** Pacing `wait`: how long before a due time the open model stops sleeping on a timer and naps. */
const WAIT_MS = 2;
/** Pacing `wait` with requests in flight: how long the thread sleeps before it reads what arrived. */
const NAP_SLICE_MS = 0.2;
/** Node's timers count whole milliseconds of a clock read once per loop turn: one may fire this much early. */
const TIMER_GRAIN_MS = 1;
/** Pacings other than `timer` apply only where this worker's requests are at least this far apart (<= 250 req/s). */
const MIN_PRECISE_GAP_MS = 4;

/** A request of the step: when it was due, and whether it falls in the measured window. */
interface Due {
  intended: number;
  counted: boolean;
  /** When it left (set by write). */
  sentAt: number;
}

/**
 * One worker thread's share of a load step: its schedule (open model) or its loops (closed
 * model), its pool of keep-alive connections and what it measured. Times are ms from the step's
 * start, which every worker takes from the same process-wide clock (hrtime), so the workers'
 * schedules interleave as one.
 */
export class StepRunner implements ConnectionEvents {
  onDone: (part: StepPart) => void = () => undefined;

  private readonly endpoint: Endpoint;
  private readonly request: Buffer;
  private readonly windowStart: number;
  private readonly windowEnd: number;
  private origin = 0;
  private readonly idle: LoadConnection[] = [];
  private readonly carrying = new Map<LoadConnection, Due>();
  private readonly waiting: Due[] = [];
  private waitingHead = 0;
  private open = 0;
  private connecting = 0;
  /** Counted requests not yet ended (waiting, in flight). */
  private outstanding = 0;
  private next = 0;
  private started = false;
  private scheduleDone = false;
  private finished = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Every connection not yet closed: connecting, idle or carrying a request. */
  private readonly connections = new Set<LoadConnection>();
  /** prepare()'s resolve: called once no connection is still connecting. */
  private settled: (() => void) | undefined;

  private readonly histogram = new LatencyHistogram();
  private readonly service = new LatencyHistogram();
  private serviceSumMicros = 0;
  private serviceMaxMicros = 0;
  private readonly counts = emptyCounts();
  private sent = 0;
  private completed = 0;
  private sumMicros = 0;
  private maxMicros = 0;
  private lateSends = 0;
  private lastAnswer = 0;
  /** Pacing `wait` sleeps on this; nothing ever notifies it. */
  private readonly napCell = new Int32Array(new SharedArrayBuffer(4));

  constructor(
    private readonly plan: WorkerPlan,
    private readonly shared: Int32Array,
  ) {
    const url = new URL(plan.url);
    const tls = url.protocol === 'https:';
    this.endpoint = { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port) || (tls ? 443 : 80), tls, ca: plan.ca };
    this.request = serializeRequest(plan.method, `${url.pathname}${url.search}`, url.host, plan.headers, plan.method === 'GET' && plan.body.length === 0 ? undefined : Buffer.from(plan.body));
    this.windowStart = plan.warmupMs;
    this.windowEnd = plan.warmupMs + plan.durationMs;
  }

  /** Opens the first connections before the clock starts, so the step does not begin with handshakes. */
  prepare(): Promise<void> {
    const count = Math.min(this.plan.maxConnections, this.plan.mode === 'concurrency' ? this.plan.concurrency : 2);
    return new Promise<void>((resolve) => {
      this.settled = resolve;
      for (let i = 0; i < count; i++) this.openConnection();
    });
  }

  /** Starts the step at `startNs` (process.hrtime.bigint(), the same clock in every thread). */
  start(startNs: bigint): void {
    this.started = true;
    this.origin = performance.now() - Number(process.hrtime.bigint() - startNs) / 1e6;
    this.later(this.windowEnd + this.plan.drainMs, () => this.finish(true));
    if (this.plan.mode === 'rate') {
      this.tick();
      return;
    }
    this.later(this.windowEnd, () => {
      this.scheduleDone = true;
      this.checkDone();
    });
    this.later(0, () => {
      for (let loop = 0; loop < this.plan.concurrency; loop++) this.dispatch(this.now());
    });
  }

  /** Aborted: ends at once with what was measured. */
  stop(): void {
    this.finish(false, true);
  }

  onOpen(connection: LoadConnection): void {
    this.connected();
    this.release(connection);
  }

  onAnswer(connection: LoadConnection, answer: Answer): void {
    const due = this.carrying.get(connection);
    if (due === undefined || this.finished) return;
    this.carrying.delete(connection);
    Atomics.sub(this.shared, SHARED.inFlight, 1);
    this.end(due, answer);
    if (connection.usable) this.release(connection);
  }

  onClose(connection: LoadConnection): void {
    this.connections.delete(connection);
    if (this.finished) return;
    this.open -= 1;
    const at = this.idle.indexOf(connection);
    if (at >= 0) this.idle.splice(at, 1);
    if (!connection.opened) {
      this.connected();
      // A refused connection fails the request that waited for it, or the queue would retry forever.
      const due = this.takeWaiting();
      if (due) this.end(due, { error: connection.closeReason ?? 'the connection failed' });
    }
    this.growIfNeeded();
  }

  private now(): number {
    return performance.now() - this.origin;
  }

  /** Runs `run` at `atMs`, never before: Node's timers may fire up to 1 ms early. */
  private later(atMs: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.now() < atMs) this.later(atMs, run);
      else run();
    }, Math.max(0, atMs - this.now()));
    this.timers.add(timer);
  }

  /** Open model: sends every request that is due, then sleeps until the next one. */
  private tick(): void {
    if (this.finished) return;
    const now = this.now();
    for (;;) {
      const intended = this.plan.offsetMs + this.next * this.plan.intervalMs;
      if (intended >= this.windowEnd) {
        this.scheduleDone = true;
        this.checkDone();
        return;
      }
      if (intended > now) {
        this.sleepUntil(intended, now);
        return;
      }
      this.next += 1;
      this.dispatch(intended);
    }
  }

  /**
   * Waits for the next due time as plan.pacing says (see Pacing in worker-plan.ts). A request
   * that leaves late adds that to its latency, and Node's timers may fire up to 1 ms early or
   * late, hence the ways of spending the last millisecond or two. At high rates (requests less
   * than MIN_PRECISE_GAP_MS apart) the timer alone paces them: each tick sends all that is due.
   */
  private sleepUntil(intended: number, now: number): void {
    const pacing = this.plan.intervalMs >= MIN_PRECISE_GAP_MS ? this.plan.pacing : 'timer';
    const left = intended - now;
    if (pacing === 'timer') this.later(intended, () => this.tick());
    else if (pacing === 'poll' && left > POLL_MS) this.later(intended - POLL_MS, () => this.tick());
    else if (pacing === 'poll') setImmediate(() => this.tick());
    // A timer WAIT_MS before, which may fire up to TIMER_GRAIN_MS earlier still.
    else if (left > WAIT_MS + TIMER_GRAIN_MS) this.wake(left - WAIT_MS, () => this.tick());
    else if (this.carrying.size === 0) this.nap(left, false);
    else this.nap(Math.min(left, NAP_SLICE_MS), true);
  }

  /**
   * Pacing `wait`: the thread sleeps `ms` in the kernel (no CPU), then looks again. With requests
   * in flight (`readFirst`) it sleeps in slices of NAP_SLICE_MS and lets the event loop read what
   * arrived meanwhile before it looks, so an answer waits at most a slice to be timed.
   */
  private nap(ms: number, readFirst: boolean): void {
    Atomics.wait(this.napCell, 0, 0, ms);
    if (readFirst) setImmediate(() => this.tick());
    else this.tick();
  }

  /** A timer in `ms` that may fire up to TIMER_GRAIN_MS early (Node's timers): `run` checks the time itself. */
  private wake(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      run();
    }, ms);
    this.timers.add(timer);
  }

  private dispatch(intended: number): void {
    const due: Due = { intended, counted: intended >= this.windowStart && intended < this.windowEnd, sentAt: 0 };
    if (due.counted) this.outstanding += 1;
    const connection = this.idle.pop();
    if (connection) {
      this.write(connection, due);
      return;
    }
    this.waiting.push(due);
    this.growIfNeeded();
  }

  /** Opens another connection while requests wait for more than the ones being opened, up to the cap. */
  private growIfNeeded(): void {
    const waiting = this.waiting.length - this.waitingHead;
    if (waiting > this.connecting && this.open < this.plan.maxConnections) this.openConnection();
  }

  private openConnection(): void {
    this.open += 1;
    this.connecting += 1;
    this.connections.add(new LoadConnection(this.endpoint, this.plan.method, this));
  }

  /** A connection attempt ended, opened or refused. */
  private connected(): void {
    this.connecting -= 1;
    if (this.connecting === 0 && this.settled) {
      const settled = this.settled;
      this.settled = undefined;
      settled();
    }
  }

  /** A free connection takes the oldest waiting request, or waits itself. */
  private release(connection: LoadConnection): void {
    if (this.finished) {
      connection.destroy();
      return;
    }
    const due = this.takeWaiting();
    if (due) this.write(connection, due);
    else this.idle.push(connection);
  }

  private takeWaiting(): Due | undefined {
    if (this.waitingHead >= this.waiting.length) return undefined;
    const due = this.waiting[this.waitingHead]!;
    this.waitingHead += 1;
    if (this.waitingHead > 1024 && this.waitingHead * 2 > this.waiting.length) {
      this.waiting.splice(0, this.waitingHead);
      this.waitingHead = 0;
    }
    return due;
  }

  private write(connection: LoadConnection, due: Due): void {
    const now = this.now();
    if (due.counted) {
      this.sent += 1;
      // Only the open model has a schedule to be late for: a closed loop sends when it can.
      if (this.plan.mode === 'rate' && now - due.intended > LATE_SEND_MS) this.lateSends += 1;
    }
    due.sentAt = now;
    this.carrying.set(connection, due);
    Atomics.add(this.shared, SHARED.sent, 1);
    const inFlight = Atomics.add(this.shared, SHARED.inFlight, 1) + 1;
    if (due.counted) raiseTo(this.shared, SHARED.maxInFlight, inFlight);
    connection.send(this.request);
  }

  /** A request ended: answered with a status, or failed. */
  private end(due: Due, answer: Answer): void {
    const now = this.now();
    const ok = 'status' in answer && answer.status >= 200 && answer.status < 300;
    if ('status' in answer) Atomics.add(this.shared, SHARED.completed, 1);
    if (!ok) Atomics.add(this.shared, SHARED.errors, 1);
    if (due.counted) {
      this.outstanding -= 1;
      if ('status' in answer) this.record(due, answer.status, now);
      else this.counts.clientErrors += 1;
    }
    if (this.plan.mode === 'concurrency' && !this.scheduleDone && now < this.windowEnd) this.dispatch(now);
    this.checkDone();
  }

  private record(due: Due, status: number, now: number): void {
    const micros = (now - due.intended) * 1000;
    this.completed += 1;
    countStatus(this.counts, status);
    this.histogram.record(micros);
    this.sumMicros += micros;
    if (micros > this.maxMicros) this.maxMicros = micros;
    const serviceMicros = (now - due.sentAt) * 1000;
    this.service.record(serviceMicros);
    this.serviceSumMicros += serviceMicros;
    if (serviceMicros > this.serviceMaxMicros) this.serviceMaxMicros = serviceMicros;
    this.lastAnswer = Math.max(this.lastAnswer, now - this.windowStart);
  }

  /** The part of the window this worker ran: all of it, unless aborted. */
  private windowMs(now: number, aborted: boolean): number {
    if (!this.started) return 0;
    if (!aborted) return this.plan.durationMs;
    return Math.min(this.plan.durationMs, Math.max(0, now - this.windowStart));
  }

  private checkDone(): void {
    if (this.scheduleDone && this.outstanding === 0) this.finish(false);
  }

  /** Ends the step; `drainExpired`: the counted requests still out get no answer now, client errors. */
  private finish(drainExpired: boolean, aborted = false): void {
    if (this.finished) return;
    const now = this.now();
    this.finished = true;
    // prepare() may still wait on connections that now never open.
    this.settled?.();
    this.settled = undefined;
    if (drainExpired) this.counts.clientErrors += this.outstanding;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const connection of [...this.connections]) connection.destroy();
    this.connections.clear();
    this.idle.length = 0;
    this.carrying.clear();
    this.onDone({
      sent: this.sent,
      completed: this.completed,
      counts: this.counts,
      histogram: this.histogram.toArray(),
      latencySumMicros: this.sumMicros,
      latencyMaxMicros: this.maxMicros,
      serviceHistogram: this.service.toArray(),
      serviceSumMicros: this.serviceSumMicros,
      serviceMaxMicros: this.serviceMaxMicros,
      lateSends: this.lateSends,
      windowMs: this.windowMs(now, aborted),
      lastAnswerMs: this.lastAnswer,
    });
  }
}

/** Raises a shared counter to at least `value` (another thread may raise it at the same time). */
function raiseTo(shared: Int32Array, index: number, value: number): void {
  let current = Atomics.load(shared, index);
  while (value > current) {
    const seen = Atomics.compareExchange(shared, index, current, value);
    if (seen === current) return;
    current = seen;
  }
}
