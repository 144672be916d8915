import { basename } from 'node:path';
import { isOepError } from '../errors.js';
import type { DeploymentSpec, InlineModel, ModelAssetSpec } from '../spec/types.js';
import { contentDigest } from './content-digest.js';
import { listVersions, nextVersion, registerModel, registryDir, type ModelRecord } from './store.js';

/**
 * A deployment's named inline model (`model: {name, version, path}`) as Azure treats it: the CLI
 * registers it as that model version before it creates the deployment, so `az ml model show -n
 * NAME -v 1` finds it afterwards. Registering again with the same files changes nothing; other
 * files under a version that exists are refused (Azure: "Asset paths cannot be updated"). A named
 * model without a version gets the newest version with the same files, or the next one. An
 * anonymous model (no name) is registered by Azure under a generated name that nothing can know in
 * advance; oep registers nothing for it (docs/behaviour.md "Ids and properties").
 *
 * The deployment keeps running the files at model.path (watch mode follows them); the registered
 * version is a snapshot of the same files, as `oep model create` makes one.
 */
export interface InlineModelPlan {
  /** The spec with the inline model's version settled (a named model without one gets the version it is registered as). */
  spec: DeploymentSpec;
  /** What to register once the daemon has the deployment; absent when the registry has it already. */
  register?: ModelAssetSpec;
  /** The version exists with other files: one sentence saying so (the caller refuses, or warns in watch mode). */
  conflict?: string;
  /** The version that is in the way, for the hint. */
  existing?: { name: string; version: string };
}

export async function planInlineModel(spec: DeploymentSpec, home: string): Promise<InlineModelPlan> {
  const model = spec.model;
  if (!isRegistrable(model, home)) return { spec };
  const entry = entryOf(model.path);
  const digest = await contentDigest(model.path);
  const versions = await listVersions<ModelRecord>(home, 'models', model.name);
  const holdsSameFiles = async (record: ModelRecord): Promise<boolean> => entryOf(record.path) === entry && (await contentDigest(record.path).catch(() => '')) === digest;

  if (model.version !== undefined) {
    const version = String(model.version);
    const existing = versions.find((record) => record.version === version);
    if (!existing) return { spec, register: assetSpecOf(model, version) };
    if (await holdsSameFiles(existing)) return { spec };
    return { spec, conflict: conflictSentence(model, existing, entry), existing: { name: model.name, version } };
  }
  for (const record of versions.filter((item) => !item.archived).reverse()) {
    if (await holdsSameFiles(record)) return { spec: withModelVersion(spec, model, record.version) };
  }
  const version = await nextVersion(home, 'models', model.name);
  return { spec: withModelVersion(spec, model, version), register: assetSpecOf(model, version) };
}

/**
 * Registers what the plan says. Another oep may have registered the same version in between: with
 * the same files that is the same outcome; with others, the sentence says so (nothing is changed).
 */
export async function registerPlannedModel(plan: InlineModelPlan, home: string): Promise<string | undefined> {
  if (!plan.register) return undefined;
  try {
    await registerModel(home, plan.register);
    return undefined;
  } catch (error) {
    if (!isOepError(error) || error.code !== 'OEP_ERR_ASSET_EXISTS') throw error;
    const again = await planInlineModel(plan.spec, home);
    return again.conflict;
  }
}

type NamedLocalModel = InlineModel & { name: string };

/** A named inline model with local files (remote paths are refused earlier; a resolved azureml: reference is already registered). */
function isRegistrable(model: DeploymentSpec['model'], home: string): model is NamedLocalModel {
  if (!model || typeof model !== 'object' || model.name === undefined) return false;
  if (/^[a-z][a-z0-9+.-]+:/i.test(model.path)) return false;
  return !model.path.startsWith(`${registryDir(home, 'models')}/`);
}

/** The last segment of a model path: the registered copy keeps it (files/<entry>), as Azure keeps it under AZUREML_MODEL_DIR. */
function entryOf(path: string): string {
  return basename(path.replace(/\/+$/, ''));
}

function assetSpecOf(model: NamedLocalModel, version: string): ModelAssetSpec {
  return {
    name: model.name,
    version,
    path: model.path,
    type: model.type ?? 'custom_model',
    ...(model.description !== undefined && { description: model.description }),
    ...(model.tags !== undefined && { tags: model.tags }),
    ...(model.properties !== undefined && { properties: model.properties }),
  };
}

function withModelVersion(spec: DeploymentSpec, model: NamedLocalModel, version: string): DeploymentSpec {
  return { ...spec, model: { ...model, version } };
}

function conflictSentence(model: NamedLocalModel, existing: ModelRecord, entry: string): string {
  const registered = entryOf(existing.path);
  const what = registered === entry ? `other files than model.path "${model.path}"` : `a path ending "${registered}", not "${entry}" (model.path "${model.path}")`;
  return `model ${model.name} version ${existing.version} is already registered with ${what}; a registered version cannot change.`;
}
