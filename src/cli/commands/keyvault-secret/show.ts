import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { checkOutputFlags, printData, withOutputOptions, type OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';
import { withSecretAddress } from './address.js';

export interface KeyvaultSecretShowOptions extends OutputFlags {
  vaultName?: string;
  name?: string;
  version?: string;
  /** The secret's URL, instead of --vault-name, --name and --version. */
  id?: string;
}

/** Prints the secret with its value. */
export async function runKeyvaultSecretShow(ctx: CliContext, options: KeyvaultSecretShowOptions): Promise<void> {
  const { showKeyvaultSecret } = await import('../../../engine/keyvault.js');
  const address = { vaultName: options.vaultName, name: options.name, version: options.version, id: options.id };
  await printData(ctx, await showKeyvaultSecret(address, { home: ctx.home, cwd: ctx.cwd }), options);
}

export function keyvaultSecretShowCommand(ctx: CliContext, run: RunCommand<KeyvaultSecretShowOptions> = runKeyvaultSecretShow): Command {
  return withOutputOptions(
    withSecretAddress(new Command('show').description("Show a secret of oep's local vault with its value, as az keyvault secret show does (--query value -o tsv prints the value alone)."), { version: true }),
  ).action(async (flags: KeyvaultSecretShowOptions) => {
    await checkOutputFlags(flags);
    await run(ctx, { vaultName: flags.vaultName, name: flags.name, version: flags.version, id: flags.id, output: flags.output, query: flags.query });
  });
}
