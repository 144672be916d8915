import type { Command } from 'commander';
import { caCommand } from './commands/ca/index.js';
import { configCommand } from './commands/config/index.js';
import { connectionCommand } from './commands/connection/index.js';
import { daemonCommand } from './commands/daemon/index.js';
import { dashboardCommand } from './commands/dashboard/open.js';
import { deploymentCommand } from './commands/deployment/index.js';
import { endpointCommand } from './commands/endpoint/index.js';
import { environmentCommand } from './commands/environment/index.js';
import { keyvaultCommand } from './commands/keyvault-secret/index.js';
import { modelCommand } from './commands/model/index.js';
import { trafficCommand } from './commands/traffic/index.js';
import { validateCommand } from './commands/validate.js';
import type { CliContext } from './context.js';
import { assembleProgram, type CommandFactory } from './program.js';

/**
 * Every top-level command, in the order `oep --help` lists them. Loading this file loads every
 * command module: main.ts does so only for a command line that names no command of its own
 * (--help, --version, a typo that commander answers with a suggestion).
 */
export const ALL_COMMANDS: readonly CommandFactory[] = [
  endpointCommand,
  deploymentCommand,
  trafficCommand,
  modelCommand,
  environmentCommand,
  connectionCommand,
  keyvaultCommand,
  daemonCommand,
  configCommand,
  caCommand,
  dashboardCommand,
  validateCommand,
];

/** The whole program: what --help shows, and what tests walk. */
export function buildProgram(ctx: CliContext): Command {
  return assembleProgram(ctx, ALL_COMMANDS);
}
