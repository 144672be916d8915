import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { immediateNoWaitOption, setOption } from '../../options.js';
import { checkOutputFlags, printData, withOutputOptions, type OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';

interface Flags extends OutputFlags {
  file: string;
  name?: string;
  endpointName?: string;
  set: string[];
  setDefault: boolean;
}

export interface BatchDeploymentCreateOptions extends OutputFlags {
  file: string;
  name?: string;
  endpointName?: string;
  set: string[];
  /** --set-default: the deployment becomes the endpoint's default. */
  setDefault: boolean;
}

/** Creates the batch deployment and prints it. */
export async function runBatchDeploymentCreate(ctx: CliContext, options: BatchDeploymentCreateOptions): Promise<void> {
  const { applyBatchDeployment } = await import('../../../engine/batch.js');
  const result = await applyBatchDeployment(
    'create',
    { file: options.file, name: options.name, endpointName: options.endpointName, set: options.set, setDefault: options.setDefault },
    { client: ctx.client, cwd: ctx.cwd, onEvent: (event) => void ctx.stderr.write(`${event.phase}: ${event.message}\n`) },
  );
  await printData(ctx, result, options);
}

export function batchDeploymentCreateCommand(ctx: CliContext, run: RunCommand<BatchDeploymentCreateOptions> = runBatchDeploymentCreate): Command {
  return withOutputOptions(
    new Command('create')
      .description('Create a batch deployment from a YAML file (a model batch deployment, settings at the top level or under settings with type: model).')
      .requiredOption('-f, --file <file>', 'batch deployment YAML')
      .option('-n, --name <name>', 'deployment name (overrides the file)')
      .option('-e, --endpoint-name <name>', 'batch endpoint name (overrides the file)')
      .option('--set-default', "make it the endpoint's default deployment (the first deployment of an endpoint becomes the default anyway)", false)
      .addOption(setOption('overrides a key of the file'))
      .addOption(immediateNoWaitOption()),
  ).action(async (flags: Flags) => {
    await checkOutputFlags(flags);
    await run(ctx, {
      file: flags.file,
      name: flags.name,
      endpointName: flags.endpointName,
      set: flags.set,
      setDefault: flags.setDefault,
      output: flags.output,
      query: flags.query,
    });
  });
}
