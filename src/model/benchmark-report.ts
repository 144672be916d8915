import type { LoadStep, StepResult } from './load-step.js';
import { azureCapacity, checkSlo, findKnee, firstThrottledStep, recommendInstances, type SloBreach, type SloCheck } from './sizing.js';

export type LoadMode = LoadStep['mode'];

/** What sizing needs of a deployment that the benchmark measured (from its spec). */
export interface MeasuredDeployment {
  name: string;
  /** The share of the endpoint's live traffic it gets (100 when the benchmark names it). */
  traffic: number;
  instance_count: number;
  max_concurrent_requests_per_instance: number;
  request_timeout_ms: number;
  /** WORKER_COUNT from its environment_variables; null when not set (the server's default, 1). */
  worker_count: number | null;
}

/** A step as kept and shown: the generator's result without its histogram. */
export type ReportStep = Omit<StepResult, 'histogram'>;

export interface BenchmarkReport {
  id: string;
  endpoint: string;
  /** --deployment-name, or null when the endpoint's traffic rules chose. */
  deployment: string | null;
  started_at: string;
  finished_at: string;
  mode: LoadMode;
  duration_s: number;
  warmup_s: number;
  request_file: string;
  /** Ctrl-C stopped the sweep: the steps are those done (the last one may be partial). */
  interrupted: boolean;
  deployments: MeasuredDeployment[];
  steps: ReportStep[];
  /** The highest load whose p99 stays within knee_factor x the lowest step's, without 429. */
  knee: { offered: number; achieved_rps: number; p99_ms: number } | null;
  knee_factor: number;
  /** The first step that got 429, set against Azure's limit on requests in flight. */
  throttling: { offered: number; s429: number; max_in_flight: number; in_flight_limit: number } | null;
  /** Azure's rule for the deployment sized: 2 x max_concurrent_requests_per_instance x instance_count. */
  in_flight_limit: number | null;
  recommendation: Recommendation | null;
  warnings: string[];
  slo: { text: string; breaches: string[] } | null;
}

export interface Recommendation {
  deployment: string;
  target_rps: number;
  target_utilization: number;
  /** The request latency the formula uses: the knee step's p99 (or the lowest step's without a knee). */
  latency_s: number;
  max_concurrent_requests_per_instance: number;
  instance_count: number;
}

export interface ReportInput {
  id: string;
  endpoint: string;
  deployment: string | null;
  startedAt: Date;
  finishedAt: Date;
  mode: LoadMode;
  durationMs: number;
  warmupMs: number;
  requestFile: string;
  interrupted: boolean;
  deployments: MeasuredDeployment[];
  steps: StepResult[];
  kneeFactor: number;
  targetRps?: number;
  targetUtilization: number;
  slo?: { text: string; checks: SloCheck[] };
}

/**
 * The report of a sweep: the knee, where throttling began against Azure's limit, the instance
 * count Azure's formula gives for the target, and what in the deployment's settings disagrees with
 * what was measured. Pure: the engine measures, this reads the numbers.
 */
export function buildBenchmarkReport(input: ReportInput): BenchmarkReport {
  const steps = input.steps.map(withoutHistogram);
  const sized = sizedDeployment(input.deployments);
  const inFlightLimit = sized ? azureCapacity(sized.max_concurrent_requests_per_instance, sized.instance_count) : null;
  const kneeStep = findKnee(input.steps, input.kneeFactor);
  const knee = kneeStep ? { offered: kneeStep.offered, achieved_rps: kneeStep.achievedRps, p99_ms: kneeStep.latencyMs.p99 } : null;
  const throttled = firstThrottledStep(input.steps);
  const throttling =
    throttled && inFlightLimit !== null
      ? { offered: throttled.offered, s429: throttled.counts.s429, max_in_flight: throttled.maxInFlight, in_flight_limit: inFlightLimit }
      : null;
  const latencyStep = kneeStep ?? lowestStep(input.steps);
  const recommendation =
    sized && input.targetRps !== undefined && latencyStep
      ? {
          deployment: sized.name,
          target_rps: input.targetRps,
          target_utilization: input.targetUtilization,
          latency_s: latencyStep.latencyMs.p99 / 1000,
          max_concurrent_requests_per_instance: sized.max_concurrent_requests_per_instance,
          instance_count: recommendInstances({
            targetRps: input.targetRps,
            latencySeconds: latencyStep.latencyMs.p99 / 1000,
            utilization: input.targetUtilization,
            mcr: sized.max_concurrent_requests_per_instance,
          }),
        }
      : null;
  return {
    id: input.id,
    endpoint: input.endpoint,
    deployment: input.deployment,
    started_at: input.startedAt.toISOString(),
    finished_at: input.finishedAt.toISOString(),
    mode: input.mode,
    duration_s: input.durationMs / 1000,
    warmup_s: input.warmupMs / 1000,
    request_file: input.requestFile,
    interrupted: input.interrupted,
    deployments: input.deployments,
    steps,
    knee,
    knee_factor: input.kneeFactor,
    throttling,
    in_flight_limit: inFlightLimit,
    recommendation,
    warnings: warningsFor(input, latencyStep),
    slo: input.slo ? { text: input.slo.text, breaches: checkSlo(input.steps, input.slo.checks).map(describeBreach) } : null,
  };
}

/**
 * The deployment the limit and the formula are about: the one the benchmark named, or the one
 * that takes the most of the endpoint's traffic (a warning says so when several share it).
 */
function sizedDeployment(deployments: readonly MeasuredDeployment[]): MeasuredDeployment | undefined {
  return [...deployments].sort((a, b) => b.traffic - a.traffic)[0];
}

function lowestStep(steps: readonly StepResult[]): StepResult | undefined {
  return [...steps].filter((step) => step.completed > 0).sort((a, b) => a.offered - b.offered)[0];
}

function withoutHistogram(step: StepResult): ReportStep {
  const { histogram: _histogram, ...rest } = step;
  return rest;
}

/** Settings that the measurement says are wrong, one sentence each with what to set. */
function warningsFor(input: ReportInput, latencyStep: StepResult | undefined): string[] {
  const warnings: string[] = [];
  const live = input.deployments.filter((deployment) => deployment.traffic > 0);
  if (input.deployment === null && live.length > 1) {
    const shares = live.map((deployment) => `${deployment.name}=${deployment.traffic}`).join(' ');
    warnings.push(`The endpoint's traffic is shared (${shares}); the limit and the recommendation are for ${sizedDeployment(live)!.name}. Size one deployment with --deployment-name.`);
  }
  for (const deployment of input.deployments) {
    const mcr = deployment.max_concurrent_requests_per_instance;
    const workers = deployment.worker_count ?? 1;
    if (mcr > 1 && workers !== mcr) {
      warnings.push(
        `${deployment.name}: request_settings.max_concurrent_requests_per_instance is ${mcr} but WORKER_COUNT is ${deployment.worker_count ?? 'not set (1 worker)'}: ` +
          `requests wait for a worker inside the replica. Set environment_variables.WORKER_COUNT: "${mcr}" (Azure's guidance).`,
      );
    }
    if (latencyStep && deployment.request_timeout_ms < latencyStep.latencyMs.p99) {
      warnings.push(
        `${deployment.name}: request_settings.request_timeout_ms is ${deployment.request_timeout_ms} but the measured p99 is ${Math.round(latencyStep.latencyMs.p99)} ms: ` +
          'slow requests will get 408. Raise request_timeout_ms above the p99 or make run() faster.',
      );
    }
  }
  const late = input.steps.reduce((sum, step) => sum + step.lateSends, 0);
  if (late > 0) {
    warnings.push(`The load generator sent ${late} request(s) late (this machine was short of CPU): the highest rates are less reliable.`);
  }
  if (input.interrupted) warnings.push('Interrupted: the report covers the steps done.');
  return warnings;
}

/** "p99<200ms broken at 30 req/s: 412.3 ms" */
function describeBreach(breach: SloBreach): string {
  const where = breach.offered === undefined ? '' : ` at step ${breach.offered}`;
  const metric = breach.check.metric;
  const actual = metric === 'errors' ? `${(breach.actual * 100).toFixed(2)}%` : metric === 'rps' ? `${breach.actual.toFixed(1)} req/s` : `${breach.actual.toFixed(1)} ms`;
  return `${breach.check.text} broken${where}: ${actual}`;
}
