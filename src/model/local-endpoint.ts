/**
 * Endpoints created with `--local` behave as Azure's local endpoints (`az ml online-endpoint
 * create --local`): they have no auth, every request goes to their one deployment whatever the
 * traffic says, and they hold one deployment. Microsoft's "deploy locally" script relies on this:
 * it never sets traffic and calls the scoring URI without a key. Without `--local`, an endpoint
 * has the cloud's front door (auth, traffic rules, mirroring). docs/behaviour.md, "--local".
 */
import type { TrafficMap } from './traffic.js';

/** The one line `endpoint create --local` prints. */
export function localEndpointNotice(endpoint: string): string {
  return (
    `--local: endpoint ${endpoint} behaves as Azure's local endpoints: no auth, every request goes to its one deployment (traffic rules have no effect), ` +
    'and it holds one deployment. Create it without --local for the cloud\'s front door.'
  );
}

/** The traffic a local endpoint routes by: all of it to its deployment, whatever was set. */
export function localTraffic(deployments: readonly string[]): TrafficMap {
  return deployments.length === 1 ? { [deployments[0]!]: 100 } : {};
}

/**
 * Why `deployment` cannot be added to a local endpoint that holds `existing`, or undefined when
 * it can (it is the same deployment, or the endpoint is empty). Azure's local mode replaces the
 * existing container with the new one; oep refuses rather than delete a deployment unasked.
 */
export function secondLocalDeployment(endpoint: string, existing: readonly string[], deployment: string): { message: string; hint: string } | undefined {
  const others = existing.filter((name) => name !== deployment);
  if (others.length === 0) return undefined;
  return {
    message: `Endpoint ${endpoint} was created with --local and already holds deployment ${others.join(', ')}; a local endpoint holds one deployment, as in Azure's local mode.`,
    hint:
      `Delete it first (oep deployment delete -n ${others[0]} -e ${endpoint} --yes), update it with this YAML (-n ${others[0]}), ` +
      'or create the endpoint without --local to run several deployments with traffic rules. Nothing was changed.',
  };
}
