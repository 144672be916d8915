import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { readInputText } from '../../spec/input-file.js';
import { MAX_YAML_BYTES } from '../../spec/yaml-source.js';
import { OepError } from '../../errors.js';

/** How deep below model.path the MLmodel file is looked for (as oep's MLflow scoring script does). */
const SEARCH_DEPTH = 4;

/**
 * The conda file of an MLflow model: the one its MLmodel names (python_function `env`, or
 * `env.conda`), conda.yaml by default, beside the MLmodel file. For deployments with neither a
 * scoring script nor an environment, whose image oep builds from it as Azure does.
 */
export async function mlflowCondaFile(modelPath: string, deployment: string): Promise<string> {
  const folder = await findMlmodelFolder(modelPath);
  if (!folder) {
    throw new OepError('OEP_ERR_FILE_NOT_FOUND', `Deployment ${deployment} has model.type mlflow_model, but there is no MLmodel file under ${modelPath}.`, {
      hint: 'Point model.path at the folder MLflow saved (the one with the MLmodel file).',
    });
  }
  let env: unknown;
  try {
    const mlmodel = parse(await readInputText(join(folder, 'MLmodel'), MAX_YAML_BYTES), { uniqueKeys: false, logLevel: 'error' }) as { flavors?: { python_function?: { env?: unknown } } } | null;
    env = mlmodel?.flavors?.python_function?.env;
  } catch (error) {
    throw new OepError('OEP_ERR_SPEC_INVALID', `The MLmodel file of deployment ${deployment} cannot be read: ${join(folder, 'MLmodel')} (${(error as Error).message}).`);
  }
  const named = typeof env === 'string' ? env : typeof env === 'object' && env !== null && typeof (env as { conda?: unknown }).conda === 'string' ? (env as { conda: string }).conda : 'conda.yaml';
  const file = join(folder, named);
  if (!(await isFile(file))) {
    throw new OepError('OEP_ERR_FILE_NOT_FOUND', `Deployment ${deployment} is an MLflow model without an environment, and its conda file ${file} does not exist, so oep has nothing to build its image from.`, {
      hint: 'Give the deployment an environment (environment.image, with a conda_file if needed) that has python3 and the model\'s packages.',
    });
  }
  return file;
}

async function findMlmodelFolder(root: string): Promise<string | undefined> {
  let level = [root];
  for (let depth = 0; depth <= SEARCH_DEPTH && level.length > 0; depth++) {
    for (const dir of level) if (await isFile(join(dir, 'MLmodel'))) return dir;
    const next: string[] = [];
    for (const dir of level) {
      const names = await readdir(dir).catch(() => [] as string[]);
      for (const name of names.sort()) {
        if (name.startsWith('.')) continue;
        const path = join(dir, name);
        if (await stat(path).then((info) => info.isDirectory(), () => false)) next.push(path);
      }
    }
    level = next;
  }
  return undefined;
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then((info) => info.isFile(), () => false);
}
