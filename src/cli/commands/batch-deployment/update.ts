import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { immediateNoWaitOption, setOption } from '../../options.js';
import { checkOutputFlags, printData, withOutputOptions, type OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';

export interface BatchDeploymentUpdateOptions extends OutputFlags {
  file?: string;
  name?: string;
  endpointName?: string;
  set: string[];
}

/** Updates the batch deployment and prints it. */
export async function runBatchDeploymentUpdate(ctx: CliContext, options: BatchDeploymentUpdateOptions): Promise<void> {
  const { applyBatchDeployment } = await import('../../../engine/batch.js');
  const result = await applyBatchDeployment(
    'update',
    { file: options.file, name: options.name, endpointName: options.endpointName, set: options.set },
    { client: ctx.client, cwd: ctx.cwd, onEvent: (event) => void ctx.stderr.write(`${event.phase}: ${event.message}\n`) },
  );
  await printData(ctx, result, options);
}

export function batchDeploymentUpdateCommand(ctx: CliContext, run: RunCommand<BatchDeploymentUpdateOptions> = runBatchDeploymentUpdate): Command {
  return withOutputOptions(
    new Command('update')
      .description('Update a batch deployment from its YAML, or its stored settings with -n, -e and --set (e.g. --set mini_batch_size=20).')
      .option('-f, --file <file>', 'batch deployment YAML')
      .option('-n, --name <name>', 'deployment name')
      .option('-e, --endpoint-name <name>', 'batch endpoint name')
      .addOption(setOption('sets a key'))
      .addOption(immediateNoWaitOption()),
  ).action(async (flags: BatchDeploymentUpdateOptions) => {
    await checkOutputFlags(flags);
    await run(ctx, { file: flags.file, name: flags.name, endpointName: flags.endpointName, set: flags.set, output: flags.output, query: flags.query });
  });
}
