import { Command } from '../../commander.js';
import type { SettingKey } from '../../../state/settings.js';
import type { CliContext } from '../../context.js';
import type { RunCommand } from '../../run-command.js';
import { SETTING_NAMES } from './setting-help.js';

export interface ConfigGetOptions {
  /** A known setting: an unknown name is refused before run. */
  key: SettingKey;
}

/** Prints one setting's value. */
export async function runConfigGet(ctx: CliContext, options: ConfigGetOptions): Promise<void> {
  const { openSettings } = await import('../../../state/settings.js');
  const settings = await openSettings(ctx.env);
  ctx.stdout.write(`${settings.get(options.key)}\n`);
}

export function configGetCommand(ctx: CliContext, run: RunCommand<ConfigGetOptions> = runConfigGet): Command {
  return new Command('get')
    .description('Print one setting, e.g. "oep config get runtime".')
    .argument('<key>', SETTING_NAMES)
    .action(async (key: string) => {
      const { checkSetting } = await import('../../../state/settings.js');
      await run(ctx, { key: checkSetting(key) });
    });
}
