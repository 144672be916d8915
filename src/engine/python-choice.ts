import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import type { PythonChoice, PythonProblem, PythonSource } from '../model/process-interpreter.js';

export interface PythonChoiceOptions {
  /** The command's environment: OEP_PYTHON and PATH. */
  env: NodeJS.ProcessEnv;
  /** The command's directory: a relative OEP_PYTHON or setting resolves against it. */
  cwd: string;
  /** `oep config get python` (read from the command's OEP_HOME). */
  setting: () => Promise<string>;
  /** The setting's default value, which is reported as the default rather than as a setting. */
  settingDefault: string;
}

/**
 * The process runtime's interpreter as a create or update names it: OEP_PYTHON in the command's
 * environment (empty is unset), else `oep config get python` (python3 by default). It is resolved
 * here, in the command's environment, because the daemon's is another one (the shell that first
 * started it): a name is looked up on the command's PATH, a relative path against its directory.
 * The result is an absolute path the daemon records with the deployment, or, when nothing usable
 * is there, the problem; the daemon refuses it only if the deployment runs on the process runtime.
 */
export async function resolvePythonChoice(options: PythonChoiceOptions): Promise<PythonChoice> {
  const fromEnvironment = options.env.OEP_PYTHON;
  let named: string;
  let source: PythonSource;
  if (fromEnvironment) {
    named = fromEnvironment;
    source = 'OEP_PYTHON';
  } else {
    named = await options.setting();
    source = named === options.settingDefault ? 'default' : 'setting';
  }
  const found = named.includes('/') ? await checkExecutable(resolve(options.cwd, named)) : await searchPath(named, options.env.PATH ?? '', options.cwd);
  return { named, source, path: found.path, ...(found.problem && { problem: found.problem }) };
}

/** A path as it is: absolute, with what stops it from running, if anything. */
async function checkExecutable(path: string): Promise<{ path: string; problem?: PythonProblem }> {
  const info = await stat(path).catch(() => undefined);
  if (!info) return { path, problem: 'missing' };
  if (!info.isFile()) return { path, problem: 'not-a-file' };
  const runnable = await access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
  return runnable ? { path } : { path, problem: 'not-executable' };
}

/**
 * A name looked up as execvp does: the first executable file of that name in PATH's folders (an
 * empty entry is the current directory); else not executable when some folder has one that is
 * not, else missing (the path then stays the name).
 */
async function searchPath(name: string, path: string, cwd: string): Promise<{ path: string; problem?: PythonProblem }> {
  let notExecutable: string | undefined;
  for (const folder of path.split(delimiter)) {
    const candidate = join(isAbsolute(folder) ? folder : resolve(cwd, folder), name);
    const found = await checkExecutable(candidate);
    if (!found.problem) return found;
    if (found.problem === 'not-executable') notExecutable ??= candidate;
  }
  return notExecutable ? { path: notExecutable, problem: 'not-executable' } : { path: name, problem: 'missing' };
}
