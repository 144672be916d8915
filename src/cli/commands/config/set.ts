import { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { SETTING_NAMES, settingsHelp } from './setting-help.js';

export function configSetCommand(ctx: CliContext): Command {
  return new Command('set')
    .description('Change a setting, e.g. "oep config set runtime docker" or "oep config set python /usr/bin/python3".')
    .addHelpText('after', settingsHelp())
    .argument('<key>', SETTING_NAMES)
    .argument('<value>', 'new value')
    .action(async (key: string, value: string) => {
      const { checkSetting, openSettings } = await import('../../../state/settings.js');
      // Checked before the file is opened, so a typo writes nothing.
      checkSetting(key, value);
      const settings = await openSettings(ctx.env);
      settings.set(key, value);
      ctx.stderr.write(`${key} = ${value} (${settings.path})\n`);
    });
}
