import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { checkOutputFlags, printData, withOutputOptions, type OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';
import { withSecretAddress } from './address.js';

export interface KeyvaultSecretListVersionsOptions extends OutputFlags {
  vaultName?: string;
  name?: string;
  /** The secret's URL, instead of --vault-name and --name. */
  id?: string;
}

/** Prints the secret's versions, oldest first, without values. */
export async function runKeyvaultSecretListVersions(ctx: CliContext, options: KeyvaultSecretListVersionsOptions): Promise<void> {
  const { listKeyvaultSecretVersions } = await import('../../../engine/keyvault.js');
  const versions = await listKeyvaultSecretVersions({ vaultName: options.vaultName, name: options.name, id: options.id }, { home: ctx.home, cwd: ctx.cwd });
  await printData(ctx, versions, options, ['name', 'id']);
}

export function keyvaultSecretListVersionsCommand(ctx: CliContext, run: RunCommand<KeyvaultSecretListVersionsOptions> = runKeyvaultSecretListVersions): Command {
  return withOutputOptions(
    withSecretAddress(new Command('list-versions').description("List the versions of a secret of oep's local vault, oldest first (no values)."), { version: false }),
  ).action(async (flags: KeyvaultSecretListVersionsOptions) => {
    await checkOutputFlags(flags);
    await run(ctx, { vaultName: flags.vaultName, name: flags.name, id: flags.id, output: flags.output, query: flags.query });
  });
}
