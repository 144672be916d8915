import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { collect } from '../../options.js';
import { checkOutputFlags, printData, withOutputOptions, type OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';

interface Flags extends OutputFlags {
  vaultName: string;
  name: string;
  value?: string;
  file?: string;
  encoding?: string;
  description?: string;
  tags: string[];
}

export interface KeyvaultSecretSetOptions extends OutputFlags {
  vaultName: string;
  name: string;
  /** The value, or the file to read it from (the engine checks that exactly one is given). */
  value?: string;
  file?: string;
  encoding?: string;
  /** az's --description. */
  contentType?: string;
  tags: string[];
}

/** Sets a new version of the secret and prints it without its value. */
export async function runKeyvaultSecretSet(ctx: CliContext, options: KeyvaultSecretSetOptions): Promise<void> {
  const { setKeyvaultSecret } = await import('../../../engine/keyvault.js');
  const bundle = await setKeyvaultSecret(
    { vaultName: options.vaultName, name: options.name, value: options.value, file: options.file, encoding: options.encoding, contentType: options.contentType, tags: options.tags },
    { home: ctx.home, cwd: ctx.cwd },
  );
  await printData(ctx, bundle, options);
}

export function keyvaultSecretSetCommand(ctx: CliContext, run: RunCommand<KeyvaultSecretSetOptions> = runKeyvaultSecretSet): Command {
  return withOutputOptions(
    new Command('set')
      .description(
        "Set a secret in oep's local vault (a new version each time, the older ones kept), as az keyvault secret set does; " +
          'deployments read it through ${{keyvault:https://<vault>.vault.azure.net/secrets/<name>[/<version>]}}. Prints the new version without its value.',
      )
      .requiredOption('--vault-name <vault>', 'the vault: oep keeps a local vault of each name')
      .requiredOption('-n, --name <name>', 'secret name (letters, digits and hyphens)')
      .option('--value <value>', 'the value')
      .option('-f, --file <file>', 'read the value from a file (up to 25 KB)')
      .option('-e, --encoding <encoding>', 'of --file: utf-8 (default), ascii, base64 or hex')
      .option('--description <type>', "the secret's content type (az's --description)")
      .option('--tags <tags>', 'space-separated key[=value] tags', collect, []),
  ).action(async (flags: Flags) => {
    await checkOutputFlags(flags);
    await run(ctx, {
      vaultName: flags.vaultName,
      name: flags.name,
      value: flags.value,
      file: flags.file,
      encoding: flags.encoding,
      contentType: flags.description,
      tags: flags.tags,
      output: flags.output,
      query: flags.query,
    });
  });
}
