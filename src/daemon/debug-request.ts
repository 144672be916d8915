import { createServer } from 'node:net';
import { OepError } from '../errors.js';
import { DEBUG_HOST, DEFAULT_OPEN_DEBUG_IDLE_MS, debugPortProblem, debugProblem, openDebugWarning, type DebugSettings } from '../model/debug.js';
import { findFreePort } from '../runtimes/free-port.js';
import { PEERS_UNKNOWN } from './debug-gate.js';
import type { ProgressEvent } from '../model/progress.js';
import type { DeploymentSpec } from '../spec/types.js';
import type { OepState } from '../state/types.js';

export interface DebugRequestOptions {
  /** Whether the debug gate can tell which user connects (else the port is open to any local user). */
  peersKnown: boolean;
  /** How long an open debug port may go without a debugger before the deployment goes back to normal. */
  idleMs: number;
}

/**
 * Checks a create's or update's --debug before anything is recorded: a port number, a deployment
 * that runs oep's server, and a port that no other deployment debugs on and no other program
 * holds (this deployment's own debug gate may hold it). Returns the settings to record, with the
 * backend port debugpy will listen on (a free one, chosen now; the gate connects there).
 */
export async function checkDebugRequest(
  requested: unknown,
  state: OepState,
  endpoint: string,
  spec: DeploymentSpec,
  options: DebugRequestOptions = { peersKnown: true, idleMs: DEFAULT_OPEN_DEBUG_IDLE_MS },
): Promise<DebugSettings | undefined> {
  if (requested === undefined || requested === null) return undefined;
  const { port, wait } = requested as Partial<DebugSettings>;
  const portProblem = debugPortProblem(Number(port));
  if (portProblem) throw new OepError('OEP_ERR_USAGE', portProblem);
  const debug: DebugSettings = { port: Number(port), wait: wait === true };
  const problem = debugProblem(spec);
  if (problem) throw new OepError('OEP_ERR_USAGE', `--debug: ${problem}`);
  let ownPort = false;
  for (const owner of Object.values(state.endpoints)) {
    for (const [name, record] of Object.entries(owner.deployments)) {
      if (record.debug?.port !== debug.port) continue;
      if (owner.spec.name === endpoint && name === spec.name) {
        ownPort = true;
        continue;
      }
      throw new OepError('OEP_ERR_PORT_UNAVAILABLE', `Port ${debug.port} is already the debug port of deployment ${name} of endpoint ${owner.spec.name}.`, {
        hint: `Choose another with --debug-port, or end that debugging first: oep deployment update -n ${name} -e ${owner.spec.name} (without --debug).`,
      });
    }
  }
  if (!ownPort && !(await portIsFree(debug.port))) {
    throw new OepError('OEP_ERR_PORT_UNAVAILABLE', `Port ${debug.port} on ${DEBUG_HOST} is held by another program, so debugpy cannot listen there.`, {
      hint: `Choose another with --debug-port, or stop that program (ss -ltnp 'sport = :${debug.port}' names it). Nothing was changed.`,
    });
  }
  debug.backendPort = await findFreePort(DEBUG_HOST);
  if (!options.peersKnown) debug.open = PEERS_UNKNOWN;
  return debug;
}

/**
 * The progress events that say where a debugger attaches (the CLI then prints the attach
 * configuration), and a warning when any local user can attach too, or the gate cannot listen.
 */
export function debugStartsEvents(deployment: string, debug: DebugSettings, gateProblem: string | undefined, options: DebugRequestOptions): ProgressEvent[] {
  const events: ProgressEvent[] = [
    {
      phase: 'debug',
      message: `a debugger attaches on ${DEBUG_HOST}:${debug.port}${debug.wait ? '; the replica waits for a debugger before its scoring script loads' : ''}`,
    },
  ];
  if (debug.open) events.push({ phase: 'warning', message: openDebugWarning(deployment, debug, debug.open, options.idleMs) });
  if (gateProblem) events.push({ phase: 'warning', message: `deployment ${deployment}: ${gateProblem}; no debugger can attach until it can (choose another --debug-port)` });
  return events;
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: DEBUG_HOST, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}
