import { OepError } from '../errors.js';
import type { DeploymentSpec } from '../spec/types.js';

/** The flags of the create that failed, which its update takes too. */
export interface CreateFlags {
  file?: string;
  name?: string;
  endpointName?: string;
  set: string[];
}

/**
 * A create that fails after the daemon recorded the deployment leaves it in place, Failed, as
 * Azure does; running the same create again is then refused, as `az ml online-deployment create`
 * refuses an existing name (docs/behaviour.md, "Deployments"). So the hint of such a failure names
 * the command that takes a fix: `deployment update` with the same file and flags.
 */
export function keptAfterFailedCreate(error: unknown, flags: CreateFlags, spec: DeploymentSpec): unknown {
  // Ctrl-C: the daemon is still at work and the CLI says how to follow it (cli/progress.ts).
  // A daemon that stopped answering: its message says what became of the create.
  if (!(error instanceof OepError) || error.code === 'OEP_ERR_INTERRUPTED' || error.code === 'OEP_ERR_DAEMON_LOST') return error;
  const kept =
    `Deployment ${spec.name} is kept, Failed (as in Azure), and create refuses a name that exists: ` +
    `make the change with ${updateCommand(flags)}, or delete it first (oep deployment delete -n ${spec.name} -e ${spec.endpoint_name} --yes).`;
  return new OepError(error.code, error.message, {
    hint: error.hint ? `${error.hint} ${kept}` : kept,
    details: error.details,
    ...(error.phase !== undefined && { phase: error.phase }),
  });
}

/** `oep deployment update` with the create's own -f, -n, -e and --set, ready to paste. */
export function updateCommand(flags: CreateFlags): string {
  const words = ['oep', 'deployment', 'update'];
  if (flags.file !== undefined) words.push('-f', shellWord(flags.file));
  if (flags.name !== undefined) words.push('-n', shellWord(flags.name));
  if (flags.endpointName !== undefined) words.push('-e', shellWord(flags.endpointName));
  for (const expression of flags.set) words.push('--set', shellWord(expression));
  return words.join(' ');
}

/** A word as a POSIX shell reads it back: as it is when plain, else in single quotes. */
function shellWord(text: string): string {
  if (/^[\w@%+=:,./-]+$/.test(text)) return text;
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
