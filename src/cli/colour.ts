// Built-ins on the start-up path come through getBuiltinModule, not `import`: an ES import of a
// built-in builds its ES facade, which reads every export (node:util's TextDecoder, node:fs's
// streams) and costs milliseconds a command does not use (docs/behaviour.md "Start-up").
const { styleText } = process.getBuiltinModule('node:util');
import { isInteractive, type TextSink } from './context.js';

/** The styles oep's messages use. */
export type Style = 'red' | 'dim';

/** Styles text for one stream, or leaves it as it is when that stream gets no colour. */
export type Paint = (style: Style, text: string) => string;

/**
 * Whether a stream gets colour, from the context's stream and environment (so a test's fake
 * context decides it, not the process's own):
 * - `NO_COLOR` (set and not empty, https://no-color.org) never: it wins over FORCE_COLOR, which
 *   `node --test` sets for its children on a terminal, so a test that asks for plain text gets it;
 * - `FORCE_COLOR` as chalk and Node read it: `0` or `false` none, any other value colour, even
 *   when the stream is a pipe;
 * - otherwise a terminal (not `TERM=dumb`) gets colour and a pipe or a file none.
 */
export function wantsColour(sink: TextSink, env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR) return false;
  const forced = env.FORCE_COLOR;
  if (forced !== undefined) return forced !== '0' && forced !== 'false';
  return isInteractive(sink, env);
}

/**
 * The painter for a stream. node:util's styleText writes the codes (no module to load at
 * start-up); the stream check is ours above, so styleText is told not to check process.stdout.
 */
export function painterFor(sink: TextSink, env: NodeJS.ProcessEnv): Paint {
  if (!wantsColour(sink, env)) return (_style, text) => text;
  return (style, text) => styleText(style, text, { validateStream: false });
}
