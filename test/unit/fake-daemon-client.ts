import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type { CliContext } from '../../src/cli/context.js';
import type { CallArgs, CallOptions, DaemonCaller } from '../../src/daemon/client.js';
import type { MethodName, ParamsOf, ResultOf } from '../../src/daemon/api.js';
import { oepPaths, type OepPaths } from '../../src/state/paths.js';

/** One call a command made: the method, its parameters, and whether it went through callIfRunning. */
export interface RecordedCall {
  method: MethodName;
  /** As the daemon would receive them: through JSON, so absent and undefined keys are alike. */
  params: unknown;
  ifRunning: boolean;
}

/**
 * What the fake daemon answers to a method: a result of the method's own type (DaemonApi), an
 * error to throw (an OepError, as the real client rethrows the daemon's), or a function of the
 * parameters for answers that depend on them.
 */
export type FakeAnswer<M extends MethodName> = ResultOf<M> | Error | ((params: ParamsOf<M>) => ResultOf<M> | Error);

/** Canned answers by method; a method without one fails the test that calls it. */
export type FakeAnswers = { [M in MethodName]?: FakeAnswer<M> };

/**
 * A daemon client for in-process CLI tests: it implements DaemonCaller (the real client's
 * `call` and `callIfRunning`, typed by DaemonApi), records every call, and answers from a table.
 * `running: false` makes callIfRunning answer undefined, as when no daemon runs.
 */
export class FakeDaemonClient implements DaemonCaller {
  readonly paths: OepPaths;
  readonly calls: RecordedCall[] = [];
  private readonly answers: FakeAnswers;
  private readonly running: boolean;

  constructor(home: string, answers: FakeAnswers = {}, options: { running?: boolean } = {}) {
    this.paths = oepPaths(home);
    this.answers = answers;
    this.running = options.running ?? true;
  }

  async call<M extends MethodName>(method: M, ...args: CallArgs<M>): Promise<ResultOf<M>> {
    const [params, options] = args as [ParamsOf<M> | undefined, CallOptions | undefined];
    this.calls.push({ method, params: overTheWire(params), ifRunning: false });
    options?.onAccepted?.();
    return this.answer(method, params ?? ({} as ParamsOf<M>));
  }

  async callIfRunning<M extends MethodName>(method: M, ...args: CallArgs<M>): Promise<ResultOf<M> | undefined> {
    const [params] = args as [ParamsOf<M> | undefined];
    this.calls.push({ method, params: overTheWire(params), ifRunning: true });
    if (!this.running) return undefined;
    return this.answer(method, params ?? ({} as ParamsOf<M>));
  }

  /** The canned answer, thrown when it is an error; a method the table does not answer is a test bug. */
  private answer<M extends MethodName>(method: M, params: ParamsOf<M>): ResultOf<M> {
    if (!(method in this.answers)) throw new Error(`FakeDaemonClient: no answer for ${method} (called with ${JSON.stringify(params)})`);
    // The table is typed per method (FakeAnswers); here one method's entry is read, so unknown will do.
    const canned: unknown = this.answers[method];
    const value: unknown = typeof canned === 'function' ? (canned as (params: unknown) => unknown)(params) : canned;
    if (value instanceof Error) throw value;
    return value as ResultOf<M>;
  }
}

/** The real client sends parameters as JSON (src/daemon/protocol.ts); the record shows what arrives. */
function overTheWire(params: unknown): unknown {
  return JSON.parse(JSON.stringify(params ?? {})) as unknown;
}

/**
 * A CLI context for in-process command tests: the fake daemon client, OEP_HOME as the test's own
 * (a command that reads or writes settings finds them there, never in the user's), output kept
 * in `output`, no colour, a closed stdin, no questions (one fails the test), no Ctrl-C.
 */
export function fakeCliContext(
  client: FakeDaemonClient,
  where: { home: string; cwd: string },
  output: { stdout: string; stderr: string },
  stdinIsTTY = false,
): CliContext {
  const stdin = Object.assign(new PassThrough(), { isTTY: stdinIsTTY });
  stdin.end();
  return {
    env: { NO_COLOR: '1', OEP_HOME: where.home },
    cwd: where.cwd,
    stdout: { write: (text: string) => (output.stdout += text) },
    stderr: { write: (text: string) => (output.stderr += text) },
    stdin,
    home: where.home,
    client,
    confirm: async () => assert.fail('a question was asked'),
    interrupt: new AbortController().signal,
    claimInterrupt: () => undefined,
  };
}
