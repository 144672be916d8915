import type { DebugSettings } from '../model/debug.js';
import type { EndpointIdentity } from '../model/identity.js';
import type { RecordedPython } from '../model/process-interpreter.js';
import type { RuntimeKind } from '../model/runtime-kind.js';
import type { DeploymentSpec, EndpointSpec } from '../spec/types.js';
import type { BatchDeploymentSpec, BatchEndpointSpec } from '../spec/batch-types.js';

export type ProvisioningState = 'Creating' | 'Updating' | 'Deleting' | 'Succeeded' | 'Failed';
export type { RuntimeKind };

export interface EndpointKeys {
  primary: string;
  secondary: string;
}

export interface DeploymentRecord {
  spec: DeploymentSpec;
  runtime: RuntimeKind;
  provisioning_state: ProvisioningState;
  /** Bumped on every create/update, so replicas can tell stale configuration apart. */
  generation: number;
  created_at: string;
  updated_at: string;
  /** The last failure, as shown to the user (phase, message, log tail). */
  failure?: DeploymentFailure;
  /** Run under debugpy (`--debug`): one replica, no timeouts while a debugger holds a request. */
  debug?: DebugSettings;
  /** The runtime it ran on before an update with --debug moved it; an update without --debug goes back to it. */
  runtime_before_debug?: RuntimeKind;
  /**
   * Process runtime: the interpreter its last create or update resolved (OEP_PYTHON of that
   * command, else the python setting); every replica of it starts with this one. Absent on docker,
   * and in records from before interpreters were recorded (their replicas run the daemon's setting).
   */
  python?: RecordedPython;
  /** Being deleted (Deleting) with --purge: a daemon that finishes the delete after a restart purges too. */
  purge_on_delete?: boolean;
}

export interface DeploymentFailure {
  phase: string;
  message: string;
  details: string[];
}

export interface EndpointRecord {
  spec: EndpointSpec;
  /** Stable loopback port of the endpoint's router, kept across daemon restarts. */
  port: number;
  /** HTTPS on that port, with a certificate from oep's local CA (src/tls/); absent or false: HTTP. */
  tls?: boolean;
  /**
   * Created with `--local`: behaves as Azure's local endpoints (model/local-endpoint.ts): no auth,
   * every request to its one deployment, a second deployment refused. Absent: the cloud's front door.
   */
  local?: boolean;
  keys: EndpointKeys;
  /** Signs aml_token tokens; rotated with the keys. */
  token_secret: string;
  /** Its managed identities (system-assigned unless the YAML says otherwise), fixed at create. */
  identity: EndpointIdentity;
  provisioning_state: ProvisioningState;
  /** Being deleted (Deleting) with --purge: a daemon that finishes the delete after a restart purges too. */
  purge_on_delete?: boolean;
  created_at: string;
  updated_at: string;
  deployments: Record<string, DeploymentRecord>;
}

/** A batch deployment: a record until a job runs it (no replicas, no router). */
export interface BatchDeploymentRecord {
  spec: BatchDeploymentSpec;
  provisioning_state: ProvisioningState;
  created_at: string;
  updated_at: string;
}

/** A batch endpoint and its deployments, kept apart from the online endpoints (which nothing batch touches). */
export interface BatchEndpointRecord {
  spec: BatchEndpointSpec;
  provisioning_state: ProvisioningState;
  created_at: string;
  updated_at: string;
  deployments: Record<string, BatchDeploymentRecord>;
}

export interface OepState {
  version: 1;
  endpoints: Record<string, EndpointRecord>;
  /** Batch endpoints by name (absent in state written before issue 29: none). */
  batch_endpoints?: Record<string, BatchEndpointRecord>;
}

export function emptyState(): OepState {
  return { version: 1, endpoints: {} };
}
