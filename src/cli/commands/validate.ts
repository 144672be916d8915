import { Command } from 'commander';
import { OepError } from '../../errors.js';
import type { CliContext } from '../context.js';
import { collect } from '../options.js';
import { localRunProblems } from '../../model/local-run.js';

export function validateCommand(ctx: CliContext): Command {
  return new Command('validate')
    .description('Check endpoint and deployment YAML files without creating anything.')
    .requiredOption('-f, --file <file>', 'YAML file (repeatable)', collect, [])
    .option('--set <key=value>', 'overrides a key (repeatable)', collect, [])
    .action(async (flags: { file: string[]; set: string[] }) => {
      const { loadAnySpec, formatProblem } = await import('../../spec/index.js');
      const problems: string[] = [];
      for (const file of flags.file) {
        let result;
        try {
          result = await loadAnySpec({ file, cwd: ctx.cwd, set: flags.set });
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
            for (const problem of localRunProblems(result.value.spec)) ctx.stderr.write(`warning: ${file}: ${problem}\n`);
          }
        }
      }
      if (problems.length > 0) {
        throw new OepError('OEP_ERR_SPEC_INVALID', `${problems.length} problem(s) found.`, { details: problems });
      }
    });
}
