import { mkdir, open } from 'node:fs/promises';
import { REPLACE_NOFOLLOW } from '../model/file-flags.js';
import { dirname } from 'node:path';

export interface PreparedReport {
  runtime: string;
  image?: string;
  configHash?: string;
  command?: string;
  mounts: string[];
  environment: Record<string, string>;
}

const SECRET_NAME = /(key|secret|token|password|passwd|pwd|credential|connection_?string|sas)/i;
/** The user-info of a URL: `scheme://user:password@` or `scheme://token@`. */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@]*)@/gi;
/** A query parameter or `name=value` pair whose name looks secret (`?sig=...`, `;Password=...`). */
const SECRET_PAIR = /(^|[?&;\s])([^=&;\s?]*(?:key|secret|token|password|passwd|pwd|sig|signature|credential|sas)[^=&;\s]*=)([^&;\s#]*)/gi;

/**
 * Masks what looks secret inside a value that is shown anyway: the password (or token) in a URL's
 * user-info (`postgres://admin:***@db/x`) and secret-looking `name=value` pairs (`?sig=***`,
 * `AccountKey=***`).
 */
export function maskValue(value: string): string {
  return value
    .replace(URL_USERINFO, (_all, scheme: string, userinfo: string) => {
      const colon = userinfo.indexOf(':');
      return `${scheme}${colon >= 0 ? `${userinfo.slice(0, colon)}:***` : '***'}@`;
    })
    .replace(SECRET_PAIR, (_all, before: string, name: string) => `${before}${name}***`);
}

/**
 * Environment values whose names look secret are masked whole, and credentials inside other
 * values (URLs, connection strings) are masked in place, before they are written anywhere.
 */
export function maskEnvironment(environment: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(environment).map(([name, value]) => [name, SECRET_NAME.test(name) ? '***' : maskValue(value)]));
}

/** Writes what a runtime prepared, for `get-logs --container storage-initializer`. */
export async function writePreparedLog(file: string, report: PreparedReport): Promise<void> {
  const lines = [`${new Date().toISOString()} prepared deployment (runtime: ${report.runtime})`];
  if (report.image) lines.push(`image: ${report.image}`);
  if (report.configHash) lines.push(`config hash: ${report.configHash}`);
  if (report.command) lines.push(`command: ${maskValue(report.command)}`);
  lines.push('mounts:', ...report.mounts.map((mount) => `  ${mount}`));
  lines.push('environment:', ...Object.entries(maskEnvironment(report.environment)).map(([name, value]) => `  ${name}=${value}`));
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  // Never through a link (O_NOFOLLOW), and the mode set on what was opened: a chmod by name
  // would follow a link. (Opening keeps the mode of a file that exists, e.g. from an older oep.)
  const handle = await open(file, REPLACE_NOFOLLOW, 0o600);
  try {
    await handle.chmod(0o600);
    await handle.writeFile(`${lines.join('\n')}\n`);
  } finally {
    await handle.close();
  }
}
