import { Command } from 'commander';
import type { CliContext } from '../../context.js';

export function endpointInvokeCommand(ctx: CliContext): Command {
  return new Command('invoke')
    .description('Send a scoring request through the endpoint (with its key) and print the response body.')
    .requiredOption('-n, --name <name>', 'endpoint name')
    .option('-r, --request-file <file>', 'request body (JSON file, or - for standard input)')
    .option('-d, --deployment-name <name>', 'send to this deployment (azureml-model-deployment header)')
    .action(async (flags: { name: string; requestFile?: string; deploymentName?: string }) => {
      const { invokeEndpoint } = await import('../../../engine/invoke.js');
      const result = await invokeEndpoint(
        { endpoint: flags.name, requestFile: flags.requestFile, deployment: flags.deploymentName, stdin: ctx.stdin },
        { client: ctx.client, cwd: ctx.cwd },
      );
      ctx.stdout.write(result.body.endsWith('\n') ? result.body : `${result.body}\n`);
    });
}
