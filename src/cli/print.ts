import { Option, type Command } from 'commander';
import type { CliContext } from './context.js';

export interface OutputFlags {
  output: string;
  query?: string;
}

/** Adds az's global output flags to a command that prints data. */
export function withOutputOptions(command: Command): Command {
  return command
    .addOption(new Option('-o, --output <format>', 'output format: json, yaml, table, tsv or none').default('json'))
    .option('--query <jmespath>', 'JMESPath query applied to the output, e.g. scoring_uri');
}

/** Prints data on stdout in the chosen format (the output module is loaded only when needed). */
export async function printData(ctx: CliContext, data: unknown, flags: OutputFlags, columns?: string[]): Promise<void> {
  const { parseOutputFormat, renderOutput } = await import('./output/index.js');
  const text = renderOutput(data, { format: parseOutputFormat(flags.output), query: flags.query, columns });
  if (text) ctx.stdout.write(text);
}

/** Checks the output flags before any work is done, so a typo changes nothing. */
export async function checkOutputFlags(flags: OutputFlags): Promise<void> {
  const { parseOutputFormat, applyQuery } = await import('./output/index.js');
  parseOutputFormat(flags.output);
  if (flags.query) applyQuery({}, flags.query);
}
