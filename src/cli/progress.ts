import type { ProgressEvent } from '../model/progress.js';
import { canAnimate, type CliContext } from './context.js';

export interface Progress {
  onEvent: (event: ProgressEvent) => void;
  succeed(text: string): void;
  fail(): void;
  /** What Ctrl-C leaves behind, once the daemon has the work (printed on stderr if interrupted). */
  whenInterrupted?: string;
}

/**
 * Progress on stderr: an ora spinner on a terminal that can animate it, nothing otherwise (so
 * scripts see only data on stdout and errors on stderr).
 */
export async function startProgress(ctx: CliContext, text: string): Promise<Progress> {
  // Notices (e.g. "no Docker engine: using the process runtime") reach stderr even when piped.
  const notice = (event: ProgressEvent): boolean => {
    if (event.phase !== 'notice' && event.phase !== 'warning') return false;
    ctx.stderr.write(`${event.phase}: ${event.message}\n`);
    return true;
  };
  if (!canAnimate(ctx.stderr, ctx.env)) {
    return { onEvent: (event) => void notice(event), succeed: () => undefined, fail: () => undefined };
  }
  const { default: ora } = await import('ora');
  // discardStdin would put the terminal in raw mode, so Ctrl-C would no longer send SIGINT.
  const spinner = ora({ text, stream: process.stderr, discardStdin: false }).start();
  return {
    onEvent: (event) => {
      if (event.phase === 'notice' || event.phase === 'warning') {
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

/**
 * Runs `work` under a progress display. On Ctrl-C the CLI stops waiting (bin/ exits 130) but the
 * daemon carries on, as Azure does when az is interrupted; `progress.whenInterrupted` says what
 * goes on and how to follow it.
 */
export async function withProgress<T>(ctx: CliContext, text: string, done: string, work: (progress: Progress) => Promise<T>): Promise<T> {
  const progress = await startProgress(ctx, text);
  const onInterrupt = (): void => {
    progress.fail();
    ctx.stderr.write(`\ninterrupted: ${progress.whenInterrupted ?? 'nothing was sent to the daemon, so nothing changed.'}\n`);
  };
  ctx.interrupt.addEventListener('abort', onInterrupt, { once: true });
  try {
    const result = await work(progress);
    progress.succeed(done);
    return result;
  } catch (error) {
    progress.fail();
    throw error;
  } finally {
    ctx.interrupt.removeEventListener('abort', onInterrupt);
  }
}

/** The interrupt note for work the daemon has accepted and will finish on its own. */
export function daemonGoesOn(what: string, follow: string): string {
  return `oep stopped waiting, but the daemon goes on ${what} (as Azure does when az is interrupted). Follow it with: ${follow}`;
}
