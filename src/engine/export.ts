import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { OepError } from '../errors.js';
import { checkRegistry } from '../export/image-reference.js';
import { AUTH_POLICIES, exportKubernetes, type AuthPolicy } from '../export/kubernetes.js';
import { GENERATED_MARKER, renderFolder, renderList, renderStream } from '../export/render.js';
import type { EngineDeps } from './deps.js';

export const EXPORT_FORMATS = ['kubernetes'] as const;
export const EXPORT_OUTPUTS = ['yaml', 'json'] as const;

export interface EndpointExportOptions {
  name: string;
  format: string;
  registry?: string;
  gatewayClass: string;
  authPolicy: string;
  /** Write a folder for `kubectl apply -k` here. */
  directory?: string;
  /** Or print the objects: yaml (the default without a directory) or json. */
  output?: string;
}

/** Either the folder written (and its files), or the text to print. */
export type EndpointExportResult = { directory: string; files: string[] } | { text: string };

// A GatewayClass name is a DNS-1123 subdomain.
const SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * `oep endpoint export`: reads the endpoint from the daemon, turns it into documents (a pure
 * function of src/export) and writes them. Warnings (settings with no equivalent) go out as
 * progress events. A folder is written in place: files an earlier export wrote and that are no
 * longer part of the endpoint are removed; a file oep did not write is never overwritten.
 */
export async function exportEndpoint(options: EndpointExportOptions, deps: EngineDeps): Promise<EndpointExportResult> {
  if (!(EXPORT_FORMATS as readonly string[]).includes(options.format)) {
    throw new OepError('OEP_ERR_USAGE', `--format must be ${EXPORT_FORMATS.join(' or ')}, not "${options.format}".`);
  }
  if (!(AUTH_POLICIES as readonly string[]).includes(options.authPolicy)) {
    throw new OepError('OEP_ERR_USAGE', `--auth-policy must be one of ${AUTH_POLICIES.join(', ')}, not "${options.authPolicy}".`);
  }
  if (!SUBDOMAIN.test(options.gatewayClass)) {
    throw new OepError('OEP_ERR_USAGE', `--gateway-class "${options.gatewayClass}" is not a valid GatewayClass name (lower-case letters, digits, "-" and ".").`);
  }
  if (options.registry !== undefined) {
    const problem = checkRegistry(options.registry);
    if (problem) throw new OepError('OEP_ERR_USAGE', problem);
  }
  if (options.directory !== undefined && options.output !== undefined) {
    throw new OepError('OEP_ERR_USAGE', '-d/--directory and -o/--output are exclusive: write a folder, or print the objects.');
  }
  if (options.output !== undefined && !(EXPORT_OUTPUTS as readonly string[]).includes(options.output)) {
    throw new OepError('OEP_ERR_USAGE', `-o/--output must be yaml or json for an export, not "${options.output}".`);
  }

  const source = await deps.client.call('endpoint.export', { name: options.name });
  const exported = exportKubernetes(source, { registry: options.registry, gatewayClass: options.gatewayClass, authPolicy: options.authPolicy as AuthPolicy });
  for (const warning of exported.warnings) deps.onEvent?.({ phase: 'warning', message: warning });

  if (options.directory === undefined) return { text: options.output === 'json' ? renderList(exported) : renderStream(exported) };
  const directory = resolve(deps.cwd, options.directory);
  const folder = renderFolder(exported);
  await mkdir(directory, { recursive: true });
  const existing = await readdir(directory).catch(() => [] as string[]);
  const generated = new Set<string>();
  for (const name of existing) if (await isGenerated(join(directory, name))) generated.add(name);
  const foreign = Object.keys(folder).filter((name) => existing.includes(name) && !generated.has(name));
  if (foreign.length > 0) {
    throw new OepError('OEP_ERR_USAGE', `${directory} has ${foreign.join(', ')}, which oep did not write; the export would overwrite ${foreign.length === 1 ? 'it' : 'them'}.`, {
      hint: 'Export into an empty or new folder (-d DIR), or move those files away. Nothing was written.',
    });
  }
  for (const name of generated) if (!(name in folder)) await rm(join(directory, name), { force: true });
  for (const [name, text] of Object.entries(folder)) await writeFile(join(directory, name), text, { mode: name === 'secret.yaml' ? 0o600 : 0o644 });
  return { directory, files: Object.keys(folder).map((name) => join(directory, name)) };
}

async function isGenerated(file: string): Promise<boolean> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n', 1)[0] === GENERATED_MARKER;
}
