import { resolve } from 'node:path';
import { OepError } from '../errors.js';
import { parseTrafficArg } from '../model/traffic.js';
import { loadEndpointSpec, unwrapSpec, validateEndpointObject } from '../spec/index.js';
import { readInputText } from '../spec/input-file.js';
import { MAX_YAML_BYTES } from '../spec/yaml-source.js';
import type { EndpointSpec } from '../spec/types.js';
import { specOrThrow, type EngineDeps } from './deps.js';
import { parseTlsFlag } from './tls-flag.js';

export interface EndpointUpdateOptions {
  name?: string;
  file?: string;
  traffic?: string;
  mirrorTraffic?: string;
  set: string[];
  /** --tls on|off: switch the protocol on the same port. */
  tls?: string;
}

/**
 * Updates an endpoint from a file, `--set` on its stored spec, and/or `--traffic` /
 * `--mirror-traffic`. Everything is parsed and validated before the daemon is asked to change
 * anything; the daemon then checks the traffic rules against the deployments that exist.
 */
export async function updateEndpoint(options: EndpointUpdateOptions, deps: EngineDeps): Promise<unknown> {
  const traffic = options.traffic === undefined ? undefined : parseTrafficArg(options.traffic, '--traffic');
  const mirror = options.mirrorTraffic === undefined ? undefined : parseTrafficArg(options.mirrorTraffic, '--mirror-traffic');
  const tls = parseTlsFlag(options.tls);
  let spec: EndpointSpec | undefined;
  let named = new Set<string>();
  if (options.file) {
    spec = specOrThrow(await loadEndpointSpec({ file: options.file, cwd: deps.cwd, name: options.name, set: options.set }), deps);
    named = await topLevelKeys(resolve(deps.cwd, options.file));
  } else if (options.set.length > 0) {
    if (!options.name) throw new OepError('OEP_ERR_USAGE', 'endpoint update needs -n/--name or -f/--file.');
    const stored = await deps.client.call('endpoint.spec', { name: options.name });
    // A stored managed endpoint always has a mirror map; empty, it means no key at all.
    if (Object.keys(stored.mirror_traffic ?? {}).length === 0) delete (stored as Partial<EndpointSpec>).mirror_traffic;
    spec = unwrapSpec(validateEndpointObject(stored, `endpoint ${options.name}`, options.set));
  }
  const name = spec?.name ?? options.name;
  if (!name) throw new OepError('OEP_ERR_USAGE', 'endpoint update needs -n/--name or -f/--file.');
  if (!spec && traffic === undefined && mirror === undefined && tls === undefined) {
    throw new OepError('OEP_ERR_USAGE', 'Nothing to update.', {
      hint: 'Give -f FILE, --set key=value, --traffic "blue=90 green=10", --mirror-traffic "green=10" or --tls on|off.',
    });
  }
  const setsKey = (key: string): boolean => named.has(key) || options.set.some((entry) => entry.startsWith(`${key}.`) || entry.startsWith(`${key}=`));
  const updated = await deps.client.call('endpoint.update', {
    name,
    spec,
    traffic,
    mirror,
    keepTraffic: options.file !== undefined && !setsKey('traffic'),
    keepMirror: options.file !== undefined && !setsKey('mirror_traffic'),
    ...(tls !== undefined && { tls }),
  });
  const trafficGiven = traffic !== undefined || mirror !== undefined || setsKey('traffic') || setsKey('mirror_traffic');
  if (updated.local === true && trafficGiven) {
    deps.onEvent?.({ phase: 'notice', message: `endpoint ${name} was created with --local: the traffic rules are kept but have no effect; every request goes to its one deployment.` });
  }
  return updated;
}

/** The top-level keys a YAML file names (it has been validated already). */
async function topLevelKeys(file: string): Promise<Set<string>> {
  const { parse } = await import('yaml');
  // Read as the validation read it (bounded, a regular file); the library's quadratic duplicate-key
  // check is off: validation has reported repeated keys already.
  const value: unknown = parse(await readInputText(file, MAX_YAML_BYTES), { uniqueKeys: false, logLevel: 'error' });
  return new Set(value && typeof value === 'object' ? Object.keys(value) : []);
}
