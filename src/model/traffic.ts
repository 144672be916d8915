import { OepError } from '../errors.js';

export type TrafficMap = Record<string, number>;

/**
 * Parses az's `--traffic "blue=90 green=10"` form: space-separated `name=int` pairs.
 * Commas are an error, as in az.
 */
export function parseTrafficArg(value: string, flag = '--traffic'): TrafficMap {
  const result: TrafficMap = {};
  const trimmed = value.trim();
  if (trimmed === '') {
    // An empty value (often an unset shell variable) must not silently take all traffic away.
    throw new OepError('OEP_ERR_TRAFFIC_INVALID', `${flag} is empty: give name=percent pairs.`, {
      hint: flag === '--traffic'
        ? 'e.g. --traffic "blue=90 green=10"; to take all live traffic away, give each deployment 0, e.g. --traffic "blue=0".'
        : 'e.g. --mirror-traffic "green=10"; to stop mirroring, --mirror-traffic "green=0".',
    });
  }
  for (const pair of trimmed.split(/\s+/)) {
    const match = /^([^=,\s]+)=(\d+)$/.exec(pair);
    if (!match) {
      const hint = pair.includes(',')
        ? `separate pairs with spaces, not commas: ${flag} "${value.replace(/,/g, ' ')}"`
        : /\s=|=\s/.test(trimmed)
          ? `write each pair without spaces around "=": ${flag} "${trimmed.replace(/\s*=\s*/g, '=')}"`
          : `write each pair as name=percent, e.g. ${flag} "blue=90 green=10"`;
      throw new OepError('OEP_ERR_TRAFFIC_INVALID', `${flag}: "${pair}" is not a name=integer pair.`, { hint });
    }
    const [, name, percent] = match;
    if (name! in result) {
      throw new OepError('OEP_ERR_TRAFFIC_INVALID', `${flag}: deployment "${name}" is named twice.`);
    }
    result[name!] = Number(percent);
  }
  return result;
}

/** Drops the zero entries, as Azure does before saving. */
export function dropZeroTraffic(traffic: TrafficMap): TrafficMap {
  return Object.fromEntries(Object.entries(traffic).filter(([, percent]) => percent !== 0));
}

/**
 * Checks the endpoint's traffic rules against the deployments that exist. Returns every problem
 * found (empty when the allocation is valid).
 */
export function checkTrafficRules(
  traffic: TrafficMap,
  mirror: TrafficMap,
  deployments: readonly string[],
  kubernetes = false,
  endpoint = '<endpoint>',
): string[] {
  const problems: string[] = [];
  const known = new Set(deployments);
  const list = deployments.length > 0 ? deployments.join(', ') : 'none yet';
  for (const [name, percent] of Object.entries(traffic)) {
    if (!Number.isInteger(percent) || percent < 0 || percent > 100) {
      problems.push(`traffic.${name}: ${percent} is not an integer percentage between 0 and 100.`);
    }
    if (percent > 0 && !known.has(name)) {
      problems.push(`traffic.${name}: the endpoint has no deployment "${name}" (deployments: ${list}).`);
    }
  }
  const sum = Object.values(traffic).reduce((total, percent) => total + percent, 0);
  if (sum !== 0 && sum !== 100) {
    problems.push(`traffic: the values add up to ${sum}; they must add up to 100 (or 0 for no traffic).`);
  }
  const mirrored = Object.entries(mirror).filter(([, percent]) => percent !== 0);
  if (kubernetes && mirrored.length > 0) {
    // As the schema says for the YAML key: mirroring is a managed-endpoint feature.
    return [...problems, 'mirror_traffic: only available on managed endpoints; this endpoint has compute set (kubernetes).'];
  }
  if (mirrored.length > 1) {
    problems.push(`mirror_traffic: only one deployment can receive mirrored traffic, got ${mirrored.length}.`);
  }
  for (const [name, percent] of mirrored) {
    if (!Number.isInteger(percent) || percent < 0 || percent > 50) {
      problems.push(`mirror_traffic.${name}: ${percent} must be an integer between 0 and 50.`);
    }
    if (!known.has(name)) {
      problems.push(`mirror_traffic.${name}: the endpoint has no deployment "${name}" (deployments: ${list}).`);
    }
    if ((traffic[name] ?? 0) > 0) {
      problems.push(
        `mirror_traffic.${name}: "${name}" has live traffic; a deployment gets live or mirrored traffic, never both. ` +
          `To give it live traffic, stop mirroring it first (oep traffic mirror -n ${endpoint} ${name}=0, or --mirror-traffic "${name}=0" in the same update).`,
      );
    }
  }
  return problems;
}

/**
 * Smooth weighted round-robin (nginx's algorithm): over any run of consecutive picks each
 * deployment's count stays within one of its share, so 90/10 gives exactly 9 and 1 in every 10.
 */
export class WeightedPicker {
  private readonly entries: { name: string; weight: number; current: number }[];
  private readonly total: number;

  constructor(weights: TrafficMap) {
    this.entries = Object.entries(weights)
      .filter(([, weight]) => weight > 0)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, weight]) => ({ name, weight, current: 0 }));
    this.total = this.entries.reduce((sum, entry) => sum + entry.weight, 0);
  }

  get isEmpty(): boolean {
    return this.entries.length === 0;
  }

  next(): string | undefined {
    let best: (typeof this.entries)[number] | undefined;
    for (const entry of this.entries) {
      entry.current += entry.weight;
      if (!best || entry.current > best.current) best = entry;
    }
    if (!best) return undefined;
    best.current -= this.total;
    return best.name;
  }
}

/**
 * Decides which unpinned requests are mirrored: exactly `percent` out of every 100, spread
 * evenly (an error-diffusion counter), so short windows already carry the right share.
 */
export class MirrorSampler {
  private accumulated = 0;

  constructor(private readonly percent: number) {}

  next(): boolean {
    this.accumulated += this.percent;
    if (this.accumulated >= 100) {
      this.accumulated -= 100;
      return true;
    }
    return false;
  }
}

/** What the concurrency limits are made of: a deployment's request_settings and its replica count. */
export interface ConcurrencySettings {
  maxConcurrentPerInstance: number;
  instanceCount: number;
}

/**
 * The two concurrency limits the router applies, both from max_concurrent_requests_per_instance
 * as the cloud applies it (each instance takes twice that before its queue is full):
 * - live requests a deployment takes in flight, those still waiting for a replica included,
 *   before it answers 429: 2 x max_concurrent_requests_per_instance x instance_count;
 * - mirrored copies one replica takes in flight before a further copy is dropped (recorded as
 *   429): that replica's share of the same limit, so a slow mirror never piles copies up.
 */
export function deploymentRequestLimit(settings: ConcurrencySettings): number {
  return 2 * settings.maxConcurrentPerInstance * settings.instanceCount;
}

/** See deploymentRequestLimit: the mirrored copies one replica of the mirror deployment takes at once. */
export function mirrorCopyLimit(settings: Pick<ConcurrencySettings, 'maxConcurrentPerInstance'>): number {
  return 2 * settings.maxConcurrentPerInstance;
}
