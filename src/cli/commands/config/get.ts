import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { SETTING_NAMES } from './setting-help.js';

export function configGetCommand(ctx: CliContext): Command {
  return new Command('get')
    .description('Print one setting, e.g. "oep config get runtime".')
    .argument('<key>', SETTING_NAMES)
    .action(async (key: string) => {
      const { checkSetting, openSettings } = await import('../../../state/settings.js');
      const name = checkSetting(key);
      const settings = await openSettings(ctx.env);
      ctx.stdout.write(`${settings.get(name)}\n`);
    });
}
