import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { checkOutputFlags, printResponseBody, withOptionalOutputOptions, type OutputFlags } from '../../print.js';

interface Flags extends Partial<OutputFlags> {
  name: string;
  requestFile?: string;
  deploymentName?: string;
}

export function endpointInvokeCommand(ctx: CliContext): Command {
  return withOptionalOutputOptions(
    new Command('invoke')
      .description('Send a scoring request through the endpoint (with its key) and print the response body.')
      .requiredOption('-n, --name <name>', 'endpoint name')
      .option('-r, --request-file <file>', 'request body (JSON file, or - for standard input)')
      .option('-d, --deployment-name <name>', 'send to this deployment (azureml-model-deployment header)'),
  ).action(async (flags: Flags) => {
    if (flags.output !== undefined || flags.query !== undefined) await checkOutputFlags({ output: flags.output ?? 'json', query: flags.query });
    const { invokeEndpoint } = await import('../../../engine/invoke.js');
    const result = await invokeEndpoint(
      { endpoint: flags.name, requestFile: flags.requestFile, deployment: flags.deploymentName, stdin: ctx.stdin },
      { client: ctx.client, cwd: ctx.cwd },
    );
    await printResponseBody(ctx, result.body, flags);
  });
}
