import type { Command } from '../../commander.js';

/**
 * The flags that name one secret (az keyvault secret's): --vault-name and --name (and --version),
 * or --id with the secret's URL. Shared by show, delete and list-versions; each verb has its file.
 */
export function withSecretAddress(command: Command, options: { version: boolean }): Command {
  command
    .option('--vault-name <vault>', 'the vault: oep keeps a local vault of each name')
    .option('-n, --name <name>', 'secret name');
  if (options.version) command.option('-v, --version <version>', 'a version (32 hex digits); default the current one');
  return command.option('--id <url>', `the secret's id instead: https://<vault>.vault.azure.net/secrets/<name>${options.version ? '[/<version>]' : ''}`);
}
