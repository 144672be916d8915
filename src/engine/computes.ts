import { OepError } from '../errors.js';
import { computeView, deleteCompute, listComputes, requireCompute, saveCompute } from '../registry/computes.js';
import { loadComputeSpec, validateComputeObject, type ComputeFlag } from '../spec/compute.js';
import { unwrapSpec } from '../spec/index.js';

/** The use cases of `oep compute ...` (records under OEP_HOME; no daemon needed). */
export interface ComputeDeps {
  home: string;
  cwd: string;
}

export interface CreateComputeOptions {
  file?: string;
  flags: ComputeFlag[];
  set: string[];
}

/** `compute create`: creates or replaces the record (az ml compute create is a create-or-update). */
export async function createCompute(options: CreateComputeOptions, deps: ComputeDeps): Promise<Record<string, unknown>> {
  if (options.file === undefined && !options.flags.some((flag) => flag.key === 'name')) {
    throw new OepError('OEP_ERR_USAGE', 'oep compute create needs -n/--name (or -f FILE with a name).', {
      hint: 'e.g. oep compute create -n batch-cluster --type amlcompute --min-instances 0 --max-instances 5',
    });
  }
  const spec = unwrapSpec(await loadComputeSpec({ file: options.file, cwd: deps.cwd, flags: options.flags, set: options.set }));
  const { record } = await saveCompute(deps.home, spec);
  return computeView(record);
}

export interface UpdateComputeOptions {
  name: string;
  flags: ComputeFlag[];
  set: string[];
}

/** `compute update -n NAME --max-instances 8` (or `--set ...`): the stored compute with the changes, validated again. */
export async function updateCompute(options: UpdateComputeOptions, deps: ComputeDeps): Promise<Record<string, unknown>> {
  const current = await requireCompute(deps.home, options.name);
  const { created_on: _created, ...stored } = current;
  const spec = unwrapSpec(validateComputeObject(stored, `compute ${options.name}`, options.flags, options.set));
  if (spec.name !== current.name || spec.type !== current.type) {
    throw new OepError('OEP_ERR_USAGE', `--set: a compute keeps its name and type (${current.name}, ${current.type}); create another one instead.`);
  }
  const { record } = await saveCompute(deps.home, spec);
  return computeView(record);
}

export async function showCompute(name: string, deps: ComputeDeps): Promise<Record<string, unknown>> {
  return computeView(await requireCompute(deps.home, name));
}

export async function listComputeViews(type: string | undefined, deps: ComputeDeps): Promise<Record<string, unknown>[]> {
  const records = await listComputes(deps.home);
  return records.filter((record) => type === undefined || record.type === type.toLowerCase()).map(computeView);
}

export async function removeCompute(name: string, deps: ComputeDeps): Promise<void> {
  await deleteCompute(deps.home, name);
}
