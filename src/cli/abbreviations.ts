import type { Command, Option } from './commander.js';
import { OepError } from '../errors.js';

/**
 * Long options may be shortened to any unambiguous prefix, as az's parser allows (scripts written
 * for az say `--endpoint` for `--endpoint-name` and `--deployment` for `--deployment-name`).
 * Returns argv with every prefix written out in full; an ambiguous prefix is a usage error that
 * lists the candidates. Unknown options are left for commander to report.
 */
export function expandLongOptions(program: Command, argv: readonly string[]): string[] {
  const out: string[] = [];
  let command = program;
  let takesValue = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (takesValue) {
      out.push(arg);
      takesValue = false;
      continue;
    }
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      const sub = command.commands.find((candidate) => candidate.name() === arg || candidate.aliases().includes(arg));
      if (sub) command = sub;
      out.push(arg);
      continue;
    }
    const options = visibleTo(command);
    if (arg.startsWith('--')) {
      const equals = arg.indexOf('=');
      const typed = equals === -1 ? arg : arg.slice(0, equals);
      const option = options.find((candidate) => candidate.long === typed) ?? uniquePrefix(typed, options, command);
      const long = option?.long ?? typed;
      out.push(equals === -1 ? long : `${long}${arg.slice(equals)}`);
      takesValue = option !== undefined && option.required && equals === -1;
      continue;
    }
    // A short flag: -n NAME, or -nNAME (value attached).
    const option = options.find((candidate) => candidate.short === arg);
    takesValue = option !== undefined && option.required;
    out.push(arg);
  }
  return out;
}

/** The options a command accepts: its own and its ancestors' (commander reads both). */
function visibleTo(command: Command): Option[] {
  const options: Option[] = [];
  for (let current: Command | null = command; current; current = current.parent) options.push(...current.options);
  return options;
}

function uniquePrefix(typed: string, options: readonly Option[], command: Command): Option | undefined {
  if (typed.length < 3) return undefined;
  const longs = new Map<string, Option>();
  for (const option of options) if (option.long?.startsWith(typed)) longs.set(option.long, option);
  const helpMatches = '--help'.startsWith(typed);
  if (longs.size === 1 && !helpMatches) return [...longs.values()][0];
  if (longs.size + (helpMatches ? 1 : 0) > 1) {
    const names = [...longs.keys(), ...(helpMatches ? ['--help'] : [])].sort();
    throw new OepError('OEP_ERR_USAGE', `${typed} is ambiguous in "oep ${commandPath(command)}": it could be ${names.join(', ')}.`, {
      hint: 'Write more of the option name.',
    });
  }
  return undefined;
}

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let current: Command | null = command; current?.parent; current = current.parent) names.unshift(current.name());
  return names.join(' ');
}
