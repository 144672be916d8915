import { OepError } from '../errors.js';
import { runLoadStep } from '../load/generator.js';
import { buildBenchmarkReport, type BenchmarkReport, type LoadMode, type MeasuredDeployment } from '../model/benchmark-report.js';
import type { LoadStep, StepProgress, StepResult } from '../model/load-step.js';
import type { SloCheck } from '../model/sizing.js';
import { newBenchmarkId, saveBenchmark } from '../registry/benchmarks.js';
import type { EngineDeps } from './deps.js';
import { scoringTarget } from './invoke.js';

export interface BenchmarkOptions {
  endpoint: string;
  deployment?: string;
  requestFile: string;
  mode: LoadMode;
  /** Requests per second (rate) or connections (concurrency), one step each, in order. */
  levels: number[];
  durationMs: number;
  warmupMs: number;
  kneeFactor: number;
  targetRps?: number;
  targetUtilization: number;
  slo?: { text: string; checks: SloCheck[] };
}

export interface BenchmarkHooks {
  /** Ctrl-C: the step under way stops at once and the report covers what was measured. */
  signal?: AbortSignal;
  onStep?: (index: number, count: number, level: number) => void;
  onProgress?: (progress: StepProgress) => void;
  onStepDone?: (step: StepResult) => void;
}

/**
 * `oep endpoint benchmark`: sends the request file to the endpoint (or one deployment) step by
 * step from this process's worker threads (src/load/: never in the daemon, whose event loop is
 * what is measured), then reads the steps as Azure's sizing guidance does (src/model/) and keeps
 * the report under OEP_HOME (src/registry/benchmarks.ts).
 */
export async function runBenchmark(options: BenchmarkOptions, deps: EngineDeps, hooks: BenchmarkHooks = {}): Promise<BenchmarkReport> {
  const target = await scoringTarget({ endpoint: options.endpoint, deployment: options.deployment, requestFile: options.requestFile }, deps);
  const deployments = await measuredDeployments(options, target.view.deployments, deps);
  const startedAt = new Date();
  const steps: StepResult[] = [];
  for (const [index, level] of options.levels.entries()) {
    if (hooks.signal?.aborted) break;
    hooks.onStep?.(index, options.levels.length, level);
    const step: LoadStep =
      options.mode === 'rate'
        ? { mode: 'rate', rate: level, durationMs: options.durationMs, warmupMs: options.warmupMs }
        : { mode: 'concurrency', concurrency: level, durationMs: options.durationMs, warmupMs: options.warmupMs };
    const result = await runLoadStep({ url: target.url, method: 'POST', headers: target.headers, body: target.body, ca: target.ca }, step, {
      signal: hooks.signal,
      onProgress: hooks.onProgress,
    });
    // A step stopped during its warm-up measured nothing worth keeping.
    if (result.completed > 0 || !hooks.signal?.aborted) steps.push(result);
    hooks.onStepDone?.(result);
  }
  const report = buildBenchmarkReport({
    id: await newBenchmarkId(deps.client.paths.home, options.endpoint, startedAt),
    endpoint: options.endpoint,
    deployment: options.deployment ?? null,
    startedAt,
    finishedAt: new Date(),
    mode: options.mode,
    durationMs: options.durationMs,
    warmupMs: options.warmupMs,
    requestFile: options.requestFile,
    interrupted: hooks.signal?.aborted === true,
    deployments,
    steps,
    kneeFactor: options.kneeFactor,
    targetRps: options.targetRps,
    targetUtilization: options.targetUtilization,
    slo: options.slo,
  });
  await saveBenchmark(deps.client.paths.home, report);
  return report;
}

/**
 * The deployments the load reaches, with the settings sizing reads: the one named, or those the
 * endpoint's traffic rules send live traffic to. Refused before any load when there is none.
 */
async function measuredDeployments(
  options: BenchmarkOptions,
  rows: ReadonlyArray<{ name: string; traffic: number }>,
  deps: EngineDeps,
): Promise<MeasuredDeployment[]> {
  const names = rows.map((row) => row.name);
  if (options.deployment !== undefined && !names.includes(options.deployment)) {
    throw new OepError('OEP_ERR_DEPLOYMENT_NOT_FOUND', `--deployment-name ${options.deployment}: endpoint ${options.endpoint} has no such deployment.`, {
      hint: names.length > 0 ? `Its deployments are ${names.join(', ')}.` : `Create one first: oep deployment create -f <deployment.yml> --all-traffic`,
    });
  }
  const chosen = options.deployment !== undefined ? rows.filter((row) => row.name === options.deployment) : rows.filter((row) => row.traffic > 0);
  if (chosen.length === 0) {
    throw new OepError('OEP_ERR_TRAFFIC_INVALID', `Endpoint ${options.endpoint} sends no live traffic to any deployment, so a benchmark would measure only 404s.`, {
      hint: `Give a deployment traffic (oep traffic set -n ${options.endpoint} <deployment>=100) or name one with --deployment-name.`,
    });
  }
  const measured: MeasuredDeployment[] = [];
  for (const row of chosen) {
    const spec = await deps.client.call('deployment.spec', { endpoint: options.endpoint, name: row.name });
    const workers = Number.parseInt(spec.environment_variables.WORKER_COUNT ?? '', 10);
    measured.push({
      name: row.name,
      traffic: options.deployment !== undefined ? 100 : row.traffic,
      instance_count: spec.instance_count,
      max_concurrent_requests_per_instance: spec.request_settings.max_concurrent_requests_per_instance,
      request_timeout_ms: spec.request_settings.request_timeout_ms,
      worker_count: Number.isFinite(workers) ? workers : null,
    });
  }
  return measured;
}
