import { Command } from '../../commander.js';
import type { SettingKey } from '../../../state/settings.js';
import type { CliContext } from '../../context.js';
import type { RunCommand } from '../../run-command.js';
import { SETTING_NAMES, settingsHelp } from './setting-help.js';

export interface ConfigSetOptions {
  /** A known setting, and a value its rule accepts: both are checked before run. */
  key: SettingKey;
  value: string;
}

/** Writes the setting (image_map: as an absolute path, once the file has been read). */
export async function runConfigSet(ctx: CliContext, options: ConfigSetOptions): Promise<void> {
  const { openSettings } = await import('../../../state/settings.js');
  const { key } = options;
  let { value } = options;
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
}

export function configSetCommand(ctx: CliContext, run: RunCommand<ConfigSetOptions> = runConfigSet): Command {
  return new Command('set')
    .description('Change a setting, e.g. "oep config set runtime docker" or "oep config set python /usr/bin/python3".')
    .addHelpText('after', settingsHelp())
    .argument('<key>', SETTING_NAMES)
    .argument('<value>', 'new value')
    .action(async (key: string, value: string) => {
      const { checkSetting } = await import('../../../state/settings.js');
      // Checked before the file is opened, so a typo writes nothing.
      await run(ctx, { key: checkSetting(key, value), value });
    });
}
