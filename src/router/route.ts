import type { PayloadLogging } from '../model/data-collection.js';
import type { TrafficMap } from '../model/traffic.js';
import type { FrontCertificate } from './front.js';

// What the router is given to route by: endpoints, their deployments' settings and the replicas
// that serve them. Kept apart from router.ts so the router's own modules (mirror.ts,
// replica-load.ts) use them without importing the router.

/**
 * A replica as the router sees it, read-only: its owner (the reconciler) keeps `ready` current
 * and makes a new record for every process or container it starts. The router keeps its own
 * in-flight count per record (`inflightOf`, replica-load.ts), so a restart never resets a count that requests
 * still hold.
 */
export interface LiveReplica {
  readonly id: string;
  readonly origin: string;
  readonly pid?: number;
  readonly scoringPath: string;
  readonly ready: boolean;
}

export interface DeploymentRoute {
  requestTimeoutMs: number;
  /**
   * Run under a debugger (--debug): a request that reached a replica has no deadline, as it may
   * sit at a breakpoint (waiting for a replica stays bounded by requestTimeoutMs).
   */
  debugging?: boolean;
  maxConcurrentPerInstance: number;
  instanceCount: number;
  /** `data_collector` payload logging; absent for almost every deployment, and then it costs nothing. */
  dataCollector?: PayloadLogging;
  /**
   * Sent to the deployment's replicas in `x-oep-replica-secret` with every request (live and
   * mirrored); oep's scoring server answers 401 to a request without it. Absent for custom
   * containers, which cannot check it.
   */
  replicaSecret?: string;
}

export interface EndpointRoute {
  name: string;
  port: number;
  /** none: an endpoint created with --local (Azure's local endpoints have no auth). */
  authMode: 'key' | 'aml_token' | 'aad_token' | 'none';
  /** Kubernetes endpoints answer 504/502/503 where managed ones answer 408/424/429. */
  kind?: 'managed' | 'kubernetes';
  keys: { primary: string; secondary: string };
  tokenSecret: string;
  traffic: TrafficMap;
  mirror: TrafficMap;
  deployments: Record<string, DeploymentRoute>;
  /** HTTPS: the endpoint's certificate and private key (PEM), served on the same port; absent: HTTP. */
  tls?: FrontCertificate;
}
