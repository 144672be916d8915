import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { SETTING_NAMES } from './setting-help.js';

export function configUnsetCommand(ctx: CliContext): Command {
  return new Command('unset')
    .description('Put a setting back to its default, e.g. "oep config unset runtime".')
    .argument('<key>', SETTING_NAMES)
    .action(async (key: string) => {
      const { checkSetting, openSettings, SETTING_RULES } = await import('../../../state/settings.js');
      const name = checkSetting(key);
      const settings = await openSettings(ctx.env);
      settings.reset(name);
      ctx.stderr.write(`${name} = ${SETTING_RULES[name].default} (default)\n`);
    });
}
