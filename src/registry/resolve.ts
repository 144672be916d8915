import type { DeploymentSpec, InlineEnvironment, InlineModel } from '../spec/types.js';
import { curatedImage } from './curated.js';
import { parseAssetReference, type AssetReference } from './references.js';
import { findVersion, notFoundMessage, registerHint, type EnvironmentRecord, type ModelRecord } from './store.js';

/** What a deployment (online, or batch: src/engine/batch.ts) names of the registry. */
export interface AssetHolder {
  model?: string | InlineModel;
  environment?: string | InlineEnvironment;
}

export interface ResolvedDeployment<T extends AssetHolder = DeploymentSpec> {
  /** The deployment with its azureml: references replaced by what they name (inline assets). */
  spec: T;
  /** What cannot run here: create refuses with these, validate warns. One sentence and what to do. */
  problems: string[];
  /** What runs, but not quite as written (an AzureML-* name oep does not know): warnings everywhere. */
  warnings: string[];
}

/**
 * Resolves a deployment's registered model and environment against oep's local registry, and a
 * curated environment to the image Microsoft publishes for it, before the spec reaches the daemon.
 */
export async function resolveDeploymentAssets<T extends AssetHolder>(spec: T, home: string): Promise<ResolvedDeployment<T>> {
  const problems: string[] = [];
  const warnings: string[] = [];
  const resolved: AssetHolder = { ...spec };

  if (typeof spec.model === 'string') {
    const ref = parseAssetReference(spec.model, 'models');
    if ('problem' in ref) problems.push(`model: ${ref.problem}`);
    else {
      const record = await findVersion<ModelRecord>(home, ref);
      if (record) resolved.model = inlineModel(record);
      else problems.push(`model: "${spec.model}": ${await notFoundMessage(home, ref)} ${registerHint(ref)}.`);
    }
  } else if (spec.model && /^azureml:\/\/|^https?:\/\//.test(spec.model.path)) {
    problems.push(`model.path: "${spec.model.path}" is in Azure storage, which oep cannot download. Download the files and give their local path, or register them with oep model create.`);
  }

  if (typeof spec.environment === 'string') {
    const ref = parseAssetReference(spec.environment, 'environments');
    if ('problem' in ref) problems.push(`environment: ${ref.problem}`);
    else {
      const curated = curatedImage(ref);
      const record = curated ? undefined : await findVersion<EnvironmentRecord>(home, ref);
      if (curated) {
        resolved.environment = { image: curated.image };
        if (!curated.known) {
          warnings.push(`environment: "${spec.environment}" is not a curated environment oep knows; it runs ${curated.image} (Microsoft's naming for curated images).`);
        }
      } else if (record) {
        resolved.environment = inlineEnvironment(record);
      } else {
        problems.push(`environment: "${spec.environment}": ${await notFoundMessage(home, ref)} ${registerHint(ref as AssetReference)}.`);
      }
    }
  }
  return { spec: resolved as T, problems, warnings };
}

/** A registered model as the inline form the runtimes know: AZUREML_MODEL_DIR is .../NAME/VERSION. */
function inlineModel(record: ModelRecord): InlineModel {
  return { name: record.name, version: record.version, path: record.path, type: record.type };
}

function inlineEnvironment(record: EnvironmentRecord): InlineEnvironment {
  const environment: InlineEnvironment = { name: record.name, version: record.version };
  if (record.image !== undefined) environment.image = record.image;
  if (record.conda_file !== undefined) environment.conda_file = record.conda_file;
  if (record.build !== undefined) environment.build = record.build;
  if (record.inference_config !== undefined) environment.inference_config = record.inference_config;
  if (record.os_type !== undefined) environment.os_type = record.os_type;
  return environment;
}
