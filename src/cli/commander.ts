import type * as Commander from 'commander';

// getBuiltinModule, not import: start-up time (src/cli/colour.ts says why).
const { createRequire } = process.getBuiltinModule('node:module');

/**
 * commander through require rather than `import`: the package is CommonJS, and an import makes
 * Node parse its files a second time to find their exports (cjs-module-lexer) and wrap each one
 * as an ES module, about 10 ms of every command's start on Node 22 (bench/cli-latency). The CLI
 * imports commander from here only.
 */
const commander = createRequire(import.meta.url)('commander') as typeof Commander;

export const Command: typeof Commander.Command = commander.Command;
export const Option: typeof Commander.Option = commander.Option;
export const CommanderError: typeof Commander.CommanderError = commander.CommanderError;
export type Command = InstanceType<typeof Commander.Command>;
export type Option = InstanceType<typeof Commander.Option>;
export type CommanderError = InstanceType<typeof Commander.CommanderError>;
