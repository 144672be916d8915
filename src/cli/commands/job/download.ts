import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import type { RunCommand } from '../../run-command.js';

export interface JobDownloadOptions {
  name: string;
  outputName: string;
  downloadPath: string;
}

/** Copies the job's named output to DOWNLOAD_PATH/named-outputs/NAME/, as az does; says where on stderr. */
export async function runJobDownload(ctx: CliContext, options: JobDownloadOptions): Promise<void> {
  const { downloadJob } = await import('../../../engine/batch-jobs.js');
  const { resolve } = await import('node:path');
  const target = await downloadJob(ctx.client, options.name, options.outputName, resolve(ctx.cwd, options.downloadPath));
  ctx.stderr.write(`Downloaded output ${options.outputName} of job ${options.name} to ${target}\n`);
}

export function jobDownloadCommand(ctx: CliContext, run: RunCommand<JobDownloadOptions> = runJobDownload): Command {
  return new Command('download')
    .description("Download a batch job's output (score: the output file).")
    .requiredOption('-n, --name <name>', 'job name')
    .option('--output-name <name>', 'the named output', 'score')
    .option('-p, --download-path <path>', 'folder to download to', '.')
    .action(async (flags: JobDownloadOptions) => {
      await run(ctx, { name: flags.name, outputName: flags.outputName, downloadPath: flags.downloadPath });
    });
}
