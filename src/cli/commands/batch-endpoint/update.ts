import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { immediateNoWaitOption, setOption } from '../../options.js';
import { checkOutputFlags, printData, withOutputOptions, type OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';

export interface BatchEndpointUpdateOptions extends OutputFlags {
  name?: string;
  file?: string;
  set: string[];
  /** `deployment_name=NAME`; the engine checks it. */
  defaults?: string;
}

/** Updates the batch endpoint and prints it. */
export async function runBatchEndpointUpdate(ctx: CliContext, options: BatchEndpointUpdateOptions): Promise<void> {
  const { updateBatchEndpoint } = await import('../../../engine/batch.js');
  const result = await updateBatchEndpoint(
    { name: options.name, file: options.file, set: options.set, defaults: options.defaults },
    { client: ctx.client, cwd: ctx.cwd, onEvent: (event) => void ctx.stderr.write(`${event.phase}: ${event.message}\n`) },
  );
  await printData(ctx, result, options);
}

export function batchEndpointUpdateCommand(ctx: CliContext, run: RunCommand<BatchEndpointUpdateOptions> = runBatchEndpointUpdate): Command {
  return withOutputOptions(
    new Command('update')
      .description('Update a batch endpoint: its YAML, --set keys, or its default deployment (--defaults deployment_name=NAME).')
      .option('-n, --name <name>', 'endpoint name')
      .option('-f, --file <file>', 'batch endpoint YAML')
      .option('--defaults <deployment_name=NAME>', 'the deployment an invoke runs when it names none')
      .addOption(setOption('sets a key'))
      .addOption(immediateNoWaitOption()),
  ).action(async (flags: BatchEndpointUpdateOptions) => {
    await checkOutputFlags(flags);
    await run(ctx, { name: flags.name, file: flags.file, set: flags.set, defaults: flags.defaults, output: flags.output, query: flags.query });
  });
}
