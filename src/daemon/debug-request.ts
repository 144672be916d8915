import { createServer } from 'node:net';
import { OepError } from '../errors.js';
import { DEBUG_HOST, debugPortProblem, debugProblem, type DebugSettings } from '../model/debug.js';
import type { ProgressEvent } from '../model/progress.js';
import type { DeploymentSpec } from '../spec/types.js';
import type { OepState } from '../state/types.js';

/**
 * Checks a create's or update's --debug before anything is recorded: a port number, a deployment
 * that runs oep's server, and a port that no other deployment debugs on and no other program
 * holds (this deployment's own debug replica may hold it: it stops before its successor starts).
 */
export async function checkDebugRequest(requested: unknown, state: OepState, endpoint: string, spec: DeploymentSpec): Promise<DebugSettings | undefined> {
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
  return debug;
}

/** The progress event that says where debugpy will listen (the CLI then prints the attach configuration). */
export function debugStartsEvent(debug: DebugSettings): ProgressEvent {
  return {
    phase: 'debug',
    message: `debugpy will listen on ${DEBUG_HOST}:${debug.port}${debug.wait ? '; the replica waits for a debugger before its scoring script loads' : ''}`,
  };
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: DEBUG_HOST, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}
