import type Dockerode from 'dockerode';
import { OepError } from '../../errors.js';
import type { DeploymentSpec } from '../../spec/types.js';
import { homeLabel, LABELS, labelFilters, testRunLabels } from './labels.js';

/**
 * `egress_public_network_access: disabled`: the deployment's containers join an internal bridge
 * network of their own (Docker's `Internal: true`: no route out of it, so nothing outside the
 * network is reachable) and nothing else. Docker publishes no ports on internal networks, so the
 * router reaches each container at its address on that network, which the host can reach on
 * Linux because the network's bridge is a host interface.
 */
export function needsInternalNetwork(spec: DeploymentSpec): boolean {
  return spec.egress_public_network_access === 'disabled';
}

export interface NetworkOwner {
  home: string;
  endpoint: string;
  deployment: string;
}

/** One network per deployment and OEP_HOME (the home's hash keeps two homes on one engine apart). */
export function internalNetworkName(owner: NetworkOwner): string {
  return `oep-${homeLabel(owner.home).slice(0, 12)}-${owner.endpoint}-${owner.deployment}-internal`;
}

/** Creates the deployment's internal network unless it exists; replicas starting together share it. */
export async function ensureInternalNetwork(docker: Dockerode, owner: NetworkOwner, platform: string = process.platform): Promise<string> {
  if (platform !== 'linux') {
    throw new OepError(
      'OEP_ERR_RUNTIME_UNAVAILABLE',
      `Deployment ${owner.deployment} sets egress_public_network_access: disabled, which oep enforces with an internal Docker network that only a Linux host can reach.`,
      { hint: 'Run it on Linux, or remove egress_public_network_access (or --set egress_public_network_access=enabled) to run it here with outbound access.' },
    );
  }
  const name = internalNetworkName(owner);
  const existing = await docker.getNetwork(name).inspect().catch((error: { statusCode?: number }) => {
    if (error.statusCode === 404) return undefined;
    throw error;
  });
  if (existing) {
    if ((existing as { Internal?: boolean }).Internal === true) return name;
    throw new OepError('OEP_ERR_RUNTIME_UNAVAILABLE', `A Docker network named ${name} exists but is not internal, so it cannot block outbound traffic.`, {
      hint: `Remove it (docker network rm ${name}) and create the deployment again.`,
    });
  }
  try {
    await docker.createNetwork({
      Name: name,
      Driver: 'bridge',
      Internal: true,
      CheckDuplicate: true,
      Labels: {
        [LABELS.endpoint]: owner.endpoint,
        [LABELS.deployment]: owner.deployment,
        [LABELS.home]: homeLabel(owner.home),
        [LABELS.homePath]: owner.home,
        ...testRunLabels(),
      },
    });
  } catch (error) {
    // A sibling replica created it first.
    if ((error as { statusCode?: number }).statusCode !== 409) throw error;
  }
  return name;
}

/** Removes the home's oep networks (optionally one deployment's); one still in use is left for the next clean-up. */
export async function removeNetworks(docker: Dockerode, home: string, narrow: { endpoint?: string; deployment?: string } = {}): Promise<string[]> {
  const networks = await docker.listNetworks({ filters: { label: labelFilters(home, narrow) } });
  const removed: string[] = [];
  for (const network of networks) {
    try {
      await docker.getNetwork(network.Id).remove();
      removed.push(network.Name);
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode;
      // 404: already gone; 403/409: a container still uses it (being removed right now).
      if (status === 404 || status === 403 || status === 409) continue;
      throw error;
    }
  }
  return removed;
}

/** The address the router uses for a container on an internal network. */
export function internalOrigin(info: Dockerode.ContainerInspectInfo | undefined, network: string, port: number): string {
  const address = info?.NetworkSettings?.Networks?.[network]?.IPAddress;
  return address ? `http://${address}:${port}` : 'http://127.0.0.1:0';
}
