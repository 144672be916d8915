import { mkdir, open } from 'node:fs/promises';
import { REPLACE_NOFOLLOW } from '../model/file-flags.js';
import { dirname } from 'node:path';
import { injectedReference } from './injected-values.js';

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

/** Words in a name that say its value is secret (a JSON key, a command-line flag, a query parameter). */
const SECRET_WORD = '(?:key|secret|token|password|passwd|pwd|credential|sas|sig|signature|auth)';
/** A JSON member whose name looks secret: `"password": "v"`, `"apiKey":123` (the value, string or bare). */
const SECRET_JSON = new RegExp(`("[^"\\\\]*${SECRET_WORD}[^"\\\\]*"\\s*:\\s*)("(?:[^"\\\\]|\\\\.)*"|[^,}\\]\\s{["]+)`, 'gi');
/** A command-line flag whose name looks secret, then its value as the next word: `--api-key v`, `-password v`. */
const SECRET_FLAG = new RegExp(`(^|\\s)(--?[a-z0-9_.-]*${SECRET_WORD}[a-z0-9_.-]*)(\\s+)(?!-)(\\S+)`, 'gi');
/** A credential after its scheme: `Bearer v`, `Basic v` (an Authorization header's value). */
const AUTH_SCHEME = /\b(Bearer|Basic)(\s+)[A-Za-z0-9\-._~+/]+=*/gi;
/** A URL: scheme and host, then the rest (path, query, fragment). */
const URL_PARTS = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#"'<>]+)([^\s"'<>]*)/gi;

/**
 * Masks what looks secret inside a value that is shown anyway: the password (or token) in a URL's
 * user-info (`postgres://admin:***@db/x`), secret-looking `name=value` pairs (`?sig=***`,
 * `AccountKey=***`), JSON members (`"password": "***"`), command-line flags (`--api-key ***`),
 * credentials after their scheme (`Bearer ***`) and the secret path of a webhook URL
 * (`https://hooks.slack.com/***`, `https://discord.com/api/webhooks/***`).
 */
export function maskValue(value: string): string {
  return value
    .replace(URL_USERINFO, (_all, scheme: string, userinfo: string) => {
      const colon = userinfo.indexOf(':');
      return `${scheme}${colon >= 0 ? `${userinfo.slice(0, colon)}:***` : '***'}@`;
    })
    .replace(URL_PARTS, maskWebhook)
    .replace(SECRET_PAIR, (_all, before: string, name: string) => `${before}${name}***`)
    .replace(SECRET_JSON, (_all, name: string) => `${name}"***"`)
    .replace(SECRET_FLAG, (_all, before: string, flag: string, space: string) => `${before}${flag}${space}***`)
    .replace(AUTH_SCHEME, (_all, scheme: string, space: string) => `${scheme}${space}***`);
}

/**
 * A webhook URL is its own credential: whoever has it can post. A host that says so
 * (`hooks.slack.com`, `*.webhook.office.com`) keeps only itself; otherwise the path is kept up
 * to its webhook segment (`/api/webhooks`, `/hooks`) and the rest masked.
 */
function maskWebhook(all: string, scheme: string, host: string, rest: string): string {
  if (rest.length <= 1) return all;
  if (/hook/i.test(host)) return `${scheme}${host}/***`;
  const segment = /^(.*?\/[^/?#]*hook[^/?#]*)(?=[/?#])/i.exec(rest);
  return segment ? `${scheme}${host}${segment[1]}/***` : all;
}

/**
 * Environment values whose names look secret are masked whole, and credentials inside other
 * values (URLs, connection strings) are masked in place, before they are written anywhere.
 */
export function maskEnvironment(environment: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(environment).map(([name, value]) => {
      // An injected secret shows as the reference it was resolved from, whatever the variable's name.
      const injected = injectedReference(value);
      if (injected !== undefined) return [name, `${injected} (injected)`];
      return [name, SECRET_NAME.test(name) ? '***' : maskValue(value)];
    }),
  );
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
