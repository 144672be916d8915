import { Command } from 'commander';
import type { CliContext } from '../../context.js';

export function deploymentInvokeCommand(ctx: CliContext): Command {
  return new Command('invoke')
    .description('Send a scoring request to one deployment through the router (azureml-model-deployment header).')
    .requiredOption('-n, --name <name>', 'deployment name')
    .requiredOption('-e, --endpoint-name <name>', 'endpoint name')
    .option('-r, --request-file <file>', 'request body (JSON file, or - for standard input)')
    .action(async (flags: { name: string; endpointName: string; requestFile?: string }) => {
      const { invokeEndpoint } = await import('../../../engine/invoke.js');
      const result = await invokeEndpoint(
        { endpoint: flags.endpointName, deployment: flags.name, requestFile: flags.requestFile, stdin: ctx.stdin },
        { client: ctx.client, cwd: ctx.cwd },
      );
      ctx.stdout.write(result.body.endsWith('\n') ? result.body : `${result.body}\n`);
    });
}
