import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { checkOutputFlags, printData, withOutputOptions, type OutputFlags } from '../../print.js';
import { daemonGoesOn, withProgress } from '../../progress.js';
import type { RunCommand } from '../../run-command.js';

export interface DeploymentBuildOptions extends OutputFlags {
  name: string;
  endpointName: string;
  /** The image to make. */
  tag: string;
  push: boolean;
  bakeEnv: boolean;
}

/** Builds the image under a progress display, prints what was made and how to run it. */
export async function runDeploymentBuild(ctx: CliContext, options: DeploymentBuildOptions): Promise<void> {
  const { buildDeploymentImage } = await import('../../../engine/build.js');
  const result = (await withProgress(ctx, 'building image', options.push ? 'image built and pushed' : 'image built', (progress) =>
    buildDeploymentImage(options, {
      client: ctx.client,
      cwd: ctx.cwd,
      onEvent: progress.onEvent,
      onSubmit: ({ endpoint, deployment }) =>
        (progress.whenInterrupted = daemonGoesOn(`building the image of deployment ${deployment} of endpoint ${endpoint}`, `docker image inspect ${options.tag}`)),
    }),
  )) as { image: string; port: number; env_file?: string; secret_references?: Record<string, string> };
  await printData(ctx, result, options);
  // environment_variables are not in the image: they come from the env file at run time.
  const envFile = result.env_file ? ` --env-file ${shellWord(result.env_file)}` : '';
  ctx.stderr.write(`hint: run it with: docker run --rm${envFile} -p 127.0.0.1:8080:${result.port} ${result.image}\n`);
  if (result.env_file) ctx.stderr.write(`hint: ${result.env_file} (0600) holds the deployment's environment_variables; the image has none of them.\n`);
  // Secret references: their values are in neither; docker run takes them from the shell.
  const references = Object.entries(result.secret_references ?? {});
  if (references.length > 0) {
    const { referenceValueCommand } = await import('../../../model/secret-references.js');
    const exports = references.map(([name, written]) => {
      const command = referenceValueCommand(written);
      return command ? `export ${name}="$(${command})"` : `export ${name}=... (${written.trim()})`;
    });
    ctx.stderr.write(`hint: ${references.map(([name]) => name).join(', ')} are secret references: neither the image nor the env file holds their values; set them in the shell that runs docker run: ${exports.join('; ')}\n`);
  }
}

export function deploymentBuildCommand(ctx: CliContext, run: RunCommand<DeploymentBuildOptions> = runDeploymentBuild): Command {
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
      .option('--push', 'push the image to the registry named in the tag', false)
      .option(
        '--bake-env',
        "write environment_variables into the image's ENV (shown by docker inspect and docker history, and pushed with it) instead of the env file given at docker run",
        false,
      ),
  ).action(async (flags: DeploymentBuildOptions) => {
    await checkOutputFlags(flags);
    await run(ctx, { name: flags.name, endpointName: flags.endpointName, tag: flags.tag, push: flags.push, bakeEnv: flags.bakeEnv, output: flags.output, query: flags.query });
  });
}

/** A path as one shell word: as it is when it is plain, else in single quotes. */
function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
