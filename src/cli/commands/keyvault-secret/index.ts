import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { keyvaultSecretSetCommand } from './set.js';
import { keyvaultSecretShowCommand } from './show.js';
import { keyvaultSecretListCommand } from './list.js';
import { keyvaultSecretListVersionsCommand } from './list-versions.js';
import { keyvaultSecretDeleteCommand } from './delete.js';

/** `oep keyvault secret` and its verbs (az's `keyvault secret`), in the order --help lists them. */
export function keyvaultCommand(ctx: CliContext): Command {
  const keyvault = new Command('keyvault').description("oep's local Key Vault (az keyvault secret): deployments read its secrets through ${{keyvault:...}}.");
  const secret = new Command('secret').description("Secrets of oep's local vaults, every version kept.");
  for (const make of [keyvaultSecretSetCommand, keyvaultSecretShowCommand, keyvaultSecretListCommand, keyvaultSecretListVersionsCommand, keyvaultSecretDeleteCommand]) {
    secret.addCommand(make(ctx));
  }
  keyvault.addCommand(secret);
  return keyvault;
}
