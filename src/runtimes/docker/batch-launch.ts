import { randomBytes } from 'node:crypto';
import { isAbsolute, join, posix } from 'node:path';
import type { ContainerCreateOptions } from 'dockerode';
import { OepError } from '../../errors.js';
import { APP_ROOT, computeLayout, SERVER_ROOT } from '../../model/layout.js';
import { MODEL_DIR_ENV } from '../../model/server-contract.js';
import type { JobInput } from '../../registry/jobs.js';
import type { BatchDeploymentSpec } from '../../spec/batch-types.js';
import { appendFileNoFollow } from '../../state/atomic-write.js';
import { PACKAGE_ROOT } from '../../state/paths.js';
import type { EmitProgress } from '../types.js';
import type { DockerEngine } from './engine.js';
import type { ImageService } from './images.js';
import { BATCH_LABELS, homeLabel, LABELS, testRunLabels } from './labels.js';
import { imageRecipe } from './recipe.js';

/** Where a job's input (the folder, or the one file's folder) is mounted in a worker container, read-only. */
export const BATCH_INPUT_MOUNT = '/var/azureml-batch/input';
/** Where the job's output folder is mounted, read-write (OEP_BATCH_OUTPUT_DIR, AZUREML_BI_OUTPUT_PATH inside). */
export const BATCH_OUTPUT_MOUNT = '/var/azureml-batch/output';

/** What the daemon's Docker side lends batch jobs: the engine and the images of online deployments. */
export interface BatchDockerContext {
  engine: DockerEngine;
  images: ImageService;
  home: string;
  version: string;
  /** oep's server folder on the host (default: the package's server/). */
  serverDir?: string;
}

export interface BatchDockerInput {
  job: string;
  endpoint: string;
  spec: BatchDeploymentSpec;
  input: JobInput;
  /** The job's output folder on the host. */
  outputDir: string;
  /** The job's log folder: worker-<slot>.log, image.log (how the image was prepared), build.log (a build's output). */
  logDir: string;
}

/** Everything a worker container is made of except its image, which is prepared once the job runs. */
export interface BatchContainerPlan {
  binds: string[];
  environment: Record<string, string>;
  workingDir: string;
  labels: Record<string, string>;
  /** A mini-batch's host paths start with `host`; inside they start with `container`. */
  inputMap: { host: string; container: string };
}

/** How every worker container of one job starts (src/runtimes/docker/batch-worker.ts runs it). */
export interface BatchDockerLaunch {
  engine: DockerEngine;
  plan: BatchContainerPlan;
  /** Builds, pulls or finds the deployment's image; the launcher calls it once for all workers. */
  image: () => Promise<{ reference: string; python: string }>;
  /** A container name of its own for each worker (a retry's worker may start while the last one is removed). */
  name: (slot: number) => string;
  logFile: (slot: number) => string;
}

/**
 * A batch job on the docker runtime (docs/batch.md "Docker workers"): the deployment's image, as
 * an online deployment of the same environment gets it, and in it oep's batch worker with the
 * model and code at Azure's paths. Bad input (a registered environment, a path that is not
 * local) is refused here, before the job exists; the image is prepared when the first worker starts.
 */
export function batchDockerLaunch(context: BatchDockerContext, input: BatchDockerInput): BatchDockerLaunch {
  const { spec } = input;
  // Throws for what no image can come from (no environment, a registered one), before the job exists.
  imageRecipe(spec, { mlflowBaseImage: process.env.OEP_MLFLOW_BASE_IMAGE });
  const plan = planBatchContainer({
    home: context.home,
    version: context.version,
    job: input.job,
    endpoint: input.endpoint,
    spec,
    input: input.input,
    outputDir: input.outputDir,
    serverDir: context.serverDir ?? join(PACKAGE_ROOT, 'server'),
  });
  const imageLog = join(input.logDir, 'image.log');
  return {
    engine: context.engine,
    plan,
    image: async () => {
      await context.engine.ensureAvailable();
      // What the preparation says (built, cached, used as it is) is kept beside the workers' logs.
      let said: Promise<void> = Promise.resolve();
      const emit: EmitProgress = (event) => {
        said = said.then(() => appendFileNoFollow(imageLog, `${event.message}\n`)).catch(() => undefined);
      };
      const prepared = await context.images.ensure({ spec, pull: false, emit, buildLog: join(input.logDir, 'build.log') });
      await said;
      return { reference: prepared.reference, python: prepared.python };
    },
    name: (slot) => `oep-batch-${input.job.slice(0, 48)}-${slot}-${randomBytes(3).toString('hex')}`,
    logFile: (slot) => join(input.logDir, `worker-${slot}.log`),
  };
}

export interface BatchContainerInput {
  home: string;
  version: string;
  job: string;
  endpoint: string;
  spec: BatchDeploymentSpec;
  input: JobInput;
  outputDir: string;
  serverDir: string;
}

/**
 * The worker container as plain data (pure): model and code read-only where an online replica
 * has them (src/model/layout.ts), oep's server folder read-only, the input read-only, the output
 * folder read-write; the worker's variables with in-container paths, the deployment's
 * environment_variables last. Nothing of the daemon's own environment goes in.
 */
export function planBatchContainer(input: BatchContainerInput): BatchContainerPlan {
  const { spec } = input;
  const layout = computeLayout(spec);
  if (!layout.model) {
    throw new OepError('OEP_ERR_SPEC_INVALID', `Batch deployment ${spec.name} has no local model to run (model: ${JSON.stringify(spec.model)}).`, {
      hint: 'Register the model with oep model create, or give model.path in the deployment YAML, then create the deployment again.',
    });
  }
  const binds: string[] = [];
  const bind = (source: string, target: string, mode: 'ro' | 'rw', what: string): void => {
    if (!isAbsolute(source)) {
      throw new OepError('OEP_ERR_RUNTIME_UNAVAILABLE', `The ${what} of batch deployment ${spec.name} is not a local path ("${source}"), so it cannot be mounted.`, {
        hint: `Point ${what} at a local file or folder.`,
      });
    }
    binds.push(`${source}:${target}:${mode}`);
  };
  const { modelDir, entry, source } = layout.model;
  bind(source, posix.join(modelDir, entry), 'ro', 'model.path');
  bind(input.serverDir, SERVER_ROOT, 'ro', "oep's server folder");
  bind(input.outputDir, BATCH_OUTPUT_MOUNT, 'rw', 'output folder');
  const inputMap = inputMount(input.input);
  bind(inputMap.host, inputMap.container, 'ro', 'input');

  const environment: Record<string, string> = {
    PYTHONUNBUFFERED: '1',
    PYTHONDONTWRITEBYTECODE: '1',
    [MODEL_DIR_ENV]: modelDir,
    OEP_BATCH_OUTPUT_DIR: BATCH_OUTPUT_MOUNT,
    OEP_BATCH_LOGGING_LEVEL: spec.logging_level,
  };
  let workingDir = APP_ROOT;
  if (layout.code && spec.code_configuration) {
    bind(layout.code.source, layout.code.codeDir, 'ro', 'code_configuration.code');
    const script = spec.code_configuration.scoring_script.replace(/\\/g, '/').replace(/^\.\//, '');
    environment.OEP_BATCH_SCRIPT = posix.join(layout.code.codeDir, script);
    workingDir = layout.code.codeDir;
  } else {
    environment.OEP_BATCH_MLFLOW_MODEL = modelDir;
  }
  Object.assign(environment, spec.environment_variables);

  const labels: Record<string, string> = {
    [BATCH_LABELS.job]: input.job,
    [BATCH_LABELS.endpoint]: input.endpoint,
    [BATCH_LABELS.deployment]: spec.name,
    [LABELS.version]: input.version,
    [LABELS.home]: homeLabel(input.home),
    [LABELS.homePath]: input.home,
    ...testRunLabels(),
  };
  return { binds, environment, workingDir, labels, inputMap };
}

/** A uri_folder is mounted whole; a uri_file as itself, under its own name. */
function inputMount(input: JobInput): { host: string; container: string } {
  const host = input.path.replace(/\/+$/, '');
  if (input.type === 'uri_file') return { host, container: posix.join(BATCH_INPUT_MOUNT, posix.basename(host)) };
  return { host, container: BATCH_INPUT_MOUNT };
}

/** The create options of one worker: oep's batch worker as the entrypoint, stdin kept open for mini-batches. */
export function batchContainerOptions(plan: BatchContainerPlan, image: { reference: string; python: string }, slot: number): ContainerCreateOptions {
  return {
    Image: image.reference,
    Entrypoint: [image.python, `${SERVER_ROOT}/oep_batch.py`],
    Cmd: [],
    WorkingDir: plan.workingDir,
    Env: Object.entries(plan.environment).map(([name, value]) => `${name}=${value}`),
    // stdin carries the mini-batches; it closes (the worker calls shutdown() and exits) when the runner ends it.
    OpenStdin: true,
    StdinOnce: true,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    Labels: { ...plan.labels, [BATCH_LABELS.worker]: String(slot) },
    HostConfig: {
      Binds: plan.binds,
      // A kill ends run()'s child processes too.
      Init: true,
      RestartPolicy: { Name: 'no' },
    },
  };
}

/** A mini-batch's file as the worker sees it. */
export function containerPath(inputMap: { host: string; container: string }, file: string): string {
  if (file === inputMap.host) return inputMap.container;
  if (file.startsWith(`${inputMap.host}/`)) return inputMap.container + file.slice(inputMap.host.length);
  // The runner only sends files of the job's input; anything else is not mounted and fails to open inside.
  return file;
}
