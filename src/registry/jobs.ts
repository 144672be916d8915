import { chmod, mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OepError } from '../errors.js';
import { writeFileAtomic } from '../state/atomic-write.js';

/**
 * Batch jobs as the daemon keeps them: OEP_HOME/jobs/<name>/ holds job.json (the record, 0600),
 * logs/ (the runner's job.log and one log per worker) and outputs/score/ (the output file), the
 * folders 0700. The daemon is the only writer; the record is rewritten whole (atomically) on
 * every change of status and, while the job runs, as mini-batches end.
 */

export type JobStatus = 'Queued' | 'Running' | 'Completed' | 'Failed' | 'Canceled';

export const ENDED_STATUSES: readonly JobStatus[] = ['Completed', 'Failed', 'Canceled'];

export interface JobCounts {
  mini_batches: number;
  succeeded: number;
  failed: number;
  running: number;
  waiting: number;
  succeeded_items: number;
  failed_items: number;
}

export interface JobInput {
  type: 'uri_folder' | 'uri_file';
  /** The local path the files were read from. */
  path: string;
  /** `azureml:<name>:<version>` when the input was a registered data asset. */
  asset?: string;
}

export interface JobSettings {
  mini_batch_size: number;
  max_retries: number;
  timeout: number;
  error_threshold: number;
  output_action: 'append_row' | 'summary_only';
  output_file_name: string;
  instance_count: number;
  max_concurrency_per_instance: number;
  logging_level: string;
}

export interface BatchJobRecord {
  name: string;
  endpoint: string;
  deployment: string;
  /** The runtime the workers run on. */
  runtime: string;
  status: JobStatus;
  /** --experiment-name (Azure's default: the endpoint's name). */
  experiment_name?: string;
  created_at: string;
  started_at?: string;
  ended_at?: string;
  input: JobInput;
  settings: JobSettings;
  /** --output-path as the invoke gave it (the output itself is under the job's folder). */
  output_path?: string;
  counts: JobCounts;
  /** Why it failed (or what canceled it). */
  error?: string;
}

export function jobsDir(home: string): string {
  return join(home, 'jobs');
}

export function jobDir(home: string, name: string): string {
  return join(jobsDir(home), name);
}

export function jobLogDir(home: string, name: string): string {
  return join(jobDir(home, name), 'logs');
}

/** The runner's own log: what `oep job stream` shows. */
export function jobLogFile(home: string, name: string): string {
  return join(jobLogDir(home, name), 'job.log');
}

/** A named output's folder (batch jobs have one, `score`), as `job download --output-name` takes it. */
export function jobOutputDir(home: string, name: string, output = 'score'): string {
  return join(jobDir(home, name), 'outputs', output);
}

/** Azure's job names: lower-case letters, digits, `-` and `_`, starting with a letter or digit. */
export const JOB_NAME = /^[a-z0-9][a-z0-9_-]{0,254}$/;

/** Makes a new job's folders and writes its first record; refuses a name in use. */
export async function createJob(home: string, record: BatchJobRecord): Promise<void> {
  await ensurePrivateDir(jobsDir(home));
  try {
    await mkdir(jobDir(home, record.name), { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new OepError('OEP_ERR_USAGE', `A job named "${record.name}" exists already.`, { hint: 'Give --job-name another name, or leave it out for a new one.' });
    }
    throw error;
  }
  await ensurePrivateDir(jobLogDir(home, record.name));
  await ensurePrivateDir(join(jobDir(home, record.name), 'outputs'));
  await ensurePrivateDir(jobOutputDir(home, record.name));
  await saveJob(home, record);
}

export async function saveJob(home: string, record: BatchJobRecord): Promise<void> {
  await writeFileAtomic(join(jobDir(home, record.name), 'job.json'), `${JSON.stringify(record, null, 2)}\n`, 0o600);
}

/** A job's record, or undefined when no job has that name. */
export async function readJob(home: string, name: string): Promise<BatchJobRecord | undefined> {
  if (!JOB_NAME.test(name)) return undefined;
  try {
    return JSON.parse(await readFile(join(jobDir(home, name), 'job.json'), 'utf8')) as BatchJobRecord;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Every job's record, newest first. */
export async function listJobs(home: string): Promise<BatchJobRecord[]> {
  let names: string[];
  try {
    names = await readdir(jobsDir(home));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const records: BatchJobRecord[] = [];
  for (const name of names) {
    const record = await readJob(home, name);
    if (record) records.push(record);
  }
  return records.sort((a, b) => b.created_at.localeCompare(a.created_at) || a.name.localeCompare(b.name));
}

async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}
