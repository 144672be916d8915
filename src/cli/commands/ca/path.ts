import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import type { RunCommand } from '../../run-command.js';

/** `oep ca path` takes no flags of its own. */
export type CaPathOptions = Record<string, never>;

/** Makes the local CA on first use and prints its certificate's file. */
export async function runCaPath(ctx: CliContext, _options: CaPathOptions): Promise<void> {
  const { localCa } = await import('../../../tls/local-ca.js');
  const { caCertificateFile } = await import('../../../tls/paths.js');
  localCa(ctx.home);
  ctx.stdout.write(`${caCertificateFile(ctx.home)}\n`);
}

/** `oep ca path`: the file of oep's local CA certificate (made on first use), for clients to trust. */
export function caPathCommand(ctx: CliContext, run: RunCommand<CaPathOptions> = runCaPath): Command {
  return new Command('path')
    .description("Print the file of oep's local CA certificate, which signs the certificates of HTTPS endpoints (made on first use).")
    .addHelpText(
      'after',
      '\nTrust it in a client:\n' +
        '  curl --cacert "$(oep ca path)" https://127.0.0.1:PORT/score ...\n' +
        '  REQUESTS_CA_BUNDLE="$(oep ca path)" python3 client.py    (Python requests)\n' +
        '  NODE_EXTRA_CA_CERTS="$(oep ca path)" node client.js\n' +
        'The CA is local to this OEP_HOME; its private key stays in $OEP_HOME/tls (0600).\n',
    )
    .action(async () => {
      await run(ctx, {});
    });
}
