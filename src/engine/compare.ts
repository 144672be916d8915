import type { TrafficCompareResult } from '../daemon/api.js';
import { OepError } from '../errors.js';
import { parseDuration, parseTolerance } from '../model/compare.js';
import type { EngineDeps } from './deps.js';

export interface CompareTrafficOptions {
  name: string;
  /** e.g. 10m; only pairs recorded since then. */
  since?: string;
  /** REL[,ABS], e.g. 0.01 or 0.01,1e-6. */
  tolerance?: string;
  /** A rate from 0 to 1 (or a percentage such as 95%): below it, the comparison fails. */
  failUnder?: string;
}

export interface CompareTrafficResult {
  report: TrafficCompareResult;
  /** Set when --fail-under was given and agreement is below it: the CLI prints the report, then fails. */
  failure?: OepError;
}

/** `oep traffic compare`: checks the flags (exit 2 before anything is asked), then asks the daemon. */
export async function compareTraffic(options: CompareTrafficOptions, deps: Pick<EngineDeps, 'client'>): Promise<CompareTrafficResult> {
  const sinceMs = options.since === undefined ? undefined : parseDuration(options.since);
  if (options.since !== undefined && sinceMs === undefined) {
    throw new OepError('OEP_ERR_USAGE', `--since "${options.since}" is not a duration.`, { hint: 'Use e.g. 90s, 10m, 2h or 1d.' });
  }
  const tolerance = options.tolerance === undefined ? undefined : parseTolerance(options.tolerance);
  if (options.tolerance !== undefined && tolerance === undefined) {
    throw new OepError('OEP_ERR_USAGE', `--tolerance "${options.tolerance}" is not REL[,ABS].`, { hint: 'e.g. --tolerance 0.01 (1% relative) or --tolerance 0.01,1e-6 (and an absolute margin).' });
  }
  const failUnder = options.failUnder === undefined ? undefined : parseRate(options.failUnder);
  if (options.failUnder !== undefined && failUnder === undefined) {
    throw new OepError('OEP_ERR_USAGE', `--fail-under "${options.failUnder}" is not a rate.`, { hint: 'Use a number from 0 to 1 (0.99) or a percentage (99%).' });
  }
  const report = await deps.client.call('traffic.compare', { name: options.name, ...(sinceMs !== undefined && { sinceMs }), ...(tolerance && { tolerance }) });
  const agreement = report.agreement.above_noise;
  if (failUnder === undefined || (agreement !== null && agreement >= failUnder)) return { report };
  const measured = agreement === null ? 'no pairs were recorded' : `agreement is ${formatRate(agreement)}`;
  return {
    report,
    failure: new OepError('OEP_ERR_AGREEMENT_BELOW', `The mirror of endpoint ${options.name} falls short of --fail-under ${formatRate(failUnder)}: ${measured} over ${report.pairs} pair(s).`, {
      hint: report.pairs === 0 ? `Mirror some traffic first: oep traffic mirror -n ${options.name} <deployment>=<percent>` : 'See the differences and status_pairs above.',
    }),
  };
}

function parseRate(text: string): number | undefined {
  const percent = text.trim().endsWith('%');
  const value = Number(percent ? text.trim().slice(0, -1) : text);
  if (text.trim() === '' || !Number.isFinite(value)) return undefined;
  const rate = percent ? value / 100 : value;
  return rate >= 0 && rate <= 1 ? rate : undefined;
}

function formatRate(rate: number): string {
  return `${Math.round(rate * 10000) / 100}%`;
}
