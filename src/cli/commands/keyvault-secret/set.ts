import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { collect } from '../../options.js';
import { checkOutputFlags, printData, withOutputOptions, type OutputFlags } from '../../print.js';

interface Flags extends OutputFlags {
  vaultName: string;
  name: string;
  value?: string;
  file?: string;
  encoding?: string;
  description?: string;
  tags: string[];
}

export function keyvaultSecretSetCommand(ctx: CliContext): Command {
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
    const { setKeyvaultSecret } = await import('../../../engine/keyvault.js');
    const bundle = await setKeyvaultSecret(
      { vaultName: flags.vaultName, name: flags.name, value: flags.value, file: flags.file, encoding: flags.encoding, contentType: flags.description, tags: flags.tags },
      { home: ctx.home, cwd: ctx.cwd },
    );
    await printData(ctx, bundle, flags);
  });
}
