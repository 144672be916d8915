import { isOepError } from '../errors.js';
import { isInteractive, type CliContext } from './context.js';

/**
 * How an error looks on stderr: the message, its detail lines, a hint. Stack traces appear only
 * for errors oep did not expect (a bug), never for a user's mistake.
 */
export function renderError(error: unknown, ctx: Pick<CliContext, 'stderr' | 'env'>): string {
  const colour = isInteractive(ctx.stderr, ctx.env);
  const red = (text: string): string => (colour ? `\u001b[31m${text}\u001b[39m` : text);
  const dim = (text: string): string => (colour ? `\u001b[2m${text}\u001b[22m` : text);
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
