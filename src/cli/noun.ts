import { Command } from './commander.js';
import type { CommandFactory } from './program.js';

/** One verb of a noun (`list` of `oep endpoint`), loaded only when a command line needs it. */
export interface Verb {
  /** The verb's command name, as its factory names it (test/unit/cli-program.test.ts checks). */
  readonly name: string;
  load(): Promise<CommandFactory>;
  /**
   * The verb may run in the resident CLI process (src/cli/resident/): it only asks the daemon and
   * prints, with no terminal input, no spinner, no files and no environment beyond its context.
   */
  readonly resident?: true;
}

/** A top-level command made of verbs (`oep endpoint create|show|...`), in the order --help lists them. */
export interface Noun {
  readonly name: string;
  readonly aliases?: readonly string[];
  readonly description: string;
  readonly verbs: readonly Verb[];
}

/**
 * The noun's command with only the verb a command line names: `oep endpoint list` loads the
 * module of `list` and none of the other eight (start-up time, bench/cli-latency). A command line
 * that names no verb of the noun (`--help`, `help list`, a typo that commander answers with a
 * suggestion) gets every verb.
 */
export async function loadNoun(noun: Noun, verbName?: string): Promise<CommandFactory> {
  const named = noun.verbs.filter((verb) => verb.name === verbName);
  const factories = await Promise.all((named.length > 0 ? named : noun.verbs).map((verb) => verb.load()));
  return (ctx) => {
    const command = new Command(noun.name).description(noun.description);
    for (const alias of noun.aliases ?? []) command.alias(alias);
    for (const make of factories) command.addCommand(make(ctx));
    return command;
  };
}
