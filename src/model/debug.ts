import { posix } from 'node:path';
import type { DeploymentSpec } from '../spec/types.js';
import type { RuntimeKind } from './runtime-kind.js';
import { computeLayout, SERVER_ROOT } from './layout.js';
import { scoringPlan } from './scoring-plan.js';
import { DEBUGPY_ENV, DEBUGPY_OWN_USER_ENV, DEBUGPY_TOKEN_ENV, DEBUGPY_WAIT_ENV } from './server-contract.js';

/**
 * Debugging a deployment (`oep deployment create|update --debug`): one replica with one worker
 * runs oep's scoring server under debugpy. A debugger attaches to the daemon's debug gate on
 * 127.0.0.1:`port` (src/daemon/debug-gate.ts), which lets only the user's own connections through
 * and hands them to debugpy at `backendPort` with the deployment's debug token: debugpy's adapter
 * runs inside the replica and answers only a client that sends that token first (pydevd's
 * pydevdAuthorize), so a local user who finds the backend port can do nothing there. (Inside a
 * container debugpy listens on all of its interfaces, published on the host's 127.0.0.1 only.)
 * What a debugger needs to attach is computed here, as plain data.
 */
export interface DebugSettings {
  /** The port a debugger attaches to, on the host's 127.0.0.1 (the daemon's debug gate). */
  port: number;
  /** debugpy waits for a debugger before the scoring script loads (breakpoints in init()). */
  wait: boolean;
  /**
   * Where debugpy itself listens on the host's 127.0.0.1, chosen free by the daemon when it
   * records the deployment (ignored in requests). Only the gate connects there.
   */
  backendPort?: number;
  /**
   * Why debugpy in the replica could not require the debug token (e.g. a debugpy without an
   * in-process adapter), when it could not: then any local user can attach at `backendPort`, and
   * the deployment goes back to normal after an idle time (docs/behaviour.md "Debugging").
   */
  open?: string;
}

/** debugpy's own default, and VS Code's default attach port. */
export const DEFAULT_DEBUG_PORT = 5678;
export const DEBUG_HOST = '127.0.0.1';

/** How long an open debug port (see DebugSettings.open) may go without a debugger before the deployment goes back to normal. */
export const DEFAULT_OPEN_DEBUG_IDLE_MS = 30 * 60 * 1000;

export interface PathMapping {
  localRoot: string;
  remoteRoot: string;
}

/** A VS Code attach configuration (the Python Debugger extension's `debugpy` type). */
export interface AttachConfiguration {
  name: string;
  type: 'debugpy';
  request: 'attach';
  connect: { host: string; port: number };
  pathMappings: PathMapping[];
  justMyCode: boolean;
}

/** What `deployment show` says under `debug`: where to attach, who can, and the attach configuration. */
export interface DebugView {
  host: string;
  port: number;
  wait: boolean;
  /** `user`: only this user can attach (oep checks); `open`: any local user can, for the reason in `open_reason`. */
  access: 'user' | 'open';
  open_reason?: string;
  attach: AttachConfiguration;
}

/** Where a replica's files are, beyond the cloud layout: the host folders that differ per runtime. */
export interface ReplicaFolders {
  /** oep's scoring server folder on the host (mounted at SERVER_ROOT in a container). */
  serverDir: string;
  /** The process runtime's link tree that stands for AZUREML_MODEL_DIR (its run folder's azureml-models/<name>/<version>). */
  processModelDir?: string;
}

/** The name oep gives its configuration in launch.json: one per deployment, replaced on every --vscode. */
export function attachConfigurationName(endpoint: string, deployment: string): string {
  return `oep: ${deployment} (${endpoint})`;
}

/**
 * The attach configuration for a deployment run with --debug: `pathMappings` map each path the
 * replica sees (code, model, oep's server) back to the user's folder. In a container the code is
 * at /var/azureml-app/<code folder> and the model under /var/azureml-models; the process runtime
 * runs the code from the user's folder (the identity mapping, still listed so the configuration
 * reads the same) and the model through a link tree.
 */
export function attachConfiguration(spec: DeploymentSpec, runtime: RuntimeKind, debug: DebugSettings, folders: ReplicaFolders): AttachConfiguration {
  const layout = computeLayout(spec);
  const pathMappings: PathMapping[] = [];
  if (layout.code) {
    pathMappings.push({ localRoot: layout.code.source, remoteRoot: runtime === 'docker' ? layout.code.codeDir : layout.code.source });
  }
  if (layout.model) {
    const remoteModelDir = runtime === 'docker' ? layout.model.modelDir : folders.processModelDir;
    if (remoteModelDir) pathMappings.push({ localRoot: layout.model.source, remoteRoot: posix.join(remoteModelDir, layout.model.entry) });
  }
  // oep's own server (and its MLflow scoring script) runs from a mount in a container.
  if (runtime === 'docker') pathMappings.push({ localRoot: folders.serverDir, remoteRoot: SERVER_ROOT });
  return {
    name: attachConfigurationName(spec.endpoint_name, spec.name),
    type: 'debugpy',
    request: 'attach',
    connect: { host: DEBUG_HOST, port: debug.port },
    pathMappings,
    justMyCode: true,
  };
}

/**
 * The variables that make oep's scoring server start debugpy, listening on `host`:`port` (the
 * backend the gate connects to) and answering only a client that sends `token` first. `ownUser`
 * (the process runtime, where the gate's connections come from the replica's own user): other
 * users' connections are closed unanswered, so they cannot even take the debugger's place.
 */
export function debugEnvironment(debug: DebugSettings, host: string, port: number, token: string, ownUser = false): Record<string, string> {
  return {
    [DEBUGPY_ENV]: `${host}:${port}`,
    [DEBUGPY_TOKEN_ENV]: token,
    ...(ownUser && { [DEBUGPY_OWN_USER_ENV]: '1' }),
    ...(debug.wait && { [DEBUGPY_WAIT_ENV]: '1' }),
    // pydevd's note about frozen stdlib modules concerns breakpoints in the standard library only.
    PYDEVD_DISABLE_FILE_VALIDATION: '1',
  };
}

/** Why a deployment cannot be debugged, or undefined: debugpy runs inside oep's scoring server. */
export function debugProblem(spec: DeploymentSpec): string | undefined {
  const plan = scoringPlan(spec);
  if (plan.kind === 'container') {
    return `deployment ${spec.name} is a custom container (environment.inference_config): it runs its own server, not oep's, so --debug cannot start debugpy in it. Start debugpy in the image's own server instead.`;
  }
  return undefined;
}

/** The runtime a deployment runs on, and the one it ran on before an update with --debug moved it. */
export interface RuntimeOfRecord {
  runtime: RuntimeKind;
  runtimeBeforeDebug?: RuntimeKind;
}

/**
 * The runtime an update gives a deployment. An explicit --runtime wins. An update with --debug
 * that moves the deployment to another runtime (e.g. a docker deployment debugged with --runtime
 * process) remembers where it ran before debugging, and an update without --debug and without
 * --runtime goes back there.
 */
export function runtimeOfUpdate(current: RuntimeOfRecord, request: { runtime?: RuntimeKind; debug: boolean }): RuntimeOfRecord {
  if (request.debug) {
    const runtime = request.runtime ?? current.runtime;
    const before = current.runtimeBeforeDebug ?? current.runtime;
    return runtime === before ? { runtime } : { runtime, runtimeBeforeDebug: before };
  }
  return { runtime: request.runtime ?? current.runtimeBeforeDebug ?? current.runtime };
}

/** Checks --debug-port: a port number a user can listen on. */
export function debugPortProblem(port: number): string | undefined {
  if (!Number.isInteger(port) || port < 1 || port > 65535) return `--debug-port must be a port number (1-65535), not "${port}".`;
  return undefined;
}

/**
 * What to do when the replica's Python cannot import debugpy, by where the environment comes from:
 * the configured interpreter (process runtime), a conda file, a Dockerfile, or a plain image.
 */
export function debugpyMissingHint(spec: DeploymentSpec, runtime: RuntimeKind, python?: string): string {
  if (runtime === 'process') {
    const interpreter = python ?? 'the configured Python (oep config get python)';
    return (
      `Install debugpy for ${interpreter}: "${python ?? 'python3'} -m pip install debugpy", or on Debian and Ubuntu "apt install python3-debugpy" ` +
      '(for /usr/bin/python3). Or run the command again with an interpreter that has it: OEP_PYTHON=/path/to/python3 on the command (or oep config set python /path/to/python3).'
    );
  }
  const environment = spec.environment;
  if (typeof environment === 'object' && environment.conda_file) {
    return `Add debugpy to the pip list of the environment's conda file (${environment.conda_file}), e.g. "- pip:" then "  - debugpy"; the image is rebuilt once.`;
  }
  if (typeof environment === 'object' && environment.build) {
    return `Add "RUN pip install debugpy" to the Dockerfile of the environment's build context (${environment.build.path}).`;
  }
  return 'Use an image that has debugpy, or give the environment a conda file whose pip list has debugpy (environment.conda_file), or a Dockerfile that runs "pip install debugpy".';
}

/**
 * What a create or update with --debug says on stderr when any local user can attach: who, where,
 * for how long. `reason` says why (debugpy's or the system's shortcoming).
 */
export function openDebugWarning(deployment: string, debug: DebugSettings, reason: string, idleMs: number): string {
  const where = debug.backendPort !== undefined ? `127.0.0.1:${debug.backendPort}, where debugpy itself listens` : `127.0.0.1:${debug.port}`;
  return (
    `deployment ${deployment}: any local user can attach a debugger to its replica (${where}) and run code as you while --debug is on: ${reason}. ` +
    `It goes back to a normal deployment after ${formatIdle(idleMs)} without a debugger attached through 127.0.0.1:${debug.port}; update it without --debug to end this sooner.`
  );
}

function formatIdle(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds % 60 !== 0 || seconds < 60) return `${seconds} s`;
  const minutes = seconds / 60;
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}
