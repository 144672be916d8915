import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, open, readlink, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { OepError } from '../../errors.js';
import type { FoundReplica } from '../../model/replica-plan.js';
import type { DeploymentSpec } from '../../spec/types.js';
import { computeLayout, scoringEnvironment } from '../../model/layout.js';
import { collectsData, dataCollectionEnvironment } from '../../model/data-collection.js';
import { DEBUG_HOST, debugEnvironment } from '../../model/debug.js';
import { APPEND_NOFOLLOW } from '../../model/file-flags.js';
import { planEnvironment, scoringPlan } from '../../model/scoring-plan.js';
import { INHERITED_CREDENTIAL_VARIABLES, msiEnvironment, type ReplicaIdentityAccess } from '../../model/msi.js';
import { processRuntimeNotice, type PythonInterpreter, type RecordedPython } from '../../model/process-interpreter.js';
import { dataCollectorDir, deploymentRunDir, PACKAGE_ROOT, storageInitializerLog, type OepPaths } from '../../state/paths.js';
import { debugToken, replicaSecret } from '../../state/secrets.js';
import { writePreparedLog } from '../prepared-log.js';
import { deploymentKey } from '../../model/deployment-key.js';
import { Spare, type ProcessLaunch } from './spare.js';
import { findFreePort } from '../free-port.js';
import type { EmitProgress, PreparedConfiguration, PrepareRequest, ReplicaExit, ReplicaHandle, ReplicaRequest, Runtime, RuntimeChoices } from '../types.js';
import {
  isRunning,
  killTokenHolders,
  processStartTime,
  readRecords,
  recordFile,
  removeRecord,
  serverWithToken,
  signalGroup,
  TOKEN_VARIABLE,
  writeRecord,
  type ReplicaRecord,
} from './replica-records.js';

export interface ProcessRuntimeOptions {
  paths: OepPaths;
  /**
   * The interpreter of a deployment that has none recorded (recorded before interpreters were):
   * the python setting, looked up at every start so a changed setting applies to the next replica.
   * A deployment's recorded interpreter (ReplicaRequest.python) wins.
   */
  python: () => Promise<string>;
  /** The managed identity's MSI endpoint (the daemon's listener) and client ids; without it replicas get no MSI_* variables. */
  identity?: ReplicaIdentityAccess;
}

export const SCORING_SERVER = join(PACKAGE_ROOT, 'server', 'oep_server.py');

/** Seconds a replica gets to stop after SIGTERM before its process group is killed. */
const STOP_TIMEOUT_MS = 5000;
/** How often a replica this daemon did not start (so cannot wait for) is checked for its end. */
const ADOPTED_POLL_MS = 250;
/** How long asking the interpreter what it is (path, version) may take. */
const INSPECT_TIMEOUT_MS = 10_000;

/**
 * Runs the scoring server as a process on a free loopback port, with the environment of the
 * cloud layout. The model is reached through a link tree that reproduces
 * /var/azureml-app/azureml-models/<name>/<version>/<last segment of model.path>.
 *
 * Each replica runs in a session of its own, writes straight to its log file and has a record
 * under OEP_HOME/run (replica-records.ts), so it outlives a daemon that crashes and the next
 * daemon adopts it (or stops it, when nobody wants it any more). `oep daemon stop` stops them.
 */
export class ProcessRuntime implements Runtime {
  readonly kind = 'process' as const;
  /** Model links being made, per folder (see linkModel). */
  private readonly linking = new Map<string, Promise<void>>();
  /** Records of the replicas found by findReplicas, by found id (the record's file). */
  private readonly found = new Map<string, ReplicaRecord>();
  private serverDigest?: string;
  /** The progress streams (one per create or update) already told which interpreter runs the deployment. */
  private readonly told = new WeakSet<EmitProgress>();
  /** The warm interpreter readied for each deployment's next start (spare.ts), by deployment key. */
  private readonly spares = new Map<string, Spare>();
  /** How many times each deployment was cleaned up: a spare worked out across a cleanup is not made. */
  private readonly cleanups = new Map<string, number>();

  constructor(private readonly options: ProcessRuntimeOptions) {}

  /** Nothing to build: the hash is known at once (the replicas are found by their records at start-up). */
  async prepare(request: PrepareRequest): Promise<PreparedConfiguration> {
    return { configHash: this.configHash(request.spec, request.generation, request.python?.path) };
  }

  /**
   * What a found replica must carry to be adopted: the configuration (spec and generation) and
   * oep's server files, so an upgraded server is never mistaken for the one that runs.
   */
  configHash(spec: DeploymentSpec, generation: number, python?: string): string {
    this.serverDigest ??= digestServer();
    // MSI_ENDPOINT is in a replica's environment for good: one that names another port (the
    // daemon's listener could not get its port back after a restart) is replaced, not adopted.
    const msi = this.options.identity?.processEndpoint();
    return createHash('sha256')
      .update(JSON.stringify({ spec, generation, server: this.serverDigest, ...(msi && { msi }), ...(python && { python }) }))
      .digest('hex')
      .slice(0, 24);
  }

  /** The process runtime takes no choices; --local-enable-gpu is said to do nothing here rather than ignored silently. */
  async configure(_endpoint: string, _deployment: string, choices: RuntimeChoices, emit: EmitProgress): Promise<void> {
    if (choices.gpu) emit({ phase: 'notice', message: '--local-enable-gpu only applies to the docker runtime; a process replica sees the host as it is' });
  }

  async startReplica(request: ReplicaRequest): Promise<ReplicaHandle> {
    const { spec } = request;
    const { plan, chosen, python, layout, runDir, modelDir, appRoot, entryScript, scoring, collectorDir, launch } = await this.launchOf(request);
    // A warm interpreter started for exactly this launch takes the place of a cold start; one
    // started for another (the environment or interpreter changed) is of no use any more.
    const key = deploymentKey(request.endpoint, request.deployment);
    let spare = this.spares.get(key);
    this.spares.delete(key);
    if (spare && !spare.fits(launch)) {
      spare.discard();
      spare = undefined;
    }
    // Asked while the replica starts; awaited before the handle is returned. A spare knows already.
    const interpreter = spare ? spare.interpreter.then((known) => (known ? { configured: python, source: chosen.source, executable: known.executable, version: known.version } : inspectInterpreter(chosen))) : inspectInterpreter(chosen);
    // Said once per create or update, however many replicas it starts.
    const tell = !this.told.has(request.emit);
    this.told.add(request.emit);
    const port = await findFreePort();
    await mkdir(join(request.logFile, '..'), { recursive: true });
    await writePreparedLog(storageInitializerLog(this.options.paths, request.endpoint, request.deployment), {
      runtime: 'process',
      command: `${python} ${SCORING_SERVER} --host 127.0.0.1 --port ${port}${spare ? ' (a warm interpreter, started ahead with the same environment: server/oep_spare.py)' : ''}`,
      mounts: [
        ...(layout.model && modelDir ? [`${join(modelDir, layout.model.entry)} -> ${layout.model.source}`] : []),
        ...(appRoot ? [`AML_APP_ROOT ${appRoot}`] : []),
        ...(plan.kind === 'mlflow' ? [`AZUREML_ENTRY_SCRIPT ${entryScript} (oep's scoring script for MLflow models)`] : []),
        ...(collectorDir ? [`data collector -> ${collectorDir}`] : []),
        ...(request.debug ? [`debugpy on ${DEBUG_HOST}:${request.debug.backendPort ?? request.debug.port} (a debugger attaches through oep on ${DEBUG_HOST}:${request.debug.port})${request.debug.wait ? ', waiting for a debugger before the script loads' : ''}`] : []),
      ],
      environment: scoring,
    });
    const file = recordFile(this.options.paths, request.endpoint, request.deployment, request.replica, request.generation);
    const record: ReplicaRecord = {
      endpoint: request.endpoint,
      deployment: request.deployment,
      replica: request.replica,
      generation: request.generation,
      configHash: this.configHash(spec, request.generation, request.python?.path),
      token: spare?.token ?? randomBytes(16).toString('hex'),
      port,
      startedAt: new Date().toISOString(),
    };
    const args = ['--host', '127.0.0.1', '--port', String(port)];
    // Written before the process runs the server: a daemon killed right after still leaves a way
    // to find it (the token in its environment; a spare's pid is known already).
    const spareStart = spare?.child.pid !== undefined ? processStartTime(spare.child.pid) : undefined;
    await writeRecord(file, spare && spareStart !== undefined ? { ...record, pid: spare.child.pid, startTime: spareStart } : record);
    let child: ChildProcess;
    let exited: Promise<ReplicaExit>;
    if (spare?.fits(launch)) {
      child = spare.take(args, request.logFile);
      exited = this.endOf(request, child, file, python);
      // A deployment that reloads once is likely to again: the next spare starts now rather than
      // once this replica is ready, so it is warm by the next save.
      void this.standBy(request).catch(() => undefined);
    } else {
      spare?.discard();
      spare = undefined;
      const log = await open(request.logFile, APPEND_NOFOLLOW, 0o600);
      try {
        child = spawn(python, [SCORING_SERVER, ...args], {
          cwd: launch.cwd,
          env: { ...launch.env, [TOKEN_VARIABLE]: record.token },
          stdio: ['ignore', log.fd, log.fd],
          // A session of its own: the replica outlives a daemon that crashes, and a stop reaches its workers.
          detached: true,
        });
      } catch (error) {
        await log.close();
        await removeRecord(file);
        throw error;
      }
      // Listen before anything else is awaited: a failed spawn reports on the next tick.
      exited = this.endOf(request, child, file, python);
      await log.close();
    }
    return this.handleOf(request, { child, exited, file, record, port, interpreter, tell, fromSpare: spare !== undefined });
  }

  /**
   * Readies a warm interpreter for the deployment's next start (a reload in watch mode, an
   * update, a restart): its process started now with the launch this request would get, idle
   * until it is taken. One per deployment; none under --debug (debugpy starts before the script).
   */
  async standBy(request: ReplicaRequest): Promise<void> {
    if (request.debug) return;
    const key = deploymentKey(request.endpoint, request.deployment);
    const cleanups = this.cleanups.get(key) ?? 0;
    let launch: ProcessLaunch;
    try {
      // Nothing made on disk: the replica that is ready made it already, and a cleanup meanwhile must stay one.
      ({ launch } = await this.launchOf(request, false));
    } catch {
      return;
    }
    // The deployment was removed while its launch was worked out.
    if ((this.cleanups.get(key) ?? 0) !== cleanups) return;
    const current = this.spares.get(key);
    if (current?.fits(launch)) return;
    current?.discard();
    this.spares.set(key, new Spare(launch));
  }

  /**
   * Everything a start of this replica decides before its process exists: the plan, the
   * interpreter, the environment. `prepareFiles`: also link the model and make the data
   * collector's folder (a start does; readying a spare does not).
   */
  private async launchOf(request: ReplicaRequest, prepareFiles = true) {
    const { spec } = request;
    const plan = scoringPlan(spec);
    if (plan.kind === 'container') {
      throw new OepError('OEP_ERR_RUNTIME_UNAVAILABLE', `Deployment ${spec.name} is a custom container (environment.inference_config); the process runtime cannot run it.`, {
        hint: 'Use --runtime docker for custom containers.',
      });
    }
    if (plan.kind === 'unsupported') throw new OepError('OEP_ERR_RUNTIME_UNAVAILABLE', `Deployment ${spec.name} cannot run here: ${plan.reason}`, { hint: plan.hint });
    const chosen = request.python ?? { path: await this.options.python(), source: 'setting' as const };
    const python = chosen.path;
    const layout = computeLayout(spec);
    const runDir = deploymentRunDir(this.options.paths, request.endpoint, request.deployment);
    let modelDir: string | undefined;
    if (layout.model) {
      modelDir = join(runDir, 'azureml-models', layout.model.name, layout.model.version);
      if (prepareFiles) await this.linkModel(modelDir, layout.model.entry, layout.model.source);
    }
    const appRoot = layout.code ? join(layout.code.source, layout.code.scriptDir) : undefined;
    // MLflow without a scoring script: oep's own script, from the package (environment: the configured interpreter).
    const entryScript = plan.kind === 'mlflow' ? join(PACKAGE_ROOT, 'server', plan.script) : layout.code?.scriptFile;
    // The server answers only requests that carry the secret the router adds (health probes aside).
    const secret = replicaSecret(this.options.paths.home, request.endpoint, request.deployment);
    const platform = this.identityEnvironment(request.endpoint, request.deployment);
    const scoring = { ...planEnvironment(plan, layout.model?.entry), ...scoringEnvironment(spec, { modelDir, appRoot, entryScript, replicaSecret: secret, platform }) };
    // data_collector: the script's collections are written straight into the deployment's folder.
    const collectorDir = collectsData(spec) ? dataCollectorDir(this.options.paths, request.endpoint, request.deployment) : undefined;
    if (collectorDir && prepareFiles) await mkdir(collectorDir, { recursive: true });
    const inherited = { ...process.env };
    // The developer's credentials must not take the deployment's managed identity's place.
    if (this.options.identity) for (const name of INHERITED_CREDENTIAL_VARIABLES) delete inherited[name];
    const env = {
      ...inherited,
      PYTHONUNBUFFERED: '1',
      PYTHONDONTWRITEBYTECODE: '1',
      ...(collectorDir ? dataCollectionEnvironment(spec, collectorDir) : {}),
      ...scoring,
      // --debug: debugpy on the host's loopback, at the backend port only the daemon's debug gate
      // connects to, with the token it requires; after the user's variables (they cannot turn it off).
      ...(request.debug ? debugEnvironment(request.debug, DEBUG_HOST, request.debug.backendPort ?? request.debug.port, debugToken(this.options.paths.home, request.endpoint, request.deployment), true) : {}),
    };
    const launch: ProcessLaunch = { python, cwd: appRoot ?? runDir, env };
    return { plan, chosen, python, layout, runDir, modelDir, appRoot, entryScript, scoring, collectorDir, launch };
  }

  /** How the replica's process ended; its record goes with it. */
  private endOf(request: ReplicaRequest, child: ChildProcess, file: string, python: string): Promise<ReplicaExit> {
    return new Promise<ReplicaExit>((resolve) => {
      child.once('exit', (code, signal) => {
        // Workers of a server that died hard may linger in its group.
        if (child.pid) signalGroup(child.pid, 'SIGKILL');
        void removeRecord(file).then(() => resolve({ code, signal }));
      });
      child.once('error', (error: NodeJS.ErrnoException) => {
        const reason =
          error.code === 'ENOENT'
            ? `the Python interpreter "${python}" was not found (${interpreterFix(request)})`
            : `could not start "${python}": ${error.message}`;
        void removeRecord(file).then(() => resolve({ code: null, signal: null, error: reason }));
      });
    });
  }

  /** The handle of a replica's process, cold or taken from a spare: its end, its record, its stop. */
  private async handleOf(
    request: ReplicaRequest,
    started: { child: ChildProcess; exited: Promise<ReplicaExit>; file: string; record: ReplicaRecord; port: number; interpreter: Promise<PythonInterpreter>; tell: boolean; fromSpare: boolean },
  ): Promise<ReplicaHandle> {
    const { child, exited, file, record, port } = started;
    if (child.pid !== undefined && !started.fromSpare) {
      const startTime = processStartTime(child.pid);
      // The process may already be gone (a missing interpreter): then the exit handler removes the record.
      if (startTime !== undefined && child.exitCode === null && child.signalCode === null) await writeRecord(file, { ...record, pid: child.pid, startTime });
    }
    const pid = child.pid;
    const inspected = await started.interpreter;
    if (started.tell) request.emit({ phase: 'notice', message: processRuntimeNotice(request.spec, inspected) });
    return {
      id: `${request.endpoint}/${request.deployment}/${request.replica}`,
      target: { origin: `http://127.0.0.1:${port}`, scoringPath: '/score', readinessPath: '/', livenessPath: '/' },
      pid,
      exited,
      interpreter: inspected,
      stop: async () => {
        if (pid === undefined || child.exitCode !== null || child.signalCode !== null) {
          await exited;
          return;
        }
        signalGroup(pid, 'SIGTERM');
        const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      },
    };
  }

  /** MSI_ENDPOINT, MSI_SECRET and DEFAULT_IDENTITY_CLIENT_ID, when the daemon's MSI listener runs and the endpoint has identities. */
  private identityEnvironment(endpoint: string, deployment: string): Record<string, string> | undefined {
    const access = this.options.identity;
    const url = access?.processEndpoint();
    const clientId = access?.defaultClientId(endpoint);
    if (!access || !url || !clientId) return undefined;
    return msiEnvironment(url, access.secret(endpoint, deployment), clientId);
  }

  /** Replicas with a record: running (same pid and start time, or found by token) or not. */
  async findReplicas(): Promise<FoundReplica[]> {
    const out: FoundReplica[] = [];
    for (const { file, record } of await readRecords(this.options.paths)) {
      let current = record;
      let alive = record.pid !== undefined && isRunning(record.pid, record.startTime);
      if (record.pid === undefined) {
        // Written before the spawn, and the daemon died before it could add the pid.
        const server = serverWithToken(record.token);
        if (server) {
          current = { ...record, pid: server.pid, startTime: server.startTime };
          await writeRecord(file, current);
          alive = true;
        }
      }
      this.found.set(file, current);
      out.push({
        id: file,
        runtime: 'process',
        endpoint: current.endpoint,
        deployment: current.deployment,
        index: current.replica,
        generation: current.generation,
        configHash: current.configHash,
        alive,
      });
    }
    return out;
  }

  /** Takes over a replica an earlier daemon started: it is not our child, so its end is polled. */
  async adoptReplica(found: FoundReplica): Promise<ReplicaHandle> {
    const record = this.found.get(found.id);
    if (!record || record.pid === undefined) throw new OepError('OEP_ERR_INTERNAL', `No record of replica ${found.id}.`);
    this.found.delete(found.id);
    const { pid, startTime } = record;
    const exited = watchEnd(pid, startTime, found.id);
    return {
      id: `${record.endpoint}/${record.deployment}/${record.replica}`,
      target: { origin: `http://127.0.0.1:${record.port}`, scoringPath: '/score', readinessPath: '/', livenessPath: '/' },
      pid,
      exited,
      adopted: true,
      stop: () => stopGroup(pid, startTime, exited),
    };
  }

  /** Stops a found replica nobody wants (its workers too), or forgets the record of one that ended. */
  async discardReplica(found: FoundReplica): Promise<void> {
    const record = this.found.get(found.id);
    this.found.delete(found.id);
    if (record?.pid !== undefined && isRunning(record.pid, record.startTime)) {
      await stopGroup(record.pid, record.startTime, watchEnd(record.pid, record.startTime, found.id));
    }
    if (record) killTokenHolders(record.token);
    await removeRecord(found.id);
  }

  /**
   * Links the model into its cloud-layout folder. Replicas of a deployment start in parallel and
   * share the folder, so the work is serialised per folder, and a link that already points at the
   * model is left alone (a sibling or an old replica may be reading through it).
   */
  private linkModel(modelDir: string, entry: string, source: string): Promise<void> {
    const previous = this.linking.get(modelDir) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(async () => {
      const link = join(modelDir, entry);
      const current = await readlink(link).catch(() => undefined);
      if (current === source) return;
      await rm(modelDir, { recursive: true, force: true });
      await mkdir(modelDir, { recursive: true });
      await symlink(source, link);
    });
    this.linking.set(modelDir, next);
    void next.finally(() => {
      if (this.linking.get(modelDir) === next) this.linking.delete(modelDir);
    }).catch(() => undefined);
    return next;
  }

  async cleanup(endpoint: string, deployment: string): Promise<void> {
    const key = deploymentKey(endpoint, deployment);
    this.spares.get(key)?.discard();
    this.spares.delete(key);
    this.cleanups.set(key, (this.cleanups.get(key) ?? 0) + 1);
    await rm(deploymentRunDir(this.options.paths, endpoint, deployment), { recursive: true, force: true });
  }
}

/**
 * What the deployment's interpreter is: the path it runs as and its version (only what was
 * configured when it cannot be run; the start itself then says why).
 */
function inspectInterpreter(chosen: RecordedPython): Promise<PythonInterpreter> {
  const configured = chosen.path;
  return new Promise((resolve) => {
    execFile(configured, ['-c', 'import sys; print(sys.executable); print(sys.version.split()[0])'], { timeout: INSPECT_TIMEOUT_MS }, (error, stdout) => {
      const [executable, version] = error ? [] : stdout.split('\n');
      resolve({ configured, source: chosen.source, ...(executable && { executable }), ...(version && { version }) });
    });
  });
}

/**
 * How to give a deployment an interpreter that exists: a recorded one (gone since, e.g. a removed
 * virtual environment) changes with an update, the setting of an older record at the next start.
 */
function interpreterFix(request: ReplicaRequest): string {
  const update = `OEP_PYTHON=/path/to/python3 oep deployment update -n ${request.deployment} -e ${request.endpoint}`;
  return request.python
    ? `the deployment's interpreter, recorded by its last create or update; choose a python3 >= 3.8 with: ${update}`
    : `oep config set python to a python3 >= 3.8, or: ${update}`;
}

/** Resolves when a process we cannot wait for (not our child) has ended, and removes its record. */
function watchEnd(pid: number, startTime: string | undefined, file: string): Promise<ReplicaExit> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (isRunning(pid, startTime)) {
        setTimeout(check, ADOPTED_POLL_MS).unref();
        return;
      }
      void removeRecord(file).then(() => resolve({ code: null, signal: null }));
    };
    check();
  });
}

/** SIGTERM to the replica's process group, SIGKILL after STOP_TIMEOUT_MS; resolves once it ended. */
async function stopGroup(pid: number, startTime: string | undefined, exited: Promise<ReplicaExit>): Promise<void> {
  // The pid may belong to someone else by now: only signal the process we recorded.
  if (isRunning(pid, startTime)) signalGroup(pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (isRunning(pid, startTime)) signalGroup(pid, 'SIGKILL');
  }, STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/**
 * A digest of every Python file of oep's server, its packages and shims included (oep_server,
 * oep_mlflow, oep_shims/...): a new server means new replicas, never an adopted old one.
 */
function digestServer(): string {
  const dir = join(PACKAGE_ROOT, 'server');
  const hash = createHash('sha256');
  const walk = (folder: string): void => {
    for (const entry of readdirSync(join(dir, folder), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(folder, entry.name);
      if (entry.isDirectory() && entry.name !== '__pycache__') walk(path);
      else if (entry.isFile() && entry.name.endsWith('.py')) hash.update(path).update(readFileSync(join(dir, path)));
    }
  };
  walk('');
  return hash.digest('hex');
}
