import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { checkOutputFlags, printData, withOutputOptions, type OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';
import { withSecretAddress } from './address.js';

export interface KeyvaultSecretDeleteOptions extends OutputFlags {
  vaultName?: string;
  name?: string;
  /** The secret's URL, instead of --vault-name and --name (the engine checks which was given). */
  id?: string;
}

/** Deletes the secret with every version and prints what it was. */
export async function runKeyvaultSecretDelete(ctx: CliContext, options: KeyvaultSecretDeleteOptions): Promise<void> {
  const { deleteKeyvaultSecret } = await import('../../../engine/keyvault.js');
  await printData(ctx, await deleteKeyvaultSecret({ vaultName: options.vaultName, name: options.name, id: options.id }, { home: ctx.home, cwd: ctx.cwd }), options);
}

export function keyvaultSecretDeleteCommand(ctx: CliContext, run: RunCommand<KeyvaultSecretDeleteOptions> = runKeyvaultSecretDelete): Command {
  return withOutputOptions(
    withSecretAddress(
      new Command('delete').description("Delete a secret of oep's local vault with all its versions (the local vault keeps no deleted secrets to recover or purge)."),
      { version: false },
    ),
  ).action(async (flags: KeyvaultSecretDeleteOptions) => {
    await checkOutputFlags(flags);
    await run(ctx, { vaultName: flags.vaultName, name: flags.name, id: flags.id, output: flags.output, query: flags.query });
  });
}
