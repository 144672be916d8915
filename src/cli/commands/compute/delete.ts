import { Command } from '../../commander.js';
import { confirmOrRefuse } from '../../confirm.js';
import type { CliContext } from '../../context.js';
import { immediateNoWaitOption } from '../../options.js';
import type { RunCommand } from '../../run-command.js';

export interface ComputeDeleteOptions {
  name: string;
  /** --yes: do not ask. */
  yes: boolean;
}

/** Deletes the record once it is known to exist and the user has agreed. Jobs are not affected: they never ran on it. */
export async function runComputeDelete(ctx: CliContext, options: ComputeDeleteOptions): Promise<void> {
  const { showCompute, removeCompute } = await import('../../../engine/computes.js');
  const deps = { home: ctx.home, cwd: ctx.cwd };
  // Fails with "does not exist" before asking anything.
  await showCompute(options.name, deps);
  await confirmOrRefuse(ctx, options.yes, `Delete compute ${options.name}?`);
  await removeCompute(options.name, deps);
}

export function computeDeleteCommand(ctx: CliContext, run: RunCommand<ComputeDeleteOptions> = runComputeDelete): Command {
  return new Command('delete')
    .description("Delete a compute from oep's local workspace (its record; nothing runs on it).")
    .requiredOption('-n, --name <name>', 'compute name')
    .option('-y, --yes', 'do not ask for confirmation', false)
    .addOption(immediateNoWaitOption())
    .action(async (flags: ComputeDeleteOptions) => {
      await run(ctx, { name: flags.name, yes: flags.yes });
    });
}
