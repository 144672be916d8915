import { Command, Option } from './commander.js';
import { checkHome } from '../state/home-check.js';
import { OEP_VERSION } from '../version.js';
import type { CliContext } from './context.js';

/** Makes one of oep's top-level commands (a noun with its verbs, or a command of its own). */
export type CommandFactory = (ctx: CliContext) => Command;

/**
 * The `oep` program with the given top-level commands: all of them for --help (main.ts buildProgram),
 * or only the one a command line names (main.ts), so that a command loads only its own modules.
 */
export function assembleProgram(ctx: CliContext, commands: readonly CommandFactory[]): Command {
  const program = new Command('oep')
    .description('Run Azure ML managed online endpoints on this machine: same YAML, same commands, same HTTP behaviour.')
    .version(OEP_VERSION, '-v, --version')
    // Program options only before a command: `oep model create --version 2` is the asset's version.
    .enablePositionalOptions()
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      '\nFor scripts written for az ml, every command also accepts --local (oep always runs locally) and the\n' +
        'workspace flags -g/--resource-group, -w/--workspace-name and --subscription (ignored, with a notice);\n' +
        'long options may be shortened to any unambiguous prefix (--endpoint for --endpoint-name).\n',
    );

  // Every command uses OEP_HOME (settings, registry, daemon): one that another user could change
  // is refused before anything is read or written there (src/state/home-check.ts).
  program.hook('preAction', () => checkHome(ctx.home));

  for (const make of commands) program.addCommand(make(ctx));

  // Every command reports usage errors the same way: commander throws, main() maps to exit 2, and
  // the message carries its code like every other error. Required options say so in --help.
  const configure = (command: Command): void => {
    command.exitOverride().configureOutput({
      writeOut: (text) => void ctx.stdout.write(text),
      writeErr: (text) => void ctx.stderr.write(text),
      outputError: (text, write) => write(`${text.trimEnd()}\n(OEP_ERR_USAGE)\n`),
    });
    for (const option of command.options) {
      if (option.mandatory && !option.description.endsWith('(required)')) option.description = `${option.description} (required)`;
    }
    if (command.commands.length === 0 && command.parent) acceptAzureScoping(command, ctx);
    command.commands.forEach(configure);
  };
  configure(program);
  return program;
}

/**
 * Scripts written for `az ml` pass workspace flags (-g, -w, --subscription) and `--local`: every
 * command accepts them. `--local` is what oep always does; the workspace flags get one notice.
 */
function acceptAzureScoping(command: Command, ctx: CliContext): void {
  const has = (long: string): boolean => command.options.some((option) => option.long === long);
  if (!has('--local')) command.addOption(new Option('--local', 'accepted for az compatibility: oep always runs locally').hideHelp());
  if (!has('--resource-group')) command.addOption(new Option('-g, --resource-group <name>', 'az workspace scoping: ignored').hideHelp());
  if (!has('--workspace-name')) command.addOption(new Option('-w, --workspace-name <name>', 'az workspace scoping: ignored').hideHelp());
  if (!has('--subscription')) command.addOption(new Option('--subscription <id>', 'az workspace scoping: ignored').hideHelp());
  command.hook('preAction', (_, action) => {
    const flags = action.opts<{ resourceGroup?: string; workspaceName?: string; subscription?: string }>();
    if (flags.resourceGroup !== undefined || flags.workspaceName !== undefined || flags.subscription !== undefined) {
      ctx.stderr.write('notice: -g/--resource-group, -w/--workspace-name and --subscription name an Azure workspace; oep runs on this machine and ignores them.\n');
    }
  });
}
