import { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { checkOutputFlags, printData, withOutputOptions, type OutputFlags } from '../../print.js';
import { daemonGoesOn, withProgress } from '../../progress.js';

interface BuildFlags extends OutputFlags {
  name: string;
  endpointName: string;
  tag: string;
  push: boolean;
}

export function deploymentBuildCommand(ctx: CliContext): Command {
  return withOutputOptions(
    new Command('build')
      .description(
        "Build a deployment into one self-contained image (its environment, oep's scoring server, the code and the model) " +
          'that answers POST /score on port 5001 with plain docker run (--tag IMAGE; --push to the registry it names). ' +
          'An unchanged deployment builds nothing.',
      )
      .requiredOption('-n, --name <name>', 'deployment name')
      .requiredOption('-e, --endpoint-name <name>', 'endpoint name')
      .requiredOption('-t, --tag <image>', 'the image to make, e.g. myregistry.azurecr.io/sklearn-blue:1')
      .option('--push', 'push the image to the registry named in the tag', false),
  ).action(async (flags: BuildFlags) => {
    await checkOutputFlags(flags);
    const { buildDeploymentImage } = await import('../../../engine/build.js');
    const result = (await withProgress(ctx, 'building image', flags.push ? 'image built and pushed' : 'image built', (progress) =>
      buildDeploymentImage(flags, {
        client: ctx.client,
        cwd: ctx.cwd,
        onEvent: progress.onEvent,
        onSubmit: ({ endpoint, deployment }) =>
          (progress.whenInterrupted = daemonGoesOn(`building the image of deployment ${deployment} of endpoint ${endpoint}`, `docker image inspect ${flags.tag}`)),
      }),
    )) as { image: string; port: number };
    await printData(ctx, result, flags);
    ctx.stderr.write(`hint: run it with: docker run --rm -p 127.0.0.1:8080:${result.port} ${result.image}\n`);
  });
}
