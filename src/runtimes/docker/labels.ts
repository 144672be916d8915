import { createHash } from 'node:crypto';

/**
 * The labels every oep container carries. Labels are the truth about what runs: the daemon
 * finds, adopts and removes its containers by them, never by name.
 */
export const LABELS = {
  endpoint: 'oep.endpoint',
  deployment: 'oep.deployment',
  replica: 'oep.replica',
  generation: 'oep.generation',
  configHash: 'oep.config-hash',
  version: 'oep.version',
  /** A hash of OEP_HOME, so several homes on one engine never touch each other's containers. */
  home: 'oep.home',
  /** The OEP_HOME itself, so people (and leak checks) can tell whose container it is. */
  homePath: 'oep.home-path',
  /**
   * A container made ahead of a start (spare-container.ts), with the launch key it stands in for.
   * It carries no replica, generation or config hash: it is nobody's replica until a start takes
   * it, and then a record says which (labels cannot change).
   */
  spare: 'oep.spare',
} as const;

/**
 * A batch job's worker containers (src/runtimes/docker/batch-worker.ts) carry these instead of
 * the endpoint and deployment labels: a batch endpoint may share its name with an online one,
 * whose replicas are found and removed by those labels.
 */
export const BATCH_LABELS = {
  job: 'oep.batch-job',
  endpoint: 'oep.batch-endpoint',
  deployment: 'oep.batch-deployment',
  worker: 'oep.batch-worker',
} as const;

/** Images oep built carry this label (value: the recipe hash in their tag). */
export const IMAGE_LABEL = 'oep.image';

/**
 * Set (from OEP_TEST_RUN) on every container and image made while oep's test suite runs, so the
 * suite's clean-up removes only what this run created, never another run's on a shared engine.
 */
export const TEST_RUN_LABEL = 'oep.test-run';

/** `{ 'oep.test-run': id }` when OEP_TEST_RUN is set, else nothing: outside tests it adds no label. */
export function testRunLabels(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const run = env.OEP_TEST_RUN;
  return run ? { [TEST_RUN_LABEL]: run } : {};
}

export function homeLabel(home: string): string {
  return createHash('sha256').update(home).digest('hex').slice(0, 16);
}

/** Docker label filters for the containers of one home, optionally narrowed. */
export function labelFilters(home: string, narrow: { endpoint?: string; deployment?: string; replica?: number } = {}): string[] {
  const filters = [`${LABELS.home}=${homeLabel(home)}`];
  if (narrow.endpoint !== undefined) filters.push(`${LABELS.endpoint}=${narrow.endpoint}`);
  if (narrow.deployment !== undefined) filters.push(`${LABELS.deployment}=${narrow.deployment}`);
  if (narrow.replica !== undefined) filters.push(`${LABELS.replica}=${narrow.replica}`);
  return filters;
}
