import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { OepError } from '../errors.js';
import { LOCAL_WORKSPACE, workspaceResourceId } from '../model/arm-id.js';
import type { ComputeSpec } from '../spec/compute.js';
import { writeFileAtomic } from '../state/atomic-write.js';

/**
 * oep's local workspace computes, the `az ml compute` of one machine:
 * OEP_HOME/registry/computes/<name>.json. A compute means nothing locally (every job runs on this
 * machine); it is recorded so that scripts creating, showing and deleting one run unchanged, and
 * `show` answers as Azure would.
 */
export interface ComputeRecord extends ComputeSpec {
  created_on: string;
}

/** A name that can be a file here; the spec layer's rules (schemas/compute.schema.json) are stricter. */
const SAFE_NAME = /^[A-Za-z][A-Za-z0-9-]{0,63}$/;

export function computesDir(home: string): string {
  return join(home, 'registry', 'computes');
}

function computeFile(home: string, name: string): string {
  return join(computesDir(home), `${name}.json`);
}

/** The compute's ARM-shaped id in oep's local workspace: the workspace's id, then `/computes/<name>`. */
export function computeResourceId(name: string): string {
  return `${workspaceResourceId()}/computes/${name}`;
}

/**
 * Creates or replaces a compute, as `az ml compute create` does (create_or_update): written whole
 * (atomic rename); a replaced compute keeps its creation time.
 */
export async function saveCompute(home: string, spec: ComputeSpec, now = new Date()): Promise<{ record: ComputeRecord; replaced: boolean }> {
  const existing = await findCompute(home, spec.name);
  const record: ComputeRecord = { ...spec, created_on: existing?.created_on ?? now.toISOString() };
  await mkdir(computesDir(home), { recursive: true, mode: 0o700 });
  await writeFileAtomic(computeFile(home, spec.name), `${JSON.stringify(record, null, 2)}\n`, 0o600);
  return { record, replaced: existing !== undefined };
}

/** One compute, or undefined; names are matched exactly, as files. */
export async function findCompute(home: string, name: string): Promise<ComputeRecord | undefined> {
  if (!SAFE_NAME.test(name)) return undefined;
  let text: string;
  try {
    text = await readFile(computeFile(home, name), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new OepError('OEP_ERR_INTERNAL', `The compute file of ${name} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`, {
      hint: `Check ${computeFile(home, name)}: it belongs to you and is readable.`,
    });
  }
  try {
    return JSON.parse(text) as ComputeRecord;
  } catch {
    throw new OepError('OEP_ERR_INTERNAL', `The compute file of ${name} is damaged (not JSON).`, {
      hint: `Create the compute again: oep compute create -n ${name} (it replaces ${computeFile(home, name)}).`,
    });
  }
}

export async function requireCompute(home: string, name: string): Promise<ComputeRecord> {
  const found = await findCompute(home, name);
  if (found) return found;
  const known = await listComputeNames(home);
  throw new OepError('OEP_ERR_COMPUTE_NOT_FOUND', `Compute ${name} does not exist in oep's local workspace${known.length > 0 ? ` (its computes: ${known.join(', ')})` : ''}.`, {
    hint: `Create it with: oep compute create -n ${name} --type amlcompute (jobs run on this machine whatever it says)`,
  });
}

export async function listComputeNames(home: string): Promise<string[]> {
  const entries = await readdir(computesDir(home)).catch(() => [] as string[]);
  return entries
    .filter((entry) => entry.endsWith('.json') && !entry.includes('.tmp'))
    .map((entry) => entry.slice(0, -'.json'.length))
    .filter((name) => SAFE_NAME.test(name))
    .sort();
}

export async function listComputes(home: string): Promise<ComputeRecord[]> {
  const records: ComputeRecord[] = [];
  for (const name of await listComputeNames(home)) {
    const record = await findCompute(home, name);
    if (record) records.push(record);
  }
  return records;
}

export async function deleteCompute(home: string, name: string): Promise<ComputeRecord> {
  const record = await requireCompute(home, name);
  await rm(computeFile(home, name), { force: true });
  return record;
}

/**
 * What `show`, `list` and `create` print: `az ml compute show`'s shape (azure-ai-ml's compute
 * schemas), in the local workspace: location `local`, provisioning_state Succeeded (nothing is
 * ever provisioned), a compute instance Running.
 */
export function computeView(record: ComputeRecord): Record<string, unknown> {
  const view: Record<string, unknown> = {
    id: computeResourceId(record.name),
    name: record.name,
    type: record.type,
    location: 'local',
    resourceGroup: LOCAL_WORKSPACE.resourceGroup,
    size: record.size,
    provisioning_state: 'Succeeded',
    created_on: record.created_on,
    tags: record.tags,
    ...(record.description !== undefined && { description: record.description }),
  };
  if (record.type === 'amlcompute') {
    view.min_instances = record.min_instances;
    view.max_instances = record.max_instances;
    view.idle_time_before_scale_down = record.idle_time_before_scale_down;
    view.tier = record.tier;
  } else {
    view.state = 'Running';
  }
  return view;
}
