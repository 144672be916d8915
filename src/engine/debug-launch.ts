import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OepError } from '../errors.js';
import { DEFAULT_DEBUG_PORT, debugPortProblem, type DebugSettings } from '../model/debug.js';
import { LaunchJsonError, mergeLaunchConfiguration, type NamedConfiguration } from '../model/launch-json.js';

/** The debugging flags of `deployment create|update`. */
export interface DebugFlags {
  /** --debug: one replica, one worker, under debugpy. */
  debug?: boolean;
  /** --debug-port (default 5678). */
  debugPort?: string | number;
  /** --debug-wait: debugpy waits for a debugger before the scoring script loads. */
  debugWait?: boolean;
  /** --vscode: write the attach configuration into ./.vscode/launch.json. */
  vscode?: boolean;
}

/** The debug settings the flags ask for, or undefined without --debug; bad combinations are usage errors. */
export function debugSettingsOf(flags: DebugFlags): DebugSettings | undefined {
  if (!flags.debug) {
    const stray = [flags.debugPort !== undefined && '--debug-port', flags.debugWait && '--debug-wait', flags.vscode && '--vscode'].filter(Boolean);
    if (stray.length > 0) throw new OepError('OEP_ERR_USAGE', `${stray.join(', ')} ${stray.length === 1 ? 'goes' : 'go'} with --debug.`, { hint: 'Add --debug, or leave them out.' });
    return undefined;
  }
  const text = String(flags.debugPort ?? DEFAULT_DEBUG_PORT).trim();
  const port = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (debugPortProblem(port)) throw new OepError('OEP_ERR_USAGE', `--debug-port must be a port number (1-65535), not "${text}".`);
  return { port, wait: flags.debugWait === true };
}

/**
 * Writes `configuration` into `<cwd>/.vscode/launch.json`: added, or put in place of the
 * configuration of the same name; other configurations, comments and layout stay as they were.
 * Returns the file's path.
 */
export async function writeLaunchConfiguration(cwd: string, configuration: NamedConfiguration): Promise<string> {
  const folder = join(cwd, '.vscode');
  const file = join(folder, 'launch.json');
  const current = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  let next: string;
  try {
    next = mergeLaunchConfiguration(current, configuration);
  } catch (error) {
    if (!(error instanceof LaunchJsonError)) throw error;
    throw new OepError('OEP_ERR_USAGE', `${file} cannot be read as JSON with comments: ${error.message}.`, {
      hint: 'Fix the file (VS Code shows where), or add the configuration printed above by hand. The file was left as it was.',
    });
  }
  await mkdir(folder, { recursive: true });
  // Written whole or not at all: an editor may have the file open.
  await writeFile(`${file}.oep-tmp`, next);
  await rename(`${file}.oep-tmp`, file);
  return file;
}
