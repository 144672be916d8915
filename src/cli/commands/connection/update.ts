import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { setOption } from '../../options.js';
import { checkOutputFlags, printData, withOutputOptions, type OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';

export interface ConnectionUpdateOptions extends OutputFlags {
  name: string;
  file?: string;
  set: string[];
}

/** Changes the connection and prints it. */
export async function runConnectionUpdate(ctx: CliContext, options: ConnectionUpdateOptions): Promise<void> {
  const { updateConnection } = await import('../../../engine/connections.js');
  await printData(ctx, await updateConnection({ name: options.name, file: options.file, set: options.set }, { home: ctx.home, cwd: ctx.cwd }), options);
}

export function connectionUpdateCommand(ctx: CliContext, run: RunCommand<ConnectionUpdateOptions> = runConnectionUpdate): Command {
  return withOutputOptions(
    new Command('update')
      .description(
        'Change a connection, e.g. rotate its key: oep connection update -n NAME --set credentials.key=NEW (or -f FILE). ' +
          'Deployments get the new values at their next oep deployment update.',
      )
      .requiredOption('-n, --name <name>', 'connection name')
      .option('-f, --file <file>', 'connection YAML to replace it with')
      .addOption(setOption('changes a key, e.g. credentials.keys.OPENAI_API_KEY=...')),
  ).action(async (flags: ConnectionUpdateOptions) => {
    await checkOutputFlags(flags);
    await run(ctx, { name: flags.name, file: flags.file, set: flags.set, output: flags.output, query: flags.query });
  });
}
