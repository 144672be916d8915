import type { ProgressEvent } from '../model/progress.js';
import { isInteractive, type CliContext } from './context.js';

export interface Progress {
  onEvent: (event: ProgressEvent) => void;
  succeed(text: string): void;
  fail(): void;
}

/**
 * Progress on stderr: an ora spinner on a terminal, nothing when piped (so scripts see only
 * data on stdout and errors on stderr).
 */
export async function startProgress(ctx: CliContext, text: string): Promise<Progress> {
  // Notices (e.g. "no Docker engine: using the process runtime") reach stderr even when piped.
  const notice = (event: ProgressEvent): boolean => {
    if (event.phase !== 'notice') return false;
    ctx.stderr.write(`notice: ${event.message}\n`);
    return true;
  };
  if (!isInteractive(ctx.stderr, ctx.env)) {
    return { onEvent: (event) => void notice(event), succeed: () => undefined, fail: () => undefined };
  }
  const { default: ora } = await import('ora');
  const spinner = ora({ text, stream: process.stderr }).start();
  return {
    onEvent: (event) => {
      if (event.phase === 'notice') {
        spinner.clear();
        notice(event);
        spinner.render();
        return;
      }
      spinner.text = `${event.phase}: ${event.message}`;
    },
    succeed: (done) => spinner.succeed(done),
    fail: () => spinner.stop(),
  };
}

export async function withProgress<T>(ctx: CliContext, text: string, done: string, work: (progress: Progress) => Promise<T>): Promise<T> {
  const progress = await startProgress(ctx, text);
  try {
    const result = await work(progress);
    progress.succeed(done);
    return result;
  } catch (error) {
    progress.fail();
    throw error;
  }
}
