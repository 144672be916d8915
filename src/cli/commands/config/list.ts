import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { checkOutputFlags, printData, withOutputOptions, type OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';

export type ConfigListOptions = OutputFlags;

/** Prints every setting and its value. */
export async function runConfigList(ctx: CliContext, options: ConfigListOptions): Promise<void> {
  const { openSettings } = await import('../../../state/settings.js');
  const settings = await openSettings(ctx.env);
  await printData(ctx, settings.all(), options);
}

export function configListCommand(ctx: CliContext, run: RunCommand<ConfigListOptions> = runConfigList): Command {
  return withOutputOptions(new Command('list').description('Show every setting and its value.')).action(async (flags: OutputFlags) => {
    await checkOutputFlags(flags);
    await run(ctx, { output: flags.output, query: flags.query });
  });
}
