import { loadEndpointSpec, unwrapSpec } from '../spec/index.js';
import type { EngineDeps } from './deps.js';

export interface EndpointCreateOptions {
  file: string;
  name?: string;
  authMode?: string;
  set: string[];
}

export async function createEndpoint(options: EndpointCreateOptions, deps: EngineDeps): Promise<unknown> {
  const set = options.authMode ? [...options.set, `auth_mode=${options.authMode}`] : options.set;
  const spec = unwrapSpec(await loadEndpointSpec({ file: options.file, cwd: deps.cwd, name: options.name, set }));
  return deps.client.call('endpoint.create', { spec });
}
