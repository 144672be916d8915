import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { setOption } from '../../options.js';
import { checkOutputFlags, printData, withOutputOptions, type OutputFlags } from '../../print.js';

interface Flags extends OutputFlags {
  name: string;
  file?: string;
  set: string[];
}

export function connectionUpdateCommand(ctx: CliContext): Command {
  return withOutputOptions(
    new Command('update')
      .description(
        'Change a connection, e.g. rotate its key: oep connection update -n NAME --set credentials.key=NEW (or -f FILE). ' +
          'Deployments get the new values at their next oep deployment update.',
      )
      .requiredOption('-n, --name <name>', 'connection name')
      .option('-f, --file <file>', 'connection YAML to replace it with')
      .addOption(setOption('changes a key, e.g. credentials.keys.OPENAI_API_KEY=...')),
  ).action(async (flags: Flags) => {
    await checkOutputFlags(flags);
    const { updateConnection } = await import('../../../engine/connections.js');
    await printData(ctx, await updateConnection({ name: flags.name, file: flags.file, set: flags.set }, { home: ctx.home, cwd: ctx.cwd }), flags);
  });
}
