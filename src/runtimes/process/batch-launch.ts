import { mkdir, symlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { OepError } from '../../errors.js';
import { INHERITED_CREDENTIAL_VARIABLES } from '../../model/msi.js';
import { MODEL_DIR_ENV } from '../../model/server-contract.js';
import type { BatchDeploymentSpec } from '../../spec/batch-types.js';
import { PACKAGE_ROOT } from '../../state/paths.js';
import type { BatchProcessLaunch } from './batch-worker.js';

/** oep's batch worker (server/oep_batch.py), which each worker process runs. */
export const BATCH_WORKER = join(PACKAGE_ROOT, 'server', 'oep_batch.py');


export interface BatchLaunchInput {
  spec: BatchDeploymentSpec;
  /** The interpreter (the python setting, as for online deployments on this runtime). */
  python: string;
  /** The job's own folder: the model's cloud-layout link tree goes in it. */
  jobDir: string;
  /** The job's output folder (OEP_BATCH_OUTPUT_DIR, AZUREML_BI_OUTPUT_PATH). */
  outputDir: string;
  logDir: string;
}

/**
 * How every worker of a job on the process runtime starts (docs/batch.md "Worker protocol"): the
 * deployment's interpreter running server/oep_batch.py in the code folder (its working directory), the model linked as
 * Azure lays it out (<job>/azureml-models/<name>/<version>/<last segment of model.path>, the
 * folder above as AZUREML_MODEL_DIR), the script or, for an MLflow model without one, the model's
 * folder, and the deployment's environment_variables last.
 */
export async function batchProcessLaunch(input: BatchLaunchInput): Promise<BatchProcessLaunch> {
  const { spec } = input;
  const model = typeof spec.model === 'object' ? spec.model : undefined;
  if (!model?.path) {
    throw new OepError('OEP_ERR_SPEC_INVALID', `Batch deployment ${spec.name} has no local model to run (model: ${JSON.stringify(spec.model)}).`, {
      hint: 'Register the model with oep model create, or give model.path in the deployment YAML, then create the deployment again.',
    });
  }
  const source = model.path.replace(/\/+$/, '');
  const modelDir = join(input.jobDir, 'azureml-models', model.name ?? `${spec.name}-model`, String(model.version ?? '1'));
  await mkdir(modelDir, { recursive: true, mode: 0o700 });
  await symlink(source, join(modelDir, basename(source)));

  const env: NodeJS.ProcessEnv = { ...process.env };
  // The developer's credentials must not stand in for an identity the job does not have.
  for (const name of INHERITED_CREDENTIAL_VARIABLES) delete env[name];
  Object.assign(env, {
    PYTHONUNBUFFERED: '1',
    PYTHONDONTWRITEBYTECODE: '1',
    [MODEL_DIR_ENV]: modelDir,
    OEP_BATCH_OUTPUT_DIR: input.outputDir,
    OEP_BATCH_LOGGING_LEVEL: spec.logging_level,
  });
  let cwd = input.jobDir;
  if (spec.code_configuration) {
    env.OEP_BATCH_SCRIPT = join(spec.code_configuration.code, spec.code_configuration.scoring_script);
    cwd = spec.code_configuration.code;
  } else {
    env.OEP_BATCH_MLFLOW_MODEL = modelDir;
  }
  Object.assign(env, spec.environment_variables);
  return {
    python: input.python,
    args: [BATCH_WORKER],
    cwd,
    env,
    logFile: (slot) => join(input.logDir, `worker-${slot}.log`),
  };
}
