import { spawn } from 'node:child_process';
import { mkdir, open, readlink, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { OepError } from '../../errors.js';
import { computeLayout, scoringEnvironment } from '../../model/layout.js';
import { collectsData, dataCollectionEnvironment } from '../../model/data-collection.js';
import { planEnvironment, scoringPlan } from '../../model/scoring-plan.js';
import { dataCollectorDir, deploymentRunDir, PACKAGE_ROOT, storageInitializerLog, type OepPaths } from '../../state/paths.js';
import { writePreparedLog } from '../prepared-log.js';
import { findFreePort } from '../free-port.js';
import type { ReplicaExit, ReplicaHandle, ReplicaRequest, Runtime } from '../types.js';

export interface ProcessRuntimeOptions {
  paths: OepPaths;
  /** The Python interpreter that runs the scoring server, looked up at every start so a changed setting applies to the next replica. */
  python: () => Promise<string>;
}

export const SCORING_SERVER = join(PACKAGE_ROOT, 'server', 'oep_server.py');

/**
 * Runs the scoring server as a child process of the daemon, on a free loopback port, with the
 * environment of the cloud layout. The model is reached through a link tree that reproduces
 * /var/azureml-app/azureml-models/<name>/<version>/<last segment of model.path>.
 */
export class ProcessRuntime implements Runtime {
  readonly kind = 'process' as const;
  /** Model links being made, per folder (see linkModel). */
  private readonly linking = new Map<string, Promise<void>>();

  constructor(private readonly options: ProcessRuntimeOptions) {}

  async startReplica(request: ReplicaRequest): Promise<ReplicaHandle> {
    const { spec } = request;
    const plan = scoringPlan(spec);
    if (plan.kind === 'container') {
      throw new OepError('OEP_ERR_RUNTIME_UNAVAILABLE', `Deployment ${spec.name} is a custom container (environment.inference_config); the process runtime cannot run it.`, {
        hint: 'Use --runtime docker for custom containers.',
      });
    }
    if (plan.kind === 'unsupported') throw new OepError('OEP_ERR_RUNTIME_UNAVAILABLE', `Deployment ${spec.name} cannot run here: ${plan.reason}`, { hint: plan.hint });
    const layout = computeLayout(spec);
    const runDir = deploymentRunDir(this.options.paths, request.endpoint, request.deployment);
    let modelDir: string | undefined;
    if (layout.model) {
      modelDir = join(runDir, 'azureml-models', layout.model.name, layout.model.version);
      await this.linkModel(modelDir, layout.model.entry, layout.model.source);
    }
    const appRoot = layout.code ? join(layout.code.source, layout.code.scriptDir) : undefined;
    // MLflow without a scoring script: oep's own script, from the package (environment: the configured interpreter).
    const entryScript = plan.kind === 'mlflow' ? join(PACKAGE_ROOT, 'server', plan.script) : layout.code?.scriptFile;
    const scoring = { ...planEnvironment(plan, layout.model?.entry), ...scoringEnvironment(spec, { modelDir, appRoot, entryScript }) };
    const port = await findFreePort();
    const python = await this.options.python();
    // data_collector: the script's collections are written straight into the deployment's folder.
    const collectorDir = collectsData(spec) ? dataCollectorDir(this.options.paths, request.endpoint, request.deployment) : undefined;
    if (collectorDir) await mkdir(collectorDir, { recursive: true });
    const env = {
      ...process.env,
      PYTHONUNBUFFERED: '1',
      PYTHONDONTWRITEBYTECODE: '1',
      ...(collectorDir ? dataCollectionEnvironment(spec, collectorDir) : {}),
      ...scoring,
    };
    await mkdir(join(request.logFile, '..'), { recursive: true });
    await writePreparedLog(storageInitializerLog(this.options.paths, request.endpoint, request.deployment), {
      runtime: 'process',
      command: `${python} ${SCORING_SERVER} --host 127.0.0.1 --port ${port}`,
      mounts: [
        ...(layout.model && modelDir ? [`${join(modelDir, layout.model.entry)} -> ${layout.model.source}`] : []),
        ...(appRoot ? [`AML_APP_ROOT ${appRoot}`] : []),
        ...(plan.kind === 'mlflow' ? [`AZUREML_ENTRY_SCRIPT ${entryScript} (oep's scoring script for MLflow models)`] : []),
        ...(collectorDir ? [`data collector -> ${collectorDir}`] : []),
      ],
      environment: scoring,
    });
    const log = await open(request.logFile, 'a');
    const child = spawn(python, [SCORING_SERVER, '--host', '127.0.0.1', '--port', String(port)], {
      cwd: appRoot ?? runDir,
      env,
      stdio: ['ignore', log.fd, log.fd],
    });
    // Listen before anything else is awaited: a failed spawn reports on the next tick.
    const exited = new Promise<ReplicaExit>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', (error: NodeJS.ErrnoException) => {
        const reason =
          error.code === 'ENOENT'
            ? `the Python interpreter "${python}" was not found (set OEP_PYTHON, or oep config set python, to a python3 >= 3.8)`
            : `could not start "${python}": ${error.message}`;
        resolve({ code: null, signal: null, error: reason });
      });
    });
    await log.close();
    return {
      id: `${request.endpoint}/${request.deployment}/${request.replica}`,
      target: { origin: `http://127.0.0.1:${port}`, scoringPath: '/score', readinessPath: '/', livenessPath: '/' },
      pid: child.pid,
      exited,
      stop: async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      },
    };
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
    await rm(deploymentRunDir(this.options.paths, endpoint, deployment), { recursive: true, force: true });
  }
}
