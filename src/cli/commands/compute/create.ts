import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { immediateNoWaitOption, setOption } from '../../options.js';
import { checkOutputFlags, printData, withOutputOptions, type OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';
import { computeSettings, settingFlags, type ComputeSettingFlags, type ComputeSettings } from './flags.js';

interface Flags extends OutputFlags, ComputeSettingFlags {
  file?: string;
  name?: string;
  type?: string;
  location?: string;
  set: string[];
}

export interface ComputeCreateOptions extends OutputFlags, ComputeSettings {
  file?: string;
  name?: string;
  type?: string;
  location?: string;
  set: string[];
}

/** Records the compute, says once that it means nothing here, and prints it as az does. */
export async function runComputeCreate(ctx: CliContext, options: ComputeCreateOptions): Promise<void> {
  const { createCompute } = await import('../../../engine/computes.js');
  const view = await createCompute({ file: options.file, flags: settingFlags(options), set: options.set }, { home: ctx.home, cwd: ctx.cwd });
  ctx.stderr.write(`notice: compute ${String(view.name)} is recorded in oep's local workspace; jobs that name it run on this machine\n`);
  await printData(ctx, view, options);
}

export function computeCreateCommand(ctx: CliContext, run: RunCommand<ComputeCreateOptions> = runComputeCreate): Command {
  return withOutputOptions(
    new Command('create')
      .description(
        "Create (or replace) a compute in oep's local workspace, from az ml compute create's flags or Azure's compute YAML. " +
          'It is recorded so that scripts and YAML naming it (compute: azureml:NAME) work; every job runs on this machine.',
      )
      .option('-f, --file <file>', 'compute YAML (name, type, size, min_instances, max_instances, idle_time_before_scale_down, tier)')
      .option('-n, --name <name>', 'compute name (overrides the file)')
      .option('-t, --type <type>', 'amlcompute (a compute cluster, the default) or computeinstance')
      .option('--size <size>', 'VM size, e.g. Standard_DS3_v2 (recorded)')
      .option('--min-instances <n>', 'fewest nodes of the cluster (default 0; recorded)')
      .option('--max-instances <n>', 'most nodes of the cluster (default 4; recorded)')
      .option('--idle-time-before-scale-down <seconds>', 'idle seconds before the cluster scales down (default 120; recorded)')
      .option('--tier <tier>', 'dedicated (the default) or low_priority (recorded)')
      .option('--location <location>', 'accepted for az scripts: computes here are on this machine (location local)')
      .option('--description <text>', 'description')
      .addOption(setOption('overrides a key of the file'))
      .addOption(immediateNoWaitOption()),
  ).action(async (flags: Flags) => {
    await checkOutputFlags(flags);
    await run(ctx, {
      file: flags.file,
      name: flags.name,
      type: flags.type,
      location: flags.location,
      ...computeSettings(flags),
      set: flags.set,
      output: flags.output,
      query: flags.query,
    });
  });
}
