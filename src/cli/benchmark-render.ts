import { plot } from 'asciichart';
import type { BenchmarkReport, ReportStep } from '../model/benchmark-report.js';

/** The columns of a benchmark's steps, in the order the table and the CSV show them. */
export const STEP_COLUMNS = ['offered', 'achieved_rps', 'p50_ms', 'p90_ms', 'p99_ms', 'max_ms', 's200', 's408', 's424', 's429', 'other_4xx', 'other_5xx', 'client_errors', 'max_in_flight'] as const;

export type StepRow = Record<(typeof STEP_COLUMNS)[number], number>;

/** One row per step: offered load, achieved rate, latency percentiles, answers by status, in-flight maximum. */
export function stepRows(report: BenchmarkReport): StepRow[] {
  return report.steps.map((step) => ({
    offered: step.offered,
    achieved_rps: round(step.achievedRps, 1),
    p50_ms: round(step.latencyMs.p50, 1),
    p90_ms: round(step.latencyMs.p90, 1),
    p99_ms: round(step.latencyMs.p99, 1),
    max_ms: round(step.latencyMs.max, 1),
    s200: step.counts.ok,
    s408: step.counts.s408,
    s424: step.counts.s424,
    s429: step.counts.s429,
    other_4xx: step.counts.other4xx,
    other_5xx: step.counts.other5xx,
    client_errors: step.counts.clientErrors,
    max_in_flight: step.maxInFlight,
  }));
}

/** RFC 4180 CSV of the steps, with a header line (numbers need no quoting). */
export function stepsCsv(report: BenchmarkReport): string {
  const lines = [STEP_COLUMNS.join(',')];
  for (const row of stepRows(report)) lines.push(STEP_COLUMNS.map((column) => String(row[column])).join(','));
  return `${lines.join('\n')}\n`;
}

/** What the numbers mean for the YAML: the knee, throttling against Azure's limit, the recommendation, warnings. */
export function benchmarkSummary(report: BenchmarkReport): string {
  const unit = report.mode === 'rate' ? 'req/s offered' : 'connections';
  const lines: string[] = [`report ${report.id} (oep endpoint benchmark show ${report.id})`];
  lines.push(
    report.knee
      ? `knee: ${report.knee.offered} ${unit}: ${report.knee.achieved_rps.toFixed(1)} req/s achieved, p99 ${report.knee.p99_ms.toFixed(1)} ms (p99 within ${report.knee_factor}x the lowest step's, no 429)`
      : `knee: none (already the lowest step's p99 rose, or it got 429)`,
  );
  if (report.in_flight_limit !== null) {
    lines.push(
      report.throttling
        ? `429 from ${report.throttling.offered} ${unit} (${report.throttling.s429} answers, up to ${report.throttling.max_in_flight} in flight); Azure's limit: ${report.in_flight_limit} in flight (2 x max_concurrent_requests_per_instance x instance_count)`
        : `no 429 in any step; Azure's limit: ${report.in_flight_limit} in flight (2 x max_concurrent_requests_per_instance x instance_count)`,
    );
  }
  const advice = report.recommendation;
  if (advice) {
    lines.push(
      `recommended for ${advice.target_rps} req/s at ${Math.round(advice.target_utilization * 100)}% utilization: instance_count: ${advice.instance_count} for ${advice.deployment} ` +
        `(ceil(${advice.target_rps} x ${advice.latency_s.toFixed(3)} s / ${advice.target_utilization} / ${advice.max_concurrent_requests_per_instance}), Azure's formula with the measured p99)`,
    );
  } else {
    lines.push('add --target-rps N for a recommended instance_count (Azure\'s formula with the measured p99)');
  }
  if (report.slo) {
    lines.push(report.slo.breaches.length === 0 ? `slo ${report.slo.text}: met` : `slo ${report.slo.text}: broken`);
    for (const breach of report.slo.breaches) lines.push(`  ${breach}`);
  }
  for (const warning of report.warnings) lines.push(`warning: ${warning}`);
  return `${lines.join('\n')}\n`;
}

/**
 * Throughput and p99 by step, drawn in the terminal (asciichart). Two charts: their scales differ,
 * and the knee shows where the first flattens and the second rises.
 */
export function benchmarkChart(report: BenchmarkReport): string {
  const steps = report.steps.filter((step) => step.completed > 0);
  if (steps.length < 2) return '';
  const levels = steps.map((step) => step.offered).join(' ');
  const xLabel = report.mode === 'rate' ? 'offered req/s' : 'connections';
  return [
    `achieved req/s by step (${xLabel}: ${levels})`,
    chart(steps, (step) => step.achievedRps),
    `p99 ms by step (${xLabel}: ${levels})`,
    chart(steps, (step) => step.latencyMs.p99),
    '',
  ].join('\n');
}

function chart(steps: readonly ReportStep[], value: (step: ReportStep) => number): string {
  // asciichart draws one column per value: three per step keeps the line readable.
  const series = steps.flatMap((step) => [value(step), value(step), value(step)]);
  return plot(series, { height: 8, format: (x) => x.toFixed(1).padStart(9) });
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
