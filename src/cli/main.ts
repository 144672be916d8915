import { CommanderError, type Command } from './commander.js';
import { expandLongOptions } from './abbreviations.js';
import { isOepError, type ExitCode } from '../errors.js';
import type { CliContext } from './context.js';
import { createDefaultContext } from './default-context.js';
import { loadNoun, type Noun } from './noun.js';
import { assembleProgram, type CommandFactory } from './program.js';
import { renderError } from './render-error.js';

interface TopLevelCommand {
  /** The name and aliases a command line starts with. */
  readonly names: readonly string[];
  /**
   * Imports the command's module only when a command line names it; for a noun, only the module
   * of the verb named (`verb`, the word after the noun), or all of them when it names none.
   */
  load(verb?: string): Promise<CommandFactory>;
  /** A noun's verbs, without loading them (which of them may run in the resident CLI). */
  noun?(): Promise<Noun>;
}

/** A noun's entry: its verbs are loaded by name (src/cli/noun.ts). */
function noun(names: readonly string[], load: () => Promise<Noun>): TopLevelCommand {
  return { names, noun: load, load: async (verb) => loadNoun(await load(), verb) };
}

/**
 * oep's top-level commands by the names a command line starts with, in the order --help lists
 * them. Start-up time is most of what a command like `oep endpoint list` costs (docs/behaviour.md
 * "Start-up"), so a command line loads only the command, and the verb, it names.
 */
export const TOP_LEVEL_COMMANDS: readonly TopLevelCommand[] = [
  noun(['endpoint', 'online-endpoint'], async () => (await import('./commands/endpoint/index.js')).endpointNoun),
  noun(['deployment', 'online-deployment'], async () => (await import('./commands/deployment/index.js')).deploymentNoun),
  noun(['traffic'], async () => (await import('./commands/traffic/index.js')).trafficNoun),
  noun(['batch-endpoint'], async () => (await import('./commands/batch-endpoint/index.js')).batchEndpointNoun),
  noun(['batch-deployment'], async () => (await import('./commands/batch-deployment/index.js')).batchDeploymentNoun),
  noun(['job'], async () => (await import('./commands/job/index.js')).jobNoun),
  noun(['model'], async () => (await import('./commands/model/index.js')).modelNoun),
  noun(['environment'], async () => (await import('./commands/environment/index.js')).environmentNoun),
  noun(['data'], async () => (await import('./commands/data/index.js')).dataNoun),
  noun(['compute'], async () => (await import('./commands/compute/index.js')).computeNoun),
  noun(['connection'], async () => (await import('./commands/connection/index.js')).connectionNoun),
  { names: ['keyvault'], load: async () => (await import('./commands/keyvault-secret/index.js')).keyvaultCommand },
  noun(['daemon'], async () => (await import('./commands/daemon/index.js')).daemonNoun),
  noun(['config'], async () => (await import('./commands/config/index.js')).configNoun),
  noun(['ca'], async () => (await import('./commands/ca/index.js')).caNoun),
  { names: ['dashboard'], load: async () => (await import('./commands/dashboard/open.js')).dashboardCommand },
  { names: ['validate'], load: async () => (await import('./commands/validate.js')).validateCommand },
];

/** The top-level command a command line starts with, if its first word names one. */
function namedCommand(argv: readonly string[]): TopLevelCommand | undefined {
  return TOP_LEVEL_COMMANDS.find((command) => command.names.includes(argv[0] ?? ''));
}

/**
 * The program a command line needs. Program options (-h, -v) come only before a command, so a
 * command line whose first word is a command's name goes to that command and nothing else: the
 * others need not be loaded. Any other command line (--help, --version, `help`, a typo) gets the
 * whole program, which lists and suggests every command.
 */
export async function programFor(ctx: CliContext, argv: readonly string[]): Promise<Command> {
  const named = namedCommand(argv);
  if (named) return assembleProgram(ctx, [await named.load(argv[1])]);
  return buildProgram(ctx);
}

/** The whole program, every command and verb loaded: what `oep --help` shows, and what tests walk. */
export async function buildProgram(ctx: CliContext): Promise<Command> {
  return assembleProgram(ctx, await Promise.all(TOP_LEVEL_COMMANDS.map((command) => command.load())));
}

/**
 * Whether a command line may run in the resident CLI process (src/cli/resident/): a verb marked
 * `resident` (src/cli/noun.ts), not asking for help (commander sizes help by the terminal).
 */
export async function isResidentCommandLine(argv: readonly string[]): Promise<boolean> {
  const named = namedCommand(argv);
  if (!named?.noun || argv.some((arg) => arg === '-h' || arg === '--help')) return false;
  return (await named.noun()).verbs.some((verb) => verb.name === argv[1] && verb.resident === true);
}

/** Loads every resident verb's modules, so that the resident CLI's first command is as quick as the rest. */
export async function loadResidentVerbs(): Promise<void> {
  for (const command of TOP_LEVEL_COMMANDS) {
    const verbs = (await command.noun?.())?.verbs ?? [];
    await Promise.all(verbs.filter((verb) => verb.resident).map((verb) => verb.load()));
  }
}

/** Runs the CLI and returns the exit code; never exits the process itself. */
export async function main(argv: string[], ctx: CliContext = createDefaultContext()): Promise<ExitCode | 0> {
  return runProgram(await programFor(ctx, argv), argv, ctx);
}

/**
 * Parses a command line with a program and maps what happens to an exit code, as main() does;
 * tests run programs of their own through it (test/unit/cli-run-seam.test.ts) so that long-option
 * prefixes, usage errors and exit codes are the CLI's own.
 */
export async function runProgram(program: Command, argv: readonly string[], ctx: CliContext): Promise<ExitCode | 0> {
  try {
    await program.parseAsync(expandLongOptions(program, argv), { from: 'user' });
    return ctx.interrupt.aborted ? 130 : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0) return 0;
      // commander has already printed the message.
      return 2;
    }
    ctx.stderr.write(renderError(error, ctx));
    if (isOepError(error)) return error.exitCode;
    return 1;
  }
}

export { interruptCli } from './default-context.js';
