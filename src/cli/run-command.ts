import type { CliContext } from './context.js';

/**
 * What a verb does once commander has parsed its flags and the checks that need no daemon have
 * passed: the seam of every verb (cli/cli's `runF`). Each verb file exports its options type
 * (`XOptions`), its real run function (`runX`) and its factory `xCommand(ctx, run = runX)`, whose
 * action only turns flags into options and calls `run`. Tests pass a run function that records
 * the options, so flag parsing is tested without running anything (test/unit/cli-run-seam.test.ts).
 */
export type RunCommand<Options> = (ctx: CliContext, options: Options) => Promise<void>;
