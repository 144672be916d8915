import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { checkOutputFlags, printData, withOutputOptions, type OutputFlags } from '../../print.js';

export function configListCommand(ctx: CliContext): Command {
  return withOutputOptions(new Command('list').description('Show every setting and its value.')).action(async (flags: OutputFlags) => {
    await checkOutputFlags(flags);
    const { openSettings } = await import('../../../state/settings.js');
    const settings = await openSettings(ctx.env);
    await printData(ctx, settings.all(), flags);
  });
}
