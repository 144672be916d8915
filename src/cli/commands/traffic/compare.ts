import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { checkOutputFlags, printData, withOutputOptions, type OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';

export interface TrafficCompareOptions extends OutputFlags {
  /** The endpoint. */
  name: string;
  /** As written, e.g. 10m; the engine checks since, tolerance and failUnder. */
  since?: string;
  tolerance?: string;
  failUnder?: string;
}

/** Prints the comparison (a table of the key figures with -o table), then fails when --fail-under is not met. */
export async function runTrafficCompare(ctx: CliContext, options: TrafficCompareOptions): Promise<void> {
  const { compareTraffic } = await import('../../../engine/compare.js');
  const { report, failure } = await compareTraffic({ name: options.name, since: options.since, tolerance: options.tolerance, failUnder: options.failUnder }, { client: ctx.client });
  if (options.output === 'table' && !options.query) {
    // A table of the key figures, then one of the differing paths: the nested report reads badly as one table.
    const figures = [
      ['pairs', report.pairs],
      ['agreement (above noise)', report.agreement.above_noise],
      ['agreement (within tolerance)', report.agreement.within_tolerance],
      ['agreement (exact)', report.agreement.exact],
      ['live latency p50/p95/p99 ms', `${report.latency_ms.live.p50}/${report.latency_ms.live.p95}/${report.latency_ms.live.p99}`],
      ['mirror latency p50/p95/p99 ms', `${report.latency_ms.mirror.p50}/${report.latency_ms.mirror.p95}/${report.latency_ms.mirror.p99}`],
      ['mirror errors', report.mirror.errors],
      ['mirror dropped', report.mirror.dropped],
      ['noise samples', report.noise.samples],
      ['status pairs', report.status_pairs.map((pair) => `${pair.live} vs ${pair.mirror}: ${pair.count}`).join(', ')],
    ].map(([measure, value]) => ({ Measure: measure, Value: value === null ? '-' : String(value) }));
    await printData(ctx, figures, options, ['Measure', 'Value']);
    if (report.differences.length > 0) {
      ctx.stdout.write('\n');
      const rows = report.differences.map((d) => ({ Path: d.path, Pairs: d.count, Rate: d.rate, NoiseRate: d.noise_rate ?? '-', AboveNoise: d.above_noise, Example: d.examples[0] ? `${JSON.stringify(d.examples[0].live)} vs ${JSON.stringify(d.examples[0].mirror)}` : '' }));
      await printData(ctx, rows, options, ['Path', 'Pairs', 'Rate', 'NoiseRate', 'AboveNoise', 'Example']);
    }
  } else {
    await printData(ctx, report, options);
  }
  if (failure) throw failure;
}

/** `oep traffic compare -n E`: how the mirror's answers compare with the live ones. */
export function trafficCompareCommand(ctx: CliContext, run: RunCommand<TrafficCompareOptions> = runTrafficCompare): Command {
  return withOutputOptions(
    new Command('compare')
      .description(
        "Compare the mirror deployment's answers with the live ones over the recorded mirrored requests: agreement, differing JSON paths, status pairs, latency, mirror errors. Exits 0 whatever it finds unless --fail-under is given.",
      )
      .requiredOption('-n, --name <name>', 'endpoint name')
      .option('--since <duration>', 'only pairs recorded in the last DURATION, e.g. 10m, 2h')
      .option('--tolerance <rel[,abs]>', 'numbers agree within REL relative (and ABS absolute) difference, e.g. 0.01 or 0.01,1e-6 (default 1e-6)')
      .option('--fail-under <rate>', 'exit 1 (OEP_ERR_AGREEMENT_BELOW) when agreement above noise is below RATE, e.g. 0.99 or 99% (for CI)'),
  ).action(async (flags: TrafficCompareOptions) => {
    await checkOutputFlags(flags);
    await run(ctx, { name: flags.name, since: flags.since, tolerance: flags.tolerance, failUnder: flags.failUnder, output: flags.output, query: flags.query });
  });
}
