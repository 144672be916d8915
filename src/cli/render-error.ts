import { isOepError } from '../errors.js';
import { painterFor } from './colour.js';
import type { CliContext } from './context.js';

/**
 * How an error looks on stderr: the message, its detail lines, a hint. Stack traces appear only
 * for errors oep did not expect (a bug), never for a user's mistake.
 */
export function renderError(error: unknown, ctx: Pick<CliContext, 'stderr' | 'env'>): string {
  const paint = painterFor(ctx.stderr, ctx.env);
  const red = (text: string): string => paint('red', text);
  const dim = (text: string): string => paint('dim', text);
  if (isOepError(error)) {
    const lines = [`${red('error:')} ${error.message}`];
    for (const detail of error.details) lines.push(...detail.split('\n').map((line) => `  ${line}`));
    if (error.hint) lines.push(dim(`hint: ${error.hint}`));
    lines.push(dim(`(${error.code})`));
    return `${lines.join('\n')}\n`;
  }
  const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return `${red('error:')} oep hit an unexpected problem (this is a bug; please report it):\n${stack}\n`;
}
