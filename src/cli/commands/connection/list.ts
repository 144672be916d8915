import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { checkOutputFlags, printData, withOutputOptions, type OutputFlags } from '../../print.js';

interface Flags extends OutputFlags {
  type?: string;
}

export function connectionListCommand(ctx: CliContext): Command {
  return withOutputOptions(
    new Command('list')
      .description("List the connections of oep's local workspace (credentials masked).")
      .option('--type <type>', 'only connections of this type, e.g. custom_keys or azure_open_ai'),
  ).action(async (flags: Flags) => {
    await checkOutputFlags(flags);
    const { listConnectionViews } = await import('../../../engine/connections.js');
    await printData(ctx, await listConnectionViews(flags.type, { home: ctx.home, cwd: ctx.cwd }), flags, ['name', 'type', 'target']);
  });
}
