import { OepError } from '../errors.js';
import { connectionView, deleteConnection, listConnections, listSecretsJson, requireConnection, saveConnection } from '../registry/connections.js';
import { connectionYaml, loadConnectionSpec, validateConnectionObject } from '../spec/connection.js';
import { unwrapSpec } from '../spec/index.js';

/** The use cases of `oep connection ...` (the store lives under OEP_HOME; no daemon needed). */
export interface ConnectionDeps {
  home: string;
  cwd: string;
}

export interface CreateConnectionOptions {
  file: string;
  name?: string;
  set: string[];
}

/** `connection create -f`: creates or replaces (az ml connection create is a create-or-update). */
export async function createConnection(options: CreateConnectionOptions, deps: ConnectionDeps): Promise<{ view: Record<string, unknown>; replaced: boolean }> {
  const spec = unwrapSpec(await loadConnectionSpec({ file: options.file, cwd: deps.cwd, name: options.name, set: options.set }));
  const { record, replaced } = await saveConnection(deps.home, spec);
  return { view: connectionView(record), replaced };
}

export interface UpdateConnectionOptions {
  name: string;
  file?: string;
  set: string[];
}

/**
 * `connection update -n NAME --set credentials.key=...` (or `-f FILE`): the stored connection in
 * its YAML form with the changes, validated again. A rotated key takes effect for deployments at
 * their next `deployment update` (or daemon start), as in Azure.
 */
export async function updateConnection(options: UpdateConnectionOptions, deps: ConnectionDeps): Promise<Record<string, unknown>> {
  const current = await requireConnection(deps.home, options.name);
  const spec = options.file
    ? unwrapSpec(await loadConnectionSpec({ file: options.file, cwd: deps.cwd, name: options.name, set: options.set }))
    : unwrapSpec(validateConnectionObject(connectionYaml(current), `connection ${options.name}`, options.set));
  if (spec.name !== current.name) {
    throw new OepError('OEP_ERR_USAGE', `--set name: a connection keeps its name (${current.name}); create one with the new name instead.`);
  }
  const { record } = await saveConnection(deps.home, spec);
  return connectionView(record);
}

/** `show`: masked unless showSecrets; with listSecrets, exactly what ${{azureml://connections/<name>}} injects. */
export async function showConnection(name: string, options: { showSecrets?: boolean; listSecrets?: boolean }, deps: ConnectionDeps): Promise<Record<string, unknown>> {
  const record = await requireConnection(deps.home, name);
  if (options.listSecrets) return JSON.parse(listSecretsJson(record)) as Record<string, unknown>;
  return connectionView(record, { showSecrets: options.showSecrets === true });
}

export async function listConnectionViews(type: string | undefined, deps: ConnectionDeps): Promise<Record<string, unknown>[]> {
  const records = await listConnections(deps.home);
  return records.filter((record) => type === undefined || record.type === type).map((record) => connectionView(record));
}

export async function removeConnection(name: string, deps: ConnectionDeps): Promise<void> {
  await deleteConnection(deps.home, name);
}
