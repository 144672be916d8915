import { Command, Option } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { canAnimate } from '../../context.js';
import { OepError } from '../../../errors.js';
import type { BenchmarkOptions } from '../../../engine/benchmark.js';
import type { BenchmarkReport } from '../../../model/benchmark-report.js';
import { checkOutputFlags, printData, type OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';

const FORMATS = ['table', 'json', 'yaml', 'csv', 'none'] as const;
type BenchmarkFormat = (typeof FORMATS)[number];

interface RunFlags {
  name: string;
  deploymentName?: string;
  requestFile: string;
  rate?: string;
  concurrency?: string;
  duration: string;
  warmup: string;
  targetRps?: string;
  targetUtilization: string;
  kneeFactor: string;
  slo?: string;
  output: string;
}

/** The options the command passes on, after its own checks: nothing is sent before they hold. */
export interface EndpointBenchmarkOptions {
  benchmark: BenchmarkOptions;
  format: BenchmarkFormat;
}

/**
 * `oep endpoint benchmark`: `run` (the default: `oep endpoint benchmark -n E ...` runs a sweep),
 * `list` and `show ID` (the kept reports).
 */
export function endpointBenchmarkCommand(ctx: CliContext): Command {
  return new Command('benchmark')
    .description(
      "Measure the endpoint (or one deployment) under load, step by step, and say what to set: the knee, where Azure's 429 rule starts, and instance_count from Azure's formula for --target-rps. `oep endpoint benchmark -n E ...` runs a sweep (benchmark run); list and show read kept reports.",
    )
    .addCommand(endpointBenchmarkRunCommand(ctx), { isDefault: true })
    .addCommand(endpointBenchmarkListCommand(ctx))
    .addCommand(endpointBenchmarkShowCommand(ctx));
}

/**
 * `oep endpoint benchmark [run]`: a rate sweep (open model, latency from the intended send time)
 * or a concurrency sweep (closed model) against the endpoint, the knee, Azure's 429 rule and the
 * instance_count Azure's formula gives.
 */
export function endpointBenchmarkRunCommand(ctx: CliContext, run: RunCommand<EndpointBenchmarkOptions> = runEndpointBenchmark): Command {
  return withBenchmarkOutput(
    new Command('run')
      .description('Run a load sweep against the endpoint and print (and keep) the report: the steps, the knee, throttling, the recommended instance_count.')
      .requiredOption('-n, --name <name>', 'endpoint name')
      .option('-d, --deployment-name <name>', 'measure this deployment only (azureml-model-deployment header)')
      .requiredOption('-r, --request-file <file>', 'request body sent by every request (JSON file)')
      .option('--rate <from:to[:step]>', 'open-model sweep in requests per second, e.g. 5:40:5 (requests leave on schedule whatever the answers do)')
      .option('--concurrency <from:to[:step]>', 'closed-model sweep in connections, e.g. 1:16 (1, 2, 4, 8, 16) or 1:8:1')
      .option('--duration <time>', 'measured time per step, e.g. 10s', '10s')
      .option('--warmup <time>', 'time per step sent but not measured, e.g. 2s', '2s')
      .option('--target-rps <n>', 'requests per second to size for: adds a recommended instance_count')
      .option('--target-utilization <fraction>', "Azure's target utilization in the instance formula", '0.7')
      .option('--knee-factor <x>', "the knee is the highest step whose p99 is within X times the lowest step's", '2')
      .option('--slo <checks>', "exit 1 (OEP_ERR_SLO_BREACHED) when a step breaks these, e.g. 'p99<200ms,errors<1%' (for CI)"),
  ).action(async (flags: RunFlags) => run(ctx, await benchmarkOptions(flags)));
}

function withBenchmarkOutput(command: Command): Command {
  return command.addOption(new Option('-o, --output <format>', 'output format: table, json, yaml, csv (the steps) or none').default('table'));
}

/** The flags as typed options, every check made before any load is sent. */
async function benchmarkOptions(flags: RunFlags): Promise<EndpointBenchmarkOptions> {
  const { parseSweep, parseSlo } = await import('../../../model/sizing.js');
  const { parseDuration } = await import('../../../model/compare.js');
  const format = outputFormat(flags.output);
  if ((flags.rate === undefined) === (flags.concurrency === undefined)) {
    throw usage('Give one sweep: --rate FROM:TO[:STEP] (requests per second) or --concurrency FROM:TO[:STEP] (connections).', 'e.g. --rate 5:40:5');
  }
  const mode = flags.rate !== undefined ? 'rate' : 'concurrency';
  const levels = parseSweep((flags.rate ?? flags.concurrency)!, { flag: `--${mode}`, integers: mode === 'concurrency' });
  const durationMs = positiveDuration('--duration', flags.duration);
  const warmupMs = flags.warmup.trim() === '0' ? 0 : positiveDuration('--warmup', flags.warmup);
  const targetUtilization = Number(flags.targetUtilization);
  if (!(targetUtilization > 0 && targetUtilization <= 1)) throw usage(`--target-utilization ${flags.targetUtilization}: give a fraction above 0 and at most 1.`, 'e.g. --target-utilization 0.7 (Azure\'s default)');
  const kneeFactor = Number(flags.kneeFactor);
  if (!(kneeFactor > 1)) throw usage(`--knee-factor ${flags.kneeFactor}: give a number above 1.`, 'e.g. --knee-factor 2');
  let targetRps: number | undefined;
  if (flags.targetRps !== undefined) {
    targetRps = Number(flags.targetRps);
    if (!(targetRps > 0)) throw usage(`--target-rps ${flags.targetRps}: give a number of requests per second above 0.`, 'e.g. --target-rps 30');
  }
  const slo = flags.slo === undefined ? undefined : { text: flags.slo, checks: parseSlo(flags.slo) };
  return {
    format,
    benchmark: {
      endpoint: flags.name,
      deployment: flags.deploymentName,
      requestFile: flags.requestFile,
      mode,
      levels,
      durationMs,
      warmupMs,
      kneeFactor,
      targetRps,
      targetUtilization,
      slo,
    },
  };

  function positiveDuration(flag: string, text: string): number {
    const ms = parseDuration(text);
    if (ms === undefined || ms <= 0) throw usage(`${flag} ${text}: give a time such as 10s, 500ms or 1m.`, `e.g. ${flag} 10s`);
    return ms;
  }
}

/** Runs the sweep with a progress line on stderr, prints the report, keeps it; Ctrl-C prints the steps done. */
export async function runEndpointBenchmark(ctx: CliContext, options: EndpointBenchmarkOptions): Promise<void> {
  const { runBenchmark } = await import('../../../engine/benchmark.js');
  ctx.claimInterrupt();
  const progress = await startBenchmarkProgress(ctx, options);
  let report: BenchmarkReport;
  try {
    report = await runBenchmark(options.benchmark, { client: ctx.client, cwd: ctx.cwd }, { signal: ctx.interrupt, ...progress.hooks });
  } finally {
    progress.stop();
  }
  await printReport(ctx, report, options.format);
  if (report.slo && report.slo.breaches.length > 0) {
    throw new OepError('OEP_ERR_SLO_BREACHED', `The benchmark broke --slo ${report.slo.text}: ${report.slo.breaches.join('; ')}.`, {
      hint: `The report is kept: oep endpoint benchmark show ${report.id}`,
    });
  }
}

async function printReport(ctx: CliContext, report: BenchmarkReport, format: BenchmarkFormat): Promise<void> {
  const { benchmarkChart, benchmarkSummary, stepRows, stepsCsv, STEP_COLUMNS } = await import('../../benchmark-render.js');
  switch (format) {
    case 'table':
      await printData(ctx, stepRows(report), { output: 'table' }, [...STEP_COLUMNS]);
      ctx.stdout.write(`\n${benchmarkSummary(report)}`);
      {
        const chart = benchmarkChart(report);
        if (chart) ctx.stdout.write(`\n${chart}`);
      }
      return;
    case 'csv':
      ctx.stdout.write(stepsCsv(report));
      return;
    case 'none':
      return;
    default:
      await printData(ctx, report, { output: format });
  }
}

interface BenchmarkProgress {
  hooks: Pick<import('../../../engine/benchmark.js').BenchmarkHooks, 'onStep' | 'onProgress'>;
  stop(): void;
}

/**
 * "step 3 of 8: 15 req/s offered, 14.9 achieved, 0 errors" on stderr, redrawn in place on a
 * terminal; nothing under -o json (or yaml, csv) or without a terminal, so scripts see only data.
 */
async function startBenchmarkProgress(ctx: CliContext, options: EndpointBenchmarkOptions): Promise<BenchmarkProgress> {
  if (options.format !== 'table' || !canAnimate(ctx.stderr, ctx.env)) return { hooks: {}, stop: () => undefined };
  const { default: ora } = await import('ora');
  const spinner = ora({ text: 'starting', stream: process.stderr, discardStdin: false }).start();
  const unit = options.benchmark.mode === 'rate' ? 'req/s offered' : 'connections';
  let head = '';
  return {
    hooks: {
      onStep: (index, count, level) => {
        head = `step ${index + 1} of ${count}: ${level} ${unit}`;
        spinner.text = head;
      },
      onProgress: (progress) => {
        spinner.text = `${head}, ${progress.currentRps.toFixed(1)} req/s answered, ${progress.errors} errors`;
      },
    },
    stop: () => spinner.stop(),
  };
}

function outputFormat(text: string): BenchmarkFormat {
  const lower = text.toLowerCase();
  const found = FORMATS.find((format) => format === lower);
  if (!found) throw usage(`argument --output/-o: invalid choice: '${text}' (choose from ${FORMATS.map((f) => `'${f}'`).join(', ')})`, `Use one of: ${FORMATS.join(', ')}.`);
  return found;
}

function usage(message: string, hint: string): OepError {
  return new OepError('OEP_ERR_USAGE', message, { hint });
}

export interface EndpointBenchmarkListOptions {
  endpoint?: string;
  output: OutputFlags;
}

/** `oep endpoint benchmark list [-n E]`: the kept reports, newest first. */
export function endpointBenchmarkListCommand(ctx: CliContext, run: RunCommand<EndpointBenchmarkListOptions> = runEndpointBenchmarkList): Command {
  return new Command('list')
    .description('List kept benchmark reports, newest first.')
    .option('-n, --name <name>', 'only this endpoint')
    .addOption(new Option('-o, --output <format>', 'output format: json, yaml, table, tsv or none').default('table'))
    .option('--query <jmespath>', 'JMESPath query applied to the output')
    .action(async (flags: { name?: string; output: string; query?: string }) => {
      const output = { output: flags.output, query: flags.query };
      await checkOutputFlags(output);
      await run(ctx, { endpoint: flags.name, output });
    });
}

export async function runEndpointBenchmarkList(ctx: CliContext, options: EndpointBenchmarkListOptions): Promise<void> {
  const { listBenchmarks } = await import('../../../registry/benchmarks.js');
  await printData(ctx, await listBenchmarks(ctx.home, options.endpoint), options.output, ['id', 'endpoint', 'deployment', 'mode', 'steps', 'knee_rps', 'recommended_instances', 'interrupted']);
}

export interface EndpointBenchmarkShowOptions {
  id: string;
  format: BenchmarkFormat;
}

/** `oep endpoint benchmark show ID`: a kept report, as the run printed it. */
export function endpointBenchmarkShowCommand(ctx: CliContext, run: RunCommand<EndpointBenchmarkShowOptions> = runEndpointBenchmarkShow): Command {
  return withBenchmarkOutput(new Command('show').description('Show a kept benchmark report (ids: oep endpoint benchmark list).').argument('<id>', 'report id')).action(
    async (id: string, flags: { output: string }) => run(ctx, { id, format: outputFormat(flags.output) }),
  );
}

export async function runEndpointBenchmarkShow(ctx: CliContext, options: EndpointBenchmarkShowOptions): Promise<void> {
  const { requireBenchmark } = await import('../../../registry/benchmarks.js');
  await printReport(ctx, await requireBenchmark(ctx.home, options.id), options.format);
}
