import { OepError } from '../errors.js';
import type { CliContext } from './context.js';

/**
 * `delete` asks on a terminal unless --yes, and refuses without --yes when stdin is not a
 * terminal (a script must say so explicitly).
 */
export async function confirmOrRefuse(ctx: CliContext, yes: boolean, question: string): Promise<void> {
  if (yes) return;
  if (!ctx.stdin.isTTY) {
    throw new OepError('OEP_ERR_CONFIRMATION_REQUIRED', 'Refusing to delete without confirmation: standard input is not a terminal.', {
      hint: 'Add --yes to delete from a script.',
    });
  }
  if (!(await ctx.confirm(question))) throw new OepError('OEP_ERR_ABORTED', 'Nothing was deleted.');
}
