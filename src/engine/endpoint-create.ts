import { OepError } from '../errors.js';
import { loadEndpointSpec, unwrapSpec, validateEndpointObject } from '../spec/index.js';
import { specOrThrow, type EngineDeps } from './deps.js';
import { parseTlsFlag } from './tls-flag.js';
import { localEndpointNotice } from '../model/local-endpoint.js';

export interface EndpointCreateOptions {
  /** Without a file, -n gives an endpoint with the defaults (key auth), as `az ml online-endpoint create -n` does. */
  file?: string;
  name?: string;
  authMode?: string;
  set: string[];
  /** --tls on|off; absent: the `tls` setting decides. */
  tls?: string;
  /** --local: Azure's local endpoint semantics (model/local-endpoint.ts). */
  local?: boolean;
}

export async function createEndpoint(options: EndpointCreateOptions, deps: EngineDeps): Promise<unknown> {
  const tls = parseTlsFlag(options.tls);
  const set = options.authMode ? [...options.set, `auth_mode=${options.authMode}`] : options.set;
  let spec;
  if (options.file) {
    spec = specOrThrow(await loadEndpointSpec({ file: options.file, cwd: deps.cwd, name: options.name, set }), deps);
  } else if (options.name) {
    spec = unwrapSpec(validateEndpointObject({ name: options.name }, `endpoint ${options.name}`, set));
  } else {
    throw new OepError('OEP_ERR_USAGE', 'endpoint create needs -f/--file or -n/--name.', {
      hint: 'e.g. oep endpoint create -n my-endpoint (key auth), or oep endpoint create -f endpoint.yml',
    });
  }
  const created = await deps.client.call('endpoint.create', { spec, ...(tls !== undefined && { tls }), ...(options.local && { local: true }) });
  if (options.local) deps.onEvent?.({ phase: 'notice', message: localEndpointNotice(spec.name) });
  return created;
}
