import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { checkOutputFlags, printData, withOutputOptions, type OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';

export interface ComputeShowOptions extends OutputFlags {
  name: string;
}

/** Prints the recorded compute as az ml compute show does. */
export async function runComputeShow(ctx: CliContext, options: ComputeShowOptions): Promise<void> {
  const { showCompute } = await import('../../../engine/computes.js');
  await printData(ctx, await showCompute(options.name, { home: ctx.home, cwd: ctx.cwd }), options);
}

export function computeShowCommand(ctx: CliContext, run: RunCommand<ComputeShowOptions> = runComputeShow): Command {
  return withOutputOptions(new Command('show').description('Show a compute (its recorded settings; provisioning_state Succeeded).').requiredOption('-n, --name <name>', 'compute name')).action(
    async (flags: ComputeShowOptions) => {
      await checkOutputFlags(flags);
      await run(ctx, { name: flags.name, output: flags.output, query: flags.query });
    },
  );
}
