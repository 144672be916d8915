import { cp, open, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { BatchInvokeParams } from '../daemon/api.js';
import type { DaemonCaller } from '../daemon/client.js';
import { OepError } from '../errors.js';
import { parseAssetReference } from '../registry/references.js';
import { requireVersion, type DataRecord } from '../registry/store.js';
import type { JobInput } from '../registry/jobs.js';
import type { RuntimeChoice } from '../model/runtime-kind.js';
import { parseJobOverrides } from '../model/job-overrides.js';

/**
 * The use cases of a batch endpoint's jobs: invoke (the input resolved to a local path first),
 * stream (a job's log until it ends) and download (its `score` output). show, list and cancel are
 * single daemon calls made by their commands.
 */

export interface BatchInvokeOptions {
  endpoint: string;
  deployment?: string;
  /** A local folder or file, or a registered data asset (azureml:<name>:<version>, azureml:<name>@latest). */
  input: string;
  inputType?: string;
  jobName?: string;
  experimentName?: string;
  miniBatchSize?: number;
  instanceCount?: number;
  runtime?: RuntimeChoice;
  set?: string[];
  outputPath?: string;
}

const INPUT_TYPES = ['uri_folder', 'uri_file'];

export async function invokeBatchEndpoint(options: BatchInvokeOptions, deps: { client: DaemonCaller; cwd: string }): Promise<unknown> {
  // Checked before anything is sent: a bad --set changes nothing.
  const overrides = parseJobOverrides(options.set ?? []);
  const input = await resolveInput(options.input, options.inputType, deps.cwd, deps.client.paths.home);
  const params: BatchInvokeParams = {
    endpoint: options.endpoint,
    input,
    ...(options.deployment !== undefined && { deployment: options.deployment }),
    ...(options.jobName !== undefined && { jobName: options.jobName }),
    ...(options.experimentName !== undefined && { experimentName: options.experimentName }),
    ...(options.miniBatchSize !== undefined && { miniBatchSize: options.miniBatchSize }),
    ...(options.instanceCount !== undefined && { instanceCount: options.instanceCount }),
    ...(options.runtime !== undefined && { runtime: options.runtime }),
    ...(Object.keys(overrides).length > 0 && { overrides }),
    ...(options.outputPath !== undefined && { outputPath: options.outputPath }),
  };
  return deps.client.call('batchEndpoint.invoke', params);
}

/**
 * --input as a local path: a registered data asset's snapshot, or a path relative to the working
 * folder. --input-type as az takes it (uri_folder or uri_file); without it, the asset's type, or
 * what the path is.
 */
export async function resolveInput(text: string, inputType: string | undefined, cwd: string, home: string): Promise<JobInput> {
  if (inputType !== undefined && !INPUT_TYPES.includes(inputType)) {
    throw new OepError('OEP_ERR_USAGE', `--input-type ${inputType} is not one oep runs locally: use uri_folder or uri_file.`, {
      hint: 'Literal inputs and pipeline-component inputs are not supported; give a folder (uri_folder) or one file (uri_file).',
    });
  }
  if (/^(https?|wasbs?|abfss?|adl):\/\//i.test(text) || text.startsWith('azureml://datastores/')) {
    throw new OepError('OEP_ERR_USAGE', `--input ${text} is in the cloud; oep runs jobs on local files only.`, {
      hint: 'Download the data once, then give --input the local folder, or register it: oep data create --name NAME --path ./data',
    });
  }
  if (text.startsWith('azureml:')) {
    const ref = parseAssetReference(text, 'data');
    if ('problem' in ref) throw new OepError('OEP_ERR_USAGE', `--input ${ref.problem}`);
    const record = await requireVersion<DataRecord>(home, ref);
    if (inputType !== undefined && inputType !== record.type) {
      throw new OepError('OEP_ERR_USAGE', `--input-type ${inputType} does not match data asset ${record.name}:${record.version}, a ${record.type}.`, { hint: 'Leave --input-type out for a data asset.' });
    }
    return { type: record.type, path: record.path, asset: `azureml:${record.name}:${record.version}` };
  }
  const path = isAbsolute(text) ? text : resolve(cwd, text);
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new OepError('OEP_ERR_FILE_NOT_FOUND', `--input ${text}: no such file or folder (${path}).`, {
      hint: 'Give a local folder (uri_folder) or file (uri_file), or a registered data asset: azureml:<name>:<version>.',
    });
  }
  const type = (inputType ?? (info.isDirectory() ? 'uri_folder' : 'uri_file')) as JobInput['type'];
  if (type === 'uri_folder' && !info.isDirectory()) throw new OepError('OEP_ERR_USAGE', `--input ${text} is a file, but --input-type is uri_folder.`, { hint: 'Use --input-type uri_file for one file.' });
  if (type === 'uri_file' && !info.isFile()) throw new OepError('OEP_ERR_USAGE', `--input ${text} is a folder, but --input-type is uri_file.`, { hint: 'Use --input-type uri_folder for a folder.' });
  return { type, path };
}

/** A job's view, as far as streaming and downloading need it. */
interface JobFacts {
  status: string;
  outputs: { score: { path: string } };
  batch: { log: string; error?: string; mini_batches: number; succeeded: number; failed: number };
}

const ENDED = ['Completed', 'Failed', 'Canceled'];
const POLL_MS = 200;

/**
 * Writes a job's log as it grows until the job has ended, then the rest of it; returns the job's
 * last view. `onProgress` gets the counts as they change (the CLI's progress bar).
 */
export async function streamJob(
  client: DaemonCaller,
  name: string,
  write: (text: string) => void,
  onProgress?: (facts: { done: number; total: number; failed: number }) => void,
  signal?: AbortSignal,
): Promise<Record<string, unknown>> {
  let offset = 0;
  for (;;) {
    const view = (await client.call('job.show', { name })) as unknown as Record<string, unknown> & JobFacts;
    offset = await writeFrom(view.batch.log, offset, write);
    onProgress?.({ done: view.batch.succeeded + view.batch.failed, total: view.batch.mini_batches, failed: view.batch.failed });
    if (ENDED.includes(view.status)) {
      await writeFrom(view.batch.log, offset, write);
      return view;
    }
    if (signal?.aborted) return view;
    await new Promise((done) => setTimeout(done, POLL_MS));
  }
}

async function writeFrom(file: string, offset: number, write: (text: string) => void): Promise<number> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch {
    return offset;
  }
  try {
    const { size } = await handle.stat();
    if (size <= offset) return offset;
    const buffer = Buffer.alloc(size - offset);
    await handle.read(buffer, 0, buffer.length, offset);
    // Whole lines only: the rest comes with the next read.
    const end = buffer.lastIndexOf(0x0a) + 1;
    if (end > 0) write(buffer.subarray(0, end).toString('utf8'));
    return offset + end;
  } finally {
    await handle.close();
  }
}

/**
 * `job download --output-name score --download-path DIR`: the output folder copied to
 * DIR/named-outputs/score/, where az puts a named output.
 */
export async function downloadJob(client: DaemonCaller, name: string, outputName: string, downloadPath: string): Promise<string> {
  const view = (await client.call('job.show', { name })) as unknown as JobFacts & { outputs: Record<string, { path: string } | undefined> };
  const output = view.outputs[outputName];
  if (!output) {
    throw new OepError('OEP_ERR_USAGE', `Job ${name} has no output named ${outputName}.`, { hint: `Its outputs: ${Object.keys(view.outputs).join(', ')} (e.g. --output-name score).` });
  }
  const target = join(downloadPath, 'named-outputs', outputName);
  await cp(output.path, target, { recursive: true, force: true });
  return target;
}
