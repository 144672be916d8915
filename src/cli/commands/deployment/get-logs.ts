import { Command, Option } from '../../commander.js';
import { OepError } from '../../../errors.js';
import type { CliContext } from '../../context.js';
import type { RunCommand } from '../../run-command.js';

interface Flags {
  name: string;
  endpointName: string;
  lines: string;
  follow: boolean;
  container: string;
  replica: string;
}

export interface DeploymentGetLogsOptions {
  name: string;
  endpointName: string;
  /** How many lines from the end: a positive integer (checked before run). */
  lines: number;
  follow: boolean;
  container: string;
  replica: number;
}

/** Prints the log, and with --follow keeps printing until Ctrl-C. */
export async function runDeploymentGetLogs(ctx: CliContext, options: DeploymentGetLogsOptions): Promise<void> {
  const params = {
    endpoint: options.endpointName,
    name: options.name,
    lines: options.lines,
    follow: options.follow,
    container: options.container,
    replica: options.replica,
  };
  if (options.follow) ctx.claimInterrupt();
  const text = await ctx.client.call('deployment.logs', params, {
    onLog: (chunk) => ctx.stdout.write(chunk),
    signal: options.follow ? ctx.interrupt : undefined,
  }).catch((error: unknown) => {
    // Ctrl-C ends --follow: that is how the user stops it, not a failure.
    if (options.follow && ctx.interrupt.aborted) return null;
    throw error;
  });
  if (text) ctx.stdout.write(text);
}

export function deploymentGetLogsCommand(ctx: CliContext, run: RunCommand<DeploymentGetLogsOptions> = runDeploymentGetLogs): Command {
  return new Command('get-logs')
    .description("Print a deployment's log (the scoring server's stdout and stderr).")
    .requiredOption('-n, --name <name>', 'deployment name')
    .requiredOption('-e, --endpoint-name <name>', 'endpoint name')
    .option('-l, --lines <n>', 'how many lines from the end', '5000')
    .option('--follow', 'keep printing new lines until Ctrl-C', false)
    .option('--replica <n>', 'which replica (instance) to read', '0')
    .addOption(new Option('--container <name>', 'which log').choices(['inference-server', 'storage-initializer']).default('inference-server'))
    .action(async (flags: Flags) => {
      const lines = Number(flags.lines);
      if (!Number.isInteger(lines) || lines < 1) {
        throw new OepError('OEP_ERR_USAGE', `--lines must be a positive integer, not "${flags.lines}".`);
      }
      await run(ctx, {
        name: flags.name,
        endpointName: flags.endpointName,
        lines,
        follow: flags.follow,
        container: flags.container,
        replica: Number(flags.replica),
      });
    });
}
