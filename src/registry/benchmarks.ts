import { chmod, mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OepError } from '../errors.js';
import type { BenchmarkReport } from '../model/benchmark-report.js';
import { writeFileAtomic } from '../state/atomic-write.js';

/**
 * The reports of `oep endpoint benchmark`, kept so that `benchmark list|show` and the dashboard
 * can read them again: OEP_HOME/benchmarks/<id>.json (0600 in a 0700 folder). Ids are
 * `<endpoint>-<UTC time>` and sort in time order per endpoint.
 */
export function benchmarksDir(home: string): string {
  return join(home, 'benchmarks');
}

const BENCHMARK_ID = /^[A-Za-z0-9][A-Za-z0-9-]*-\d{8}T\d{6}Z(-\d+)?$/;

/** A new report's id: the endpoint and the start time, with a counter if that second is taken. */
export async function newBenchmarkId(home: string, endpoint: string, startedAt: Date): Promise<string> {
  const stamp = startedAt.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const taken = new Set(await ids(home));
  let id = `${endpoint}-${stamp}`;
  for (let n = 2; taken.has(id); n++) id = `${endpoint}-${stamp}-${n}`;
  return id;
}

export async function saveBenchmark(home: string, report: BenchmarkReport): Promise<void> {
  const dir = benchmarksDir(home);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  await writeFileAtomic(join(dir, `${report.id}.json`), `${JSON.stringify(report, null, 2)}\n`, 0o600);
}

/** One line per kept report, newest first: what `benchmark list` shows. */
export interface BenchmarkSummary {
  id: string;
  endpoint: string;
  deployment: string | null;
  started_at: string;
  mode: string;
  steps: number;
  knee_rps: number | null;
  recommended_instances: number | null;
  interrupted: boolean;
}

export async function listBenchmarks(home: string, endpoint?: string): Promise<BenchmarkSummary[]> {
  const reports: BenchmarkReport[] = [];
  for (const id of await ids(home)) {
    const report = await readReport(home, id);
    if (report && (endpoint === undefined || report.endpoint === endpoint)) reports.push(report);
  }
  reports.sort((a, b) => b.started_at.localeCompare(a.started_at));
  return reports.map((report) => ({
    id: report.id,
    endpoint: report.endpoint,
    deployment: report.deployment,
    started_at: report.started_at,
    mode: report.mode,
    steps: report.steps.length,
    knee_rps: report.knee?.achieved_rps ?? null,
    recommended_instances: report.recommendation?.instance_count ?? null,
    interrupted: report.interrupted,
  }));
}

/** The report with that id; OEP_ERR_NOT_FOUND (with the ids there are) otherwise. */
export async function requireBenchmark(home: string, id: string): Promise<BenchmarkReport> {
  const report = BENCHMARK_ID.test(id) ? await readReport(home, id) : undefined;
  if (report) return report;
  const known = await ids(home);
  throw new OepError('OEP_ERR_BENCHMARK_NOT_FOUND', `No benchmark report named ${id}.`, {
    hint: known.length > 0 ? `See the kept reports with: oep endpoint benchmark list (the latest is ${known.sort().at(-1)})` : 'Run one first: oep endpoint benchmark -n <endpoint> --request-file <file> --rate 5:40:5',
  });
}

/** The newest report of an endpoint (the dashboard draws it), or undefined. */
export async function latestBenchmark(home: string, endpoint: string): Promise<BenchmarkReport | undefined> {
  const [newest] = await listBenchmarks(home, endpoint);
  return newest ? readReport(home, newest.id) : undefined;
}

async function ids(home: string): Promise<string[]> {
  try {
    return (await readdir(benchmarksDir(home)))
      .filter((file) => file.endsWith('.json'))
      .map((file) => file.slice(0, -'.json'.length))
      .filter((id) => BENCHMARK_ID.test(id));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

async function readReport(home: string, id: string): Promise<BenchmarkReport | undefined> {
  try {
    return JSON.parse(await readFile(join(benchmarksDir(home), `${id}.json`), 'utf8')) as BenchmarkReport;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || error instanceof SyntaxError) return undefined;
    throw error;
  }
}
