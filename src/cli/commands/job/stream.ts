import { Command } from '../../commander.js';
import { canAnimate, type CliContext } from '../../context.js';
import { OepError } from '../../../errors.js';
import type { RunCommand } from '../../run-command.js';

export interface JobStreamOptions {
  name: string;
}

/** The bar's width in characters. */
const BAR = 30;

/**
 * Writes the job's log to stdout as it grows until the job ends (the job itself carries on if
 * the command is stopped). On a terminal, a progress bar of the mini-batches on stderr. A job
 * that ends Failed or Canceled makes the command fail, as az's does.
 */
export async function runJobStream(ctx: CliContext, options: JobStreamOptions): Promise<void> {
  const { streamJob } = await import('../../../engine/batch-jobs.js');
  const bar = canAnimate(ctx.stderr, ctx.env) ? await progressBar() : undefined;
  let view: Record<string, unknown>;
  try {
    view = await streamJob(
      ctx.client,
      options.name,
      (text) => {
        bar?.clear();
        ctx.stdout.write(text);
        bar?.render();
      },
      bar ? (facts) => bar.update(facts) : undefined,
      ctx.interrupt,
    );
  } finally {
    bar?.stop();
  }
  const status = String(view.status);
  if (status === 'Failed' || status === 'Canceled') {
    const batch = view.batch as { error?: string };
    throw new OepError('OEP_ERR_JOB_FAILED', `Job ${options.name} ended ${status}${batch.error ? `: ${batch.error}` : '.'}`, {
      hint: `The workers' logs: oep job show -n ${options.name} --query batch.log -o tsv (the same folder has worker-<n>.log).`,
    });
  }
}

async function progressBar() {
  const { default: ora } = await import('ora');
  // discardStdin would put the terminal in raw mode, so Ctrl-C would no longer send SIGINT.
  const spinner = ora({ text: 'mini-batches: waiting', stream: process.stderr, discardStdin: false }).start();
  return {
    update({ done, total, failed }: { done: number; total: number; failed: number }) {
      const filled = total > 0 ? Math.round((done / total) * BAR) : 0;
      spinner.text = `mini-batches [${'#'.repeat(filled)}${'.'.repeat(BAR - filled)}] ${done}/${total}${failed > 0 ? ` (${failed} failed)` : ''}`;
      spinner.render();
    },
    clear: () => spinner.clear(),
    render: () => spinner.render(),
    // The last state stays on the terminal: how many mini-batches ended, how many failed.
    stop: () => spinner.stopAndPersist({ symbol: ' ' }),
  };
}

export function jobStreamCommand(ctx: CliContext, run: RunCommand<JobStreamOptions> = runJobStream): Command {
  return new Command('stream')
    .description("Follow a batch job's log until the job ends (a progress bar on a terminal).")
    .requiredOption('-n, --name <name>', 'job name')
    .action(async (flags: JobStreamOptions) => {
      await run(ctx, { name: flags.name });
    });
}
