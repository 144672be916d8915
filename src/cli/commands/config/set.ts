import { Command } from '../../commander.js';
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
      if (key === 'image_map') {
        // Kept as an absolute path, so the daemon (started from anywhere) reads the same file;
        // a file that cannot be used is refused now rather than at the next deployment.
        const { resolve } = await import('node:path');
        const { readImageMap } = await import('../../../spec/image-map.js');
        value = resolve(ctx.cwd, value);
        await readImageMap(value);
      }
      const settings = await openSettings(ctx.env);
      settings.set(key, value);
      ctx.stderr.write(`${key} = ${value} (${settings.path})\n`);
    });
}
