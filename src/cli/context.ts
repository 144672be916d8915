import type { DaemonCaller } from '../daemon/client.js';

export interface TextSink {
  write(text: string): unknown;
  isTTY?: boolean;
  /** A terminal's width; 0 (as `script` and some CI terminals report) means unknown. */
  columns?: number;
}

/**
 * Everything a command needs from the outside world. Getters are lazy, so `oep --help` never
 * touches the daemon; tests pass fakes for any part.
 */
export interface CliContext {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly stdout: TextSink;
  readonly stderr: TextSink;
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  readonly home: string;
  /** The real DaemonClient (default-context.ts), or a fake in the CLI's table tests. */
  readonly client: DaemonCaller;
  /** Asks a yes/no question on the terminal. */
  confirm(question: string): Promise<boolean>;
  /** Aborted on Ctrl-C, so long-running commands can stop cleanly. */
  readonly interrupt: AbortSignal;
  /** Says that the running command stops cleanly on Ctrl-C instead of being ended at once. */
  claimInterrupt(): void;
}

/** Colour and spinners only on a terminal, and never with NO_COLOR. */
export function isInteractive(sink: TextSink, env: NodeJS.ProcessEnv): boolean {
  return sink.isTTY === true && !env.NO_COLOR && env.TERM !== 'dumb';
}

/**
 * A spinner redraws lines in place, which needs a terminal that knows its width: with 0 columns
 * ora's redraw never settles (it wrote cursor codes without end), and in CI nobody watches it.
 */
export function canAnimate(sink: TextSink, env: NodeJS.ProcessEnv): boolean {
  return isInteractive(sink, env) && (sink.columns ?? 0) > 0 && !env.CI;
}
