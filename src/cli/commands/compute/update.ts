import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { immediateNoWaitOption, setOption } from '../../options.js';
import { checkOutputFlags, printData, withOutputOptions, type OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';
import { computeSettings, settingFlags, type ComputeSettingFlags, type ComputeSettings } from './flags.js';

interface Flags extends OutputFlags, Pick<ComputeSettingFlags, 'minInstances' | 'maxInstances' | 'idleTimeBeforeScaleDown' | 'description'> {
  name: string;
  set: string[];
}

export interface ComputeUpdateOptions extends OutputFlags, Pick<ComputeSettings, 'minInstances' | 'maxInstances' | 'idleTimeBeforeScaleDown' | 'description'> {
  name: string;
  set: string[];
}

/** Changes the recorded compute and prints it. */
export async function runComputeUpdate(ctx: CliContext, options: ComputeUpdateOptions): Promise<void> {
  const { updateCompute } = await import('../../../engine/computes.js');
  const view = await updateCompute({ name: options.name, flags: settingFlags(options), set: options.set }, { home: ctx.home, cwd: ctx.cwd });
  await printData(ctx, view, options);
}

export function computeUpdateCommand(ctx: CliContext, run: RunCommand<ComputeUpdateOptions> = runComputeUpdate): Command {
  return withOutputOptions(
    new Command('update')
      .description("Change a compute cluster's recorded settings, as az ml compute update does (e.g. --max-instances 8); jobs still run on this machine.")
      .requiredOption('-n, --name <name>', 'compute name')
      .option('--min-instances <n>', 'fewest nodes of the cluster')
      .option('--max-instances <n>', 'most nodes of the cluster')
      .option('--idle-time-before-scale-down <seconds>', 'idle seconds before the cluster scales down')
      .option('--description <text>', 'description')
      .addOption(setOption('changes a key, e.g. tags.team=ml'))
      .addOption(immediateNoWaitOption()),
  ).action(async (flags: Flags) => {
    await checkOutputFlags(flags);
    const { minInstances, maxInstances, idleTimeBeforeScaleDown, description } = computeSettings(flags);
    await run(ctx, { name: flags.name, minInstances, maxInstances, idleTimeBeforeScaleDown, description, set: flags.set, output: flags.output, query: flags.query });
  });
}
