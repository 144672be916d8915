import { OepError } from '../errors.js';
import { debugpyMissingHint } from '../model/debug.js';
import { localPathPairs, toLocalPaths } from '../model/layout.js';
import { missingModuleHint, missingModuleOf, type PythonInterpreter } from '../model/process-interpreter.js';
import type { RuntimeKind } from '../state/types.js';
import type { ReplicaExit, ReplicaHandle, ReplicaRequest } from '../runtimes/types.js';
import { extractTraceback, readLogTail } from '../telemetry/log-tail.js';
import { PROBE_NOT_SENT, probeOnce } from './readiness.js';
import { DEBUGPY_LISTEN_FAILED_MARK, DEBUGPY_MISSING_MARK, EXIT_DEBUG_FAILED, EXIT_INIT_FAILED, LOAD_FAILED_MARK } from '../model/server-contract.js';

const LOG_TAIL_LINES = 30;

/** The start was called off (the replica is being stopped): not a failure of the deployment. */
export class StartCancelled extends Error {}

export interface BringUpOptions {
  request: ReplicaRequest;
  /** Starts the replica, or takes over a found one. */
  launch: (request: ReplicaRequest) => Promise<ReplicaHandle>;
  /** Called as soon as the replica exists, so a stop can reach it while it is not ready yet. */
  onHandle: (handle: ReplicaHandle) => void;
  /** True once nobody wants this replica any more. */
  cancelled: () => boolean;
  pollMs: number;
  /** Which runtime starts it, for what a failure's hint says. */
  runtime?: RuntimeKind;
}

/**
 * Starts (or adopts) one replica and waits until it answers its readiness route. A failure is an
 * OepError whose `phase` says where it failed: start (no process or container), load (the
 * script could not be imported), init (init() failed), probe (never ready in the probe budget).
 */
export async function bringUp(options: BringUpOptions): Promise<ReplicaHandle> {
  const { request } = options;
  let handle: ReplicaHandle;
  try {
    handle = await options.launch(request);
  } catch (error) {
    if (error instanceof OepError) throw error.phase === undefined ? withPhase(error, 'start') : error;
    throw await failure(request, 'start', `could not start replica ${request.replica}: ${(error as Error).message}`);
  }
  options.onHandle(handle);
  if (options.cancelled()) throw new StartCancelled();
  await waitReady(options, handle);
  return handle;
}

async function waitReady(options: BringUpOptions, handle: ReplicaHandle): Promise<void> {
  const { request } = options;
  const probe = request.spec.readiness_probe;
  // The cloud's own budget: the initial delay, then failure_threshold failed periods. None under
  // --debug: the replica may wait for a debugger, or sit at a breakpoint in init(), for as long as it takes.
  const budgetSeconds = probe.initial_delay + probe.period * probe.failure_threshold;
  let deadline = request.debug ? Infinity : Date.now() + budgetSeconds * 1000;
  const url = handle.target.origin + handle.target.readinessPath;
  let exit: ReplicaExit | undefined;
  void handle.exited.then((value) => (exit = value));
  for (;;) {
    if (options.cancelled()) throw new StartCancelled();
    if (exit) {
      if (exit.error) throw await failure(request, 'start', `the scoring server did not start: ${exit.error}.`);
      const how = exit.signal ? `was ended (${exit.signal})` : exit.code === null ? 'ended' : `exited with code ${exit.code}`;
      if (request.debug && exit.code === EXIT_DEBUG_FAILED) throw await debugFailure(options);
      if (exit.code !== EXIT_INIT_FAILED) throw await failure(request, 'start', `the scoring server did not start: replica ${request.replica} ${how} before it was ready.`);
      // Exit 3 is azmlinfsrv's "the script failed": loading it (import, syntax) or its init().
      // The process runtime says which interpreter ran the script (a missing module's hint names it).
      const ran = handle.interpreter;
      const loadError = await readMark(request.logFile, LOAD_FAILED_MARK);
      if (loadError) throw await failure(request, 'load', `the scoring script could not be loaded: ${loadError}`, ran);
      throw await failure(request, 'init', `init() of the scoring script failed: replica ${request.replica} ${how} before it was ready.`, ran);
    }
    const probedAt = Date.now();
    const status = await probeOnce(url, probe.timeout * 1000);
    if (status === 200) return;
    // Not sent (the daemon is out of file descriptors): the time it took is not the replica's.
    if (status === PROBE_NOT_SENT) deadline += Date.now() - probedAt + options.pollMs;
    if (Date.now() > deadline) {
      await handle.stop();
      throw await failure(
        request,
        'probe',
        `replica ${request.replica} did not answer ${handle.target.readinessPath} with 200 within ${budgetSeconds} s (readiness_probe: initial_delay + period x failure_threshold).`,
      );
    }
    await sleep(options.pollMs);
  }
}

/** --debug: debugpy is missing from the replica's Python, or cannot listen on the debug port. */
async function debugFailure(options: BringUpOptions): Promise<OepError> {
  const { request } = options;
  const missing = await readMark(request.logFile, DEBUGPY_MISSING_MARK);
  if (missing !== undefined) {
    // "<python> cannot import debugpy (<why>)"
    const python = /^(.*) cannot import debugpy/.exec(missing)?.[1];
    const runtime = options.runtime ?? 'process';
    return new OepError('OEP_ERR_DEBUGPY_MISSING', `Deployment ${request.deployment} cannot run under the debugger: --debug needs debugpy, and ${missing}.`, {
      hint: debugpyMissingHint(request.spec, runtime, runtime === 'process' ? python : undefined),
      phase: 'start',
    });
  }
  const listen = await readMark(request.logFile, DEBUGPY_LISTEN_FAILED_MARK);
  if (listen !== undefined) {
    // debugpy listens on the backend port the daemon chose (a debugger attaches to the gate at debug.port).
    const held = request.debug!.backendPort ?? request.debug!.port;
    return new OepError('OEP_ERR_PORT_UNAVAILABLE', `Deployment ${request.deployment}: debugpy could not listen on ${listen}.`, {
      hint: `Another program took port ${held}, which oep chose for debugpy (ss -ltnp 'sport = :${held}' names it): run the update with --debug again (oep chooses another).`,
      phase: 'start',
    });
  }
  return failure(request, 'start', `debugpy could not start in replica ${request.replica}.`);
}

/**
 * The rest of the last log line that carries `mark`, if any: the server's one-line summary of
 * why it stopped (an import or syntax error in the script, debugpy missing).
 */
async function readMark(logFile: string, mark: string): Promise<string | undefined> {
  await sleep(50);
  const lines = (await readLogTail(logFile, 400)).split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const at = lines[i]!.indexOf(mark);
    if (at >= 0) return lines[i]!.slice(at + mark.length).trim();
  }
  return undefined;
}

/**
 * A deployment failure with its phase, the traceback and the log tail, naming the user's own paths.
 * `interpreter`: the process runtime's Python that ran the script, named by the hint when a module is missing.
 */
async function failure(request: ReplicaRequest, phase: string, rawMessage: string, interpreter?: PythonInterpreter): Promise<OepError> {
  // Give the process a moment to flush its last lines before reading them.
  await sleep(50);
  const pairs = localPathPairs(request.spec);
  const message = toLocalPaths(rawMessage, pairs);
  const tail = toLocalPaths(await readLogTail(request.logFile, LOG_TAIL_LINES), pairs);
  const details: string[] = [];
  const traceback = extractTraceback(tail) ?? extractTraceback(toLocalPaths(await readLogTail(request.logFile, 400), pairs));
  if (traceback) details.push('Python traceback:', ...traceback.split('\n').map((line) => `  ${line}`));
  details.push(`Last lines of the log (${request.logFile}):`, ...(tail ? tail.split('\n').map((line) => `  ${line}`) : ['  (empty)']));
  // The exception that ended it: the load error's summary, or the traceback's last line.
  const missing = interpreter && (missingModuleOf(message) ?? missingModuleOf(traceback?.split('\n').at(-1) ?? ''));
  return new OepError('OEP_ERR_DEPLOYMENT_FAILED', `Deployment ${request.deployment} failed in phase "${phase}": ${message}`, {
    hint:
      interpreter && missing
        ? missingModuleHint(request.spec, missing, interpreter)
        : `See the whole log with: oep deployment get-logs -n ${request.deployment} -e ${request.endpoint}`,
    details,
    phase,
  });
}

function withPhase(error: OepError, phase: string): OepError {
  return new OepError(error.code, error.message, { hint: error.hint, details: error.details, cause: error.cause, phase });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
