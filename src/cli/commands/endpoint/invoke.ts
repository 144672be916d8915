import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { checkOutputFlags, printResponseBody, withOptionalOutputOptions, type OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';

export interface EndpointInvokeOptions extends Partial<OutputFlags> {
  name: string;
  /** The request body's file, or - for standard input. */
  requestFile?: string;
  /** Send to this deployment (azureml-model-deployment header). */
  deploymentName?: string;
}

/** Sends the request through the endpoint and prints the response body. */
export async function runEndpointInvoke(ctx: CliContext, options: EndpointInvokeOptions): Promise<void> {
  const { invokeEndpoint } = await import('../../../engine/invoke.js');
  const result = await invokeEndpoint(
    { endpoint: options.name, requestFile: options.requestFile, deployment: options.deploymentName, stdin: ctx.stdin },
    { client: ctx.client, cwd: ctx.cwd },
  );
  await printResponseBody(ctx, result.body, options);
}

export function endpointInvokeCommand(ctx: CliContext, run: RunCommand<EndpointInvokeOptions> = runEndpointInvoke): Command {
  return withOptionalOutputOptions(
    new Command('invoke')
      .description('Send a scoring request through the endpoint (with its key) and print the response body.')
      .requiredOption('-n, --name <name>', 'endpoint name')
      .option('-r, --request-file <file>', 'request body (JSON file, or - for standard input)')
      .option('-d, --deployment-name <name>', 'send to this deployment (azureml-model-deployment header)'),
  ).action(async (flags: EndpointInvokeOptions) => {
    if (flags.output !== undefined || flags.query !== undefined) await checkOutputFlags({ output: flags.output ?? 'json', query: flags.query });
    await run(ctx, { name: flags.name, requestFile: flags.requestFile, deploymentName: flags.deploymentName, output: flags.output, query: flags.query });
  });
}
