import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { checkOutputFlags, printData, withOutputOptions, type OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';

export interface ComputeListOptions extends OutputFlags {
  /** Only computes of this type. */
  type?: string;
}

/** Prints the recorded computes, by name. */
export async function runComputeList(ctx: CliContext, options: ComputeListOptions): Promise<void> {
  const { listComputeViews } = await import('../../../engine/computes.js');
  await printData(ctx, await listComputeViews(options.type, { home: ctx.home, cwd: ctx.cwd }), options, ['name', 'type', 'size', 'location', 'provisioning_state']);
}

export function computeListCommand(ctx: CliContext, run: RunCommand<ComputeListOptions> = runComputeList): Command {
  return withOutputOptions(
    new Command('list').description("List the computes of oep's local workspace.").option('-t, --type <type>', 'only computes of this type, e.g. amlcompute'),
  ).action(async (flags: ComputeListOptions) => {
    await checkOutputFlags(flags);
    await run(ctx, { type: flags.type, output: flags.output, query: flags.query });
  });
}
