import { Option, type Command } from './commander.js';
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

/**
 * What invoke prints. Without -o or --query: the response body as it came. With them, as az
 * does: the body is one string value, so `-o tsv` prints it bare and `-o json` quoted.
 */
export async function printResponseBody(ctx: CliContext, body: string, flags: Partial<OutputFlags>): Promise<void> {
  if (flags.output === undefined && flags.query === undefined) {
    ctx.stdout.write(body.endsWith('\n') ? body : `${body}\n`);
    return;
  }
  await printData(ctx, body, { output: flags.output ?? 'json', query: flags.query });
}

/** -o and --query for commands whose default output is not formatted data (invoke). */
export function withOptionalOutputOptions(command: Command): Command {
  return command
    .addOption(new Option('-o, --output <format>', 'json, yaml, table, tsv or none: the response as one string value, as az prints it (default: the body as it came)'))
    .option('--query <jmespath>', 'JMESPath query applied to that value');
}
