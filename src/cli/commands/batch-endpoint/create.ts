import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { immediateNoWaitOption, setOption } from '../../options.js';
import { checkOutputFlags, printData, withOutputOptions, type OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';

interface Flags extends OutputFlags {
  file?: string;
  name?: string;
  set: string[];
}

export interface BatchEndpointCreateOptions extends OutputFlags {
  file?: string;
  name?: string;
  set: string[];
}

/** Creates the batch endpoint and prints it. */
export async function runBatchEndpointCreate(ctx: CliContext, options: BatchEndpointCreateOptions): Promise<void> {
  const { createBatchEndpoint } = await import('../../../engine/batch.js');
  const result = await createBatchEndpoint({ file: options.file, name: options.name, set: options.set }, {
    client: ctx.client,
    cwd: ctx.cwd,
    onEvent: (event) => void ctx.stderr.write(`${event.phase}: ${event.message}\n`),
  });
  await printData(ctx, result, options);
}

export function batchEndpointCreateCommand(ctx: CliContext, run: RunCommand<BatchEndpointCreateOptions> = runBatchEndpointCreate): Command {
  return withOutputOptions(
    new Command('create')
      .description('Create a batch endpoint from a YAML file, or with -n alone (aad_token auth, no default deployment yet), as az does.')
      .option('-f, --file <file>', 'batch endpoint YAML')
      .option('-n, --name <name>', 'endpoint name (overrides the name in the file)')
      .addOption(setOption('overrides a key of the file'))
      .addOption(immediateNoWaitOption()),
  ).action(async (flags: Flags) => {
    await checkOutputFlags(flags);
    await run(ctx, { file: flags.file, name: flags.name, set: flags.set, output: flags.output, query: flags.query });
  });
}
