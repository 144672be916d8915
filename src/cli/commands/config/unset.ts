import { Command } from '../../commander.js';
import type { SettingKey } from '../../../state/settings.js';
import type { CliContext } from '../../context.js';
import type { RunCommand } from '../../run-command.js';
import { SETTING_NAMES } from './setting-help.js';

export interface ConfigUnsetOptions {
  /** A known setting: an unknown name is refused before run. */
  key: SettingKey;
}

/** Puts a setting back to its default. */
export async function runConfigUnset(ctx: CliContext, options: ConfigUnsetOptions): Promise<void> {
  const { openSettings, SETTING_RULES } = await import('../../../state/settings.js');
  const settings = await openSettings(ctx.env);
  settings.reset(options.key);
  ctx.stderr.write(`${options.key} = ${SETTING_RULES[options.key].default} (default)\n`);
}

export function configUnsetCommand(ctx: CliContext, run: RunCommand<ConfigUnsetOptions> = runConfigUnset): Command {
  return new Command('unset')
    .description('Put a setting back to its default, e.g. "oep config unset runtime".')
    .argument('<key>', SETTING_NAMES)
    .action(async (key: string) => {
      const { checkSetting } = await import('../../../state/settings.js');
      await run(ctx, { key: checkSetting(key) });
    });
}
