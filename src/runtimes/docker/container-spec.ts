import { createHash } from 'node:crypto';
import { isAbsolute, posix } from 'node:path';
import type { ContainerCreateOptions } from 'dockerode';
import { OepError } from '../../errors.js';
import { computeLayout, scoringEnvironment, SERVER_PORT, SERVER_ROOT, APP_ROOT } from '../../model/layout.js';
import { planEnvironment, scoringPlan } from '../../model/scoring-plan.js';
import { dataCollectionEnvironment } from '../../model/data-collection.js';
import { DEFAULT_DEBUG_PORT, debugEnvironment, type DebugSettings } from '../../model/debug.js';
import { CONTAINER_MSI_DIR, CONTAINER_MSI_ENDPOINT, msiEnvironment, msiForwardEnvironment } from '../../model/msi.js';
import type { DeploymentSpec } from '../../spec/types.js';
import { homeLabel, LABELS, testRunLabels } from './labels.js';

/** Where oep's scoring server is mounted in a container (read-only). */
export const SERVER_MOUNT = SERVER_ROOT;
/** Where the deployment's data-collector folder is mounted (read-write) when its script collects data. */
export const DATA_COLLECTOR_MOUNT = '/var/oep-data-collector';

export interface ContainerInput {
  home: string;
  endpoint: string;
  deployment: string;
  replica: number;
  generation: number;
  spec: DeploymentSpec;
  /** The image to run: a name for people, its id for the hash. */
  image: { reference: string; id: string };
  /** The Python that runs oep's server in this image (e.g. python3, or the conda env's python). */
  python: string;
  /** oep's server folder on the host, and a digest of its files. */
  server: { dir: string; digest: string };
  version: string;
  gpu: boolean;
  /** data_collector: the deployment's folder on the host, for the collections the script writes. */
  dataCollectorDir?: string;
  /** egress_public_network_access: disabled: the internal network the container joins (no published port). */
  network?: string;
  /** The secret oep's server requires from the router (x-oep-replica-secret); a custom container gets none. */
  replicaSecret?: string;
  /** --debug: the token debugpy requires before anything else (src/state/secrets.ts debugToken). */
  debugToken?: string;
  /** --debug: debugpy listens inside on DEFAULT_DEBUG_PORT, published on the host's 127.0.0.1 at `debug.backendPort` (the debug gate connects there). */
  debug?: DebugSettings;
  /**
   * The managed identity: the host folder of the daemon's MSI socket (mounted read-only), the
   * deployment's MSI_SECRET and DEFAULT_IDENTITY_CLIENT_ID. oep's server forwards
   * 127.0.0.1:46808 inside to that socket; a custom container (no oep server) gets none of it.
   */
  identity?: { socketDir: string; secret: string; clientId: string };
}

export interface ContainerPlan {
  name: string;
  configHash: string;
  options: ContainerCreateOptions;
  /** The port inside the container that serves the routes below. */
  containerPort: number;
  scoringPath: string;
  readinessPath: string;
  livenessPath: string;
  /** For the storage-initializer log. */
  command: string;
  mounts: string[];
  environment: Record<string, string>;
  /** The internal network the container is on, when it has no published port. */
  network?: string;
}

/**
 * The container a replica runs in, as plain data: the cloud layout (docs/contract.md section 4)
 * with model and code mounted read-only, the server port published on 127.0.0.1 only (a random
 * host port), labels, and a config hash over everything that shapes the container. The
 * generation is part of the hash: an update always gets a fresh container (the code is a mount,
 * so a new score.py needs a new process), while a daemon restart finds the same hash and adopts.
 * The replica number is not: every replica of a configuration has one hash, known once the
 * configuration is prepared, before the replica plan decides what to adopt.
 */
export function planContainer(input: ContainerInput): ContainerPlan {
  const { spec } = input;
  const layout = computeLayout(spec);
  const plan = scoringPlan(spec);
  if (plan.kind === 'unsupported') throw new OepError('OEP_ERR_RUNTIME_UNAVAILABLE', `Deployment ${spec.name} cannot run here: ${plan.reason}`, { hint: plan.hint });
  const custom = plan.kind === 'container' ? plan.routes : undefined;
  const binds: string[] = [];
  const mounts: string[] = [];
  const bind = (source: string, target: string, what: string): void => {
    if (!isAbsolute(source)) {
      throw new OepError('OEP_ERR_RUNTIME_UNAVAILABLE', `The ${what} of deployment ${spec.name} is not a local path ("${source}"), so it cannot be mounted.`, {
        hint: `Point ${what} at a local file or folder.`,
      });
    }
    binds.push(`${source}:${target}:ro`);
    mounts.push(`${target} <- ${source} (read-only)`);
  };

  let modelDir: string | undefined;
  if (layout.model) {
    modelDir = layout.model.modelDir;
    bind(layout.model.source, posix.join(modelDir, layout.model.entry), 'model.path');
  }
  let appRoot: string | undefined;
  if (layout.code) {
    bind(layout.code.source, layout.code.codeDir, 'code_configuration.code');
    appRoot = layout.code.scriptDir ? posix.join(layout.code.codeDir, layout.code.scriptDir) : layout.code.codeDir;
  }

  let containerPort = SERVER_PORT;
  let scoringPath = '/score';
  let readinessPath = '/';
  let livenessPath = '/';
  let entrypoint: string[] | undefined;
  let cmd: string[] | undefined;
  if (custom) {
    const ports = new Set([custom.scoring_route.port, custom.readiness_route.port, custom.liveness_route.port]);
    if (ports.size !== 1) {
      throw new OepError('OEP_ERR_RUNTIME_UNAVAILABLE', `The routes of deployment ${spec.name} use different ports (${[...ports].join(', ')}); oep serves a custom container's scoring, readiness and liveness routes from one port.`, {
        hint: 'Serve the three routes of environment.inference_config on the same port.',
      });
    }
    containerPort = custom.scoring_route.port;
    scoringPath = custom.scoring_route.path;
    readinessPath = custom.readiness_route.path;
    livenessPath = custom.liveness_route.path;
  } else {
    bind(input.server.dir, SERVER_MOUNT, "oep's scoring server");
    entrypoint = [input.python, `${SERVER_MOUNT}/oep_server.py`];
    cmd = ['--host', '0.0.0.0', '--port', String(SERVER_PORT)];
  }
  // data_collector: the script's collections (server/oep_monitoring.py) land in the host folder.
  const collector = !custom && input.dataCollectorDir ? dataCollectionEnvironment(spec, DATA_COLLECTOR_MOUNT) : {};
  if (input.dataCollectorDir && Object.keys(collector).length > 0) {
    binds.push(`${input.dataCollectorDir}:${DATA_COLLECTOR_MOUNT}:rw`);
    mounts.push(`${DATA_COLLECTOR_MOUNT} <- ${input.dataCollectorDir} (read-write)`);
  }

  // MLflow without a scoring script: oep's own script, mounted with the server.
  const entryScript = plan.kind === 'mlflow' ? `${SERVER_MOUNT}/${plan.script}` : layout.code?.scriptFile;
  const replicaSecret = custom ? undefined : input.replicaSecret;
  const identity = custom ? undefined : input.identity;
  if (identity) {
    // The folder, not the socket: a restarted daemon makes a new socket there, which a running container must see.
    binds.push(`${identity.socketDir}:${CONTAINER_MSI_DIR}:ro`);
    mounts.push(`${CONTAINER_MSI_DIR} <- ${identity.socketDir} (read-only; the managed identity's endpoint)`);
  }
  const platform = identity ? msiEnvironment(CONTAINER_MSI_ENDPOINT, identity.secret, identity.clientId) : undefined;
  const scoring = { ...planEnvironment(plan, layout.model?.entry), ...scoringEnvironment(spec, { modelDir, appRoot, entryScript, replicaSecret, platform }) };
  // environment_variables are already last in `scoring`; nothing may come after them, but --debug
  // (which the user's variables must not turn off).
  const debug = !custom && input.debug ? input.debug : undefined;
  if (debug && input.network) {
    throw new OepError('OEP_ERR_RUNTIME_UNAVAILABLE', `Deployment ${spec.name} cannot be debugged in Docker: egress_public_network_access: disabled puts its container on an internal network, where Docker publishes no port for debugpy.`, {
      hint: 'Debug it with --runtime process, or without egress_public_network_access: disabled while debugging.',
    });
  }
  const environment: Record<string, string> = custom
    ? { ...scoring }
    : {
        PYTHONUNBUFFERED: '1',
        PYTHONDONTWRITEBYTECODE: '1',
        ...(identity ? msiForwardEnvironment() : {}),
        ...collector,
        ...scoring,
        // Inside, a fixed port that never meets the server's 5001; the host side is the user's.
        ...(debug ? debugEnvironment(debug, '0.0.0.0', DEFAULT_DEBUG_PORT, input.debugToken ?? '') : {}),
      };
  const portKey = `${containerPort}/tcp`;
  const debugPortKey = debug ? `${DEFAULT_DEBUG_PORT}/tcp` : undefined;
  const options: ContainerCreateOptions = {
    Image: input.image.reference,
    Env: Object.entries(environment).map(([name, value]) => `${name}=${value}`),
    ExposedPorts: { [portKey]: {}, ...(debugPortKey && { [debugPortKey]: {} }) },
    ...(entrypoint ? { Entrypoint: entrypoint, Cmd: cmd } : {}),
    ...(custom ? {} : { WorkingDir: appRoot ?? APP_ROOT }),
    HostConfig: {
      Binds: binds,
      // Docker publishes no port on an internal network: the router uses the container's address there.
      ...(input.network
        ? { NetworkMode: input.network }
        : {
            PortBindings: {
              [portKey]: [{ HostIp: '127.0.0.1', HostPort: '' }],
              // Published where the daemon's debug gate connects (the user attaches to the gate at debug.port).
              ...(debug && debugPortKey && { [debugPortKey]: [{ HostIp: '127.0.0.1', HostPort: String(debug.backendPort ?? debug.port) }] }),
            },
          }),
      // oep's server gets a minimal init so SIGTERM ends it at once; a custom image keeps PID 1.
      Init: custom ? undefined : true,
      RestartPolicy: { Name: 'no' },
      ...(input.gpu ? { DeviceRequests: [{ Driver: 'nvidia', Count: -1, Capabilities: [['gpu']] }] } : {}),
    },
  };
  const configHash = createHash('sha256')
    .update(
      JSON.stringify({
        options,
        imageId: input.image.id,
        generation: input.generation,
        server: custom ? null : input.server.digest,
        version: input.version,
        home: homeLabel(input.home),
        endpoint: input.endpoint,
        deployment: input.deployment,
      }),
    )
    .digest('hex')
    .slice(0, 24);
  options.Labels = {
    [LABELS.endpoint]: input.endpoint,
    [LABELS.deployment]: input.deployment,
    [LABELS.replica]: String(input.replica),
    [LABELS.generation]: String(input.generation),
    [LABELS.configHash]: configHash,
    [LABELS.version]: input.version,
    [LABELS.home]: homeLabel(input.home),
    [LABELS.homePath]: input.home,
    // Not part of the config hash: a test-run label never makes a container look changed.
    ...testRunLabels(),
  };
  return {
    name: `oep-${input.endpoint}-${input.deployment}-${input.replica}-${configHash.slice(0, 10)}`,
    configHash,
    options,
    containerPort,
    scoringPath,
    readinessPath,
    livenessPath,
    command: entrypoint ? [...entrypoint, ...(cmd ?? [])].join(' ') : '(the image\'s own entrypoint and command)',
    mounts,
    environment,
    ...(input.network ? { network: input.network } : {}),
  };
}
