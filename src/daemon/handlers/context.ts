import type { PairRecorder } from '../../router/pairs.js';
import type { Router } from '../../router/router.js';
import type { BakeRequest, BakeResult } from '../../runtimes/docker/bake.js';
import type { BatchDockerContext } from '../../runtimes/docker/batch-launch.js';
import type { EmitProgress } from '../../runtimes/types.js';
import type { OepPaths } from '../../state/paths.js';
import type { StateStore } from '../../state/store.js';
import type { DeploymentRecord, RuntimeKind } from '../../state/types.js';
import type { Reconciler } from '../../supervisor/reconciler.js';
import type { BatchJobs } from '../../supervisor/batch-jobs.js';
import type { LocalIssuer } from '../../identity/issuer.js';
import type { DebugGate } from '../debug-gate.js';
import type { KeeperLink } from '../keeper-link.js';
import type { Deleter } from '../deleter.js';
import type { CallContext } from '../server.js';
import type { DeploymentLive, ViewSources } from '../views.js';

export interface RuntimeChoices {
  gpu: boolean;
  pull: boolean;
}

export interface ControllerDeps {
  paths: OepPaths;
  store: StateStore;
  /** The one owner of replica lifecycle: the controller changes what is wanted, it makes it so. */
  reconciler: Pick<Reconciler, 'apply' | 'remove' | 'replicas' | 'logFile' | 'problem' | 'problems' | 'replicaCount'>;
  router: Router;
  /** Which runtime `auto` (or no --runtime) means on this machine; may emit a notice. */
  defaultRuntime: (emit: EmitProgress) => Promise<RuntimeKind>;
  /** Throws when a runtime cannot run anything right now (e.g. no Docker engine answers). */
  checkRuntime?: (kind: RuntimeKind) => Promise<void>;
  /** Hands a command's runtime choices (--local-enable-gpu, --pull) to the runtime before a roll-out. */
  configureRuntime?: (kind: RuntimeKind, endpoint: string, deployment: string, choices: RuntimeChoices, emit: EmitProgress) => Promise<void>;
  /** Removes what a runtime made for a deleted deployment beyond its replicas (with purge: images). */
  releaseRuntime?: (kind: RuntimeKind, endpoint: string, deployment: string, options: { purge: boolean }) => Promise<void>;
  now?: () => number;
  version: string;
  metricsUrl?: () => string | undefined;
  /** Closes an endpoint's access log before its log folder is removed. */
  closeEndpointLogs?: (endpoint: string) => void;
  /** The recorded pairs of mirrored requests (`traffic.compare`). */
  pairs?: Pick<PairRecorder, 'pairs' | 'stats' | 'forget' | 'ringSize'>;
  /** The dashboard's URL with its token, once it listens. */
  dashboardUrl?: (endpoint?: string) => string | undefined;
  /** Builds a deployment's self-contained image (`oep deployment build`). */
  buildImage?: (request: BakeRequest) => Promise<BakeResult>;
  /** The home's token issuer: `get-credentials` of an aad_token endpoint gets the developer's token from it. */
  issuer?: Pick<LocalIssuer, 'issue'>;
  /** Whether an endpoint created without --tls speaks HTTPS (the `tls` setting); default no. */
  defaultTls?: () => Promise<boolean>;
  /**
   * The debug gate (src/daemon/debug-gate.ts): listens where debuggers attach to deployments run
   * with --debug; made to match the state after every change. `peersKnown`: whether it can tell
   * which user connects (else every debug port is open to any local user).
   */
  debugGate?: Pick<DebugGate, 'sync' | 'peersKnown' | 'whenOpen' | 'checked'>;
  /** How long an open debug port may go without a debugger before the deployment goes back to normal. */
  debugIdleMs?: number;
  /** The one notice line of a deployment create/update about its managed identity's tokens (src/identity/managed-identity.ts). */
  identityNotice?: (endpoint: string, deployment: string, emit: EmitProgress) => Promise<void>;
  shutdown: () => void;
  /** Batch jobs (src/supervisor/batch-jobs.ts) and the interpreter their process workers run. */
  batchJobs?: {
    runner: Pick<BatchJobs, 'submit' | 'cancel'>;
    python: () => Promise<string>;
    /** Jobs on the docker runtime: the engine and images of the daemon's docker runtime. */
    docker?: BatchDockerContext;
  };
  /** The keeper this daemon runs under (src/daemon/keeper-link.ts), if any. */
  keeper?: Pick<KeeperLink, 'info' | 'connected' | 'restart'>;
  /** This daemon's entry file (`daemon status`). */
  entry?: string;
  /** The daemon's log, for the test hook's pauses (src/daemon/test-pause.ts). */
  log?: (line: string) => void;
}

/**
 * What every group of handlers (endpoint, deployment, traffic, daemon) shares: the daemon's
 * dependencies and the few steps more than one group takes. Made once by createHandlers
 * (src/daemon/controller.ts).
 */
export interface HandlerContext {
  deps: ControllerDeps;
  now: () => number;
  views: ViewSources;
  /** Makes the router and the debug gate follow an endpoint's record; the gate's problems by deployment. */
  syncRoute: (endpoint: string) => Promise<Map<string, string> | undefined>;
  /** The test hook's named pauses (src/daemon/test-pause.ts). */
  pause: (point: string) => Promise<void>;
  deleter: Deleter;
  debugOptions: { peersKnown: boolean; idleMs: number };
  /** What the daemon knows live about a deployment, for its view. */
  liveOf: (endpoint: string, name: string) => DeploymentLive;
  /** src/daemon/rollout.ts with this daemon's state, reconciler and debug gate. */
  rollOut: (record: DeploymentRecord, context: CallContext, allTraffic: boolean) => Promise<void>;
}
