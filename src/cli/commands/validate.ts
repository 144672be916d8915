import { Command } from '../commander.js';
import { OepError } from '../../errors.js';
import type { CliContext } from '../context.js';
import { collect, setOption } from '../options.js';
import type { RunCommand } from '../run-command.js';
import { localRunProblems } from '../../model/local-run.js';

export interface ValidateOptions {
  /** The YAML files, in the order given. */
  file: string[];
  name?: string;
  endpointName?: string;
  set: string[];
}

/**
 * Checks each file as create would (and, for a deployment, what this machine cannot run and the
 * secret references), printing each valid one; all the problems of all files make one error.
 */
export async function runValidate(ctx: CliContext, options: ValidateOptions): Promise<void> {
  const { loadAnySpec, loadBatchSpecIfBatch, formatProblem } = await import('../../spec/index.js');
  const { resolveDeploymentAssets } = await import('../../registry/resolve.js');
  const problems: string[] = [];
  for (const file of options.file) {
    let result;
    try {
      // A template's placeholder names are only warnings here: scripts give them with -n/-e at create.
      const load = { file, cwd: ctx.cwd, name: options.name, endpointName: options.endpointName, set: options.set, placeholders: 'warn' as const };
      result = (await loadBatchSpecIfBatch(load)) ?? (await loadAnySpec(load));
    } catch (error) {
      if (error instanceof OepError) {
        problems.push(`${error.message}${error.hint ? `\n  hint: ${error.hint}` : ''}`);
        continue;
      }
      throw error;
    }
    for (const warning of result.warnings) ctx.stderr.write(`warning: ${formatProblem(warning)}\n`);
    if (result.errors.length > 0) problems.push(...result.errors.map(formatProblem));
    else if (result.value) {
      ctx.stdout.write(`${file}: valid ${result.value.kind} "${result.value.spec.name}"\n`);
      if (result.value.kind === 'deployment') {
        // Every model or environment form this machine cannot run is said here, before create.
        const resolved = await resolveDeploymentAssets(result.value.spec, ctx.home);
        for (const problem of [...resolved.warnings, ...resolved.problems, ...localRunProblems(resolved.spec)]) {
          ctx.stderr.write(`warning: ${file}: ${problem}\n`);
        }
        // Secret references that are malformed or name nothing here: create would refuse them.
        const { secretInjectionProblems } = await import('../../engine/secret-check.js');
        const secrets = await secretInjectionProblems(resolved.spec, {
          home: ctx.home,
          env: ctx.env,
          source: { file, cwd: ctx.cwd, name: options.name, endpointName: options.endpointName, set: options.set },
        });
        for (const problem of secrets.problems) ctx.stderr.write(`warning: ${formatProblem(problem)}\n`);
      }
    }
  }
  if (problems.length > 0) {
    throw new OepError('OEP_ERR_SPEC_INVALID', `${problems.length} problem(s) found.`, { details: problems });
  }
}

export function validateCommand(ctx: CliContext, run: RunCommand<ValidateOptions> = runValidate): Command {
  return new Command('validate')
    .description('Check endpoint and deployment YAML files without creating anything.')
    // No default list: with one, commander counts the option as given and `oep validate` alone checked nothing.
    .requiredOption('-f, --file <file>', 'YAML file (repeatable)', collect)
    .option('-n, --name <name>', 'overrides the name, as create does')
    .option('-e, --endpoint-name <name>', 'overrides endpoint_name of deployments, as create does')
    .addOption(setOption('overrides a key'))
    .action(async (flags: ValidateOptions) => {
      await run(ctx, { file: flags.file, name: flags.name, endpointName: flags.endpointName, set: flags.set });
    });
}
