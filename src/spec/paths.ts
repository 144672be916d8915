import { statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { describeSpecialFile } from './input-file.js';
import { isRecord } from './plain-data.js';
import type { PathSegment, RawProblem } from './problem.js';

/** What relative paths resolve against, and how to say so in a hint. */
export interface PathBase {
  dir: string;
  /** e.g. "the directory of deploy.yml" */
  description: string;
}

type Expected = 'file' | 'directory' | 'file or directory';

/**
 * Makes model.path, code_configuration.code, environment.conda_file and environment.build.path
 * absolute (in place) and checks that they, the scoring script and the Dockerfile exist.
 * Remote URIs (azureml:, azureml://, https://, git+https://) are left as written.
 */
export function resolveLocalPaths(data: Record<string, unknown>, base: PathBase): RawProblem[] {
  const problems: RawProblem[] = [];
  const local = (holder: unknown, key: string, path: PathSegment[], expected: Expected): string | undefined => {
    if (!isRecord(holder)) return undefined;
    const given = holder[key];
    if (typeof given !== 'string' || given === '' || isRemote(given)) return undefined;
    const absolute = resolve(base.dir, given);
    holder[key] = absolute;
    const hint = isAbsolute(given) ? undefined : `resolved to ${absolute} (relative paths start from ${base.description})`;
    return check(problems, path, given, absolute, expected, hint) ? absolute : undefined;
  };

  local(data.model, 'path', ['model', 'path'], 'file or directory');
  const code = local(data.code_configuration, 'code', ['code_configuration', 'code'], 'directory');
  const script = isRecord(data.code_configuration) ? data.code_configuration.scoring_script : undefined;
  if (code !== undefined && typeof script === 'string' && script !== '') {
    const absolute = resolve(code, script);
    const hint = `resolved to ${absolute} (scoring_script is relative to code)`;
    check(problems, ['code_configuration', 'scoring_script'], script, absolute, 'file', hint);
  }
  const env = isRecord(data.environment) ? data.environment : undefined;
  local(env, 'conda_file', ['environment', 'conda_file'], 'file');
  const context = local(env?.build, 'path', ['environment', 'build', 'path'], 'directory');
  const dockerfile = isRecord(env?.build) ? env.build.dockerfile_path : undefined;
  if (context !== undefined && typeof dockerfile === 'string' && dockerfile !== '') {
    const absolute = resolve(context, dockerfile);
    const hint = `resolved to ${absolute} (dockerfile_path is relative to build.path)`;
    check(problems, ['environment', 'build', 'dockerfile_path'], dockerfile, absolute, 'file', hint);
  }
  return problems;
}

/** Adds a problem unless `absolute` exists and is what `expected` says; true when it is. */
function check(
  problems: RawProblem[],
  path: PathSegment[],
  given: string,
  absolute: string,
  expected: Expected,
  hint: string | undefined,
): boolean {
  let stat: ReturnType<typeof statSync>;
  let message: string | undefined;
  try {
    stat = given.includes('\0') ? undefined : statSync(absolute, { throwIfNoEntry: false });
  } catch (error) {
    // Not a path the file system takes (a name over 255 bytes, a path over PATH_MAX, a loop).
    const code = (error as NodeJS.ErrnoException).code ?? 'an error';
    problems.push({ path, at: 'value', message: `"${shorten(given)}" cannot be used as a path (${code}: ${PATH_ERRORS[code] ?? (error as Error).message}).` });
    return false;
  }
  if (given.includes('\0')) message = 'Contains a NUL character, which no path can hold.';
  else if (stat === undefined) message = `"${given}" does not exist.`;
  // A FIFO, a device or a socket: reading or copying it blocks or never ends (/dev/zero).
  else if (!stat.isFile() && !stat.isDirectory()) message = `"${given}" is ${describeSpecialFile(stat)}; expected ${expected === 'file or directory' ? 'a file or a directory' : `a ${expected}`}.`;
  else if (expected === 'directory' && !stat.isDirectory()) message = `"${given}" is a file; expected a directory.`;
  else if (expected === 'file' && stat.isDirectory()) message = `"${given}" is a directory; expected a file.`;
  if (message === undefined) return true;
  problems.push({ path, at: 'value', message, hint });
  return false;
}

// A scheme of two or more letters: keeps Windows drive letters (C:\...) local.
function isRemote(path: string): boolean {
  return /^[a-zA-Z][a-zA-Z0-9+.-]+:/.test(path);
}

const PATH_ERRORS: Record<string, string> = {
  ENAMETOOLONG: 'a name in it is longer than the file system allows',
  ELOOP: 'it goes round a loop of symbolic links',
  EACCES: 'permission denied on a folder on the way',
  ENOTDIR: 'a part of it is a file, not a folder',
};

/** Long values are cut in messages, so a 10,000-character path does not flood the terminal. */
function shorten(text: string): string {
  return text.length > 120 ? `${text.slice(0, 60)}...${text.slice(-40)} (${text.length} characters)` : text;
}

/**
 * A data asset's path (`oep data create`), made absolute in place and checked: a file for
 * uri_file, a folder for uri_folder (the default). A remote path (azureml://, https://, wasbs://)
 * is a problem: oep's registry keeps a copy of local files and has no storage to read from.
 */
export function resolveDataPath(data: Record<string, unknown>, base: PathBase): RawProblem[] {
  const given = data.path;
  if (typeof given !== 'string' || given === '') return [];
  if (isRemote(given)) {
    return [
      {
        path: ['path'],
        at: 'value',
        message: `"${shorten(given)}" is in remote storage, which oep cannot read.`,
        hint: 'download the files and give their local path; oep keeps a copy of them in its local registry',
      },
    ];
  }
  const absolute = resolve(base.dir, given);
  data.path = absolute;
  const expected: Expected = data.type === 'uri_file' ? 'file' : 'directory';
  const where = isAbsolute(given) ? undefined : `resolved to ${absolute} (relative paths start from ${base.description})`;
  const kindHint = expected === 'file' ? 'type uri_file takes one file; use type uri_folder for a folder' : 'type uri_folder (the default) takes a folder; use type uri_file for one file';
  const problems: RawProblem[] = [];
  if (!check(problems, ['path'], given, absolute, expected, where)) {
    // A file given as uri_folder (or the reverse): say which type fits.
    const problem = problems[0];
    if (problem && /expected a (file|directory)\.$/.test(problem.message)) problem.hint = [where, kindHint].filter((h) => h !== undefined).join('; ');
  }
  return problems;
}
