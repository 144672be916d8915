import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface PreparedReport {
  runtime: string;
  image?: string;
  configHash?: string;
  command?: string;
  mounts: string[];
  environment: Record<string, string>;
}

const SECRET_NAME = /(key|secret|token|password|passwd|credential|connection_?string|sas)/i;

/** Environment values whose names look secret are masked before they are written anywhere. */
export function maskEnvironment(environment: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(environment).map(([name, value]) => [name, SECRET_NAME.test(name) ? '***' : value]));
}

/** Writes what a runtime prepared, for `get-logs --container storage-initializer`. */
export async function writePreparedLog(file: string, report: PreparedReport): Promise<void> {
  const lines = [`${new Date().toISOString()} prepared deployment (runtime: ${report.runtime})`];
  if (report.image) lines.push(`image: ${report.image}`);
  if (report.configHash) lines.push(`config hash: ${report.configHash}`);
  if (report.command) lines.push(`command: ${report.command}`);
  lines.push('mounts:', ...report.mounts.map((mount) => `  ${mount}`));
  lines.push('environment:', ...Object.entries(maskEnvironment(report.environment)).map(([name, value]) => `  ${name}=${value}`));
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${lines.join('\n')}\n`);
}
