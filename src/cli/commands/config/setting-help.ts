import { SETTING_RULES } from '../../../state/settings.js';

/** The setting names, for the <key> argument of config get|set|unset. */
export const SETTING_NAMES = `setting name: ${Object.keys(SETTING_RULES).join(' or ')}`;

/** One line per setting with its values and default, shown under `config set --help`. */
export function settingsHelp(): string {
  const width = Math.max(...Object.keys(SETTING_RULES).map((key) => key.length));
  const lines = Object.entries(SETTING_RULES).map(
    ([key, rule]) => `  ${key.padEnd(width)} ${rule.description}${rule.values ? ` (${rule.values.join(', ')})` : ''}; default ${rule.default || 'none'}`,
  );
  return `\nSettings:\n${lines.join('\n')}\n`;
}
