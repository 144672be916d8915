/**
 * The forms Azure accepts for a registered asset in a deployment YAML, as plain data:
 *   azureml:NAME:VERSION          azureml:NAME@latest (or another label)
 *   azureml:/subscriptions/.../workspaces/W/models/NAME/versions/VERSION
 *   azureml://registries/R/models/NAME/versions/VERSION   .../models/NAME/labels/latest
 * (and the same with environments and data). Pure: no I/O.
 */
export interface AssetReference {
  kind: 'models' | 'environments' | 'data';
  name: string;
  /** Exactly one of version and label. */
  version?: string;
  label?: string;
  /** A shared registry (azureml://registries/R/...); `azureml` is Microsoft's, home of the curated environments. */
  registry?: string;
  /** As written in the YAML. */
  text: string;
}

export type ParsedReference = AssetReference | { problem: string };

export function parseAssetReference(text: string, kind: AssetReference['kind']): ParsedReference {
  const body = text.replace(/^azureml:/, '');
  const long = /^\/\/registries\/([^/]+)\/(models|environments|data)\/([^/]+)\/(versions|labels)\/([^/]+)$/.exec(body)
    ?? /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.MachineLearningServices\/workspaces\/[^/]+\/(models|environments|data)\/([^/]+)\/(versions|labels)\/([^/]+)$/i.exec(body);
  if (long) {
    const registry = long.length === 6 ? long[1] : undefined;
    const [segment, name, by, value] = long.length === 6 ? long.slice(2) : long.slice(1);
    if (segment !== kind) return { problem: `"${text}" names ${segment}, not ${kind}.` };
    return { kind, name: name!, ...(by === 'versions' ? { version: value! } : { label: value! }), ...(registry ? { registry } : {}), text };
  }
  const labelled = /^([^:@/]+)@([^:@/]+)$/.exec(body);
  if (labelled) return { kind, name: labelled[1]!, label: labelled[2]!, text };
  const versioned = /^([^:@/]+):([^:@/]+)$/.exec(body);
  if (versioned) return { kind, name: versioned[1]!, version: versioned[2]!, text };
  if (/^[^:@/]+$/.test(body)) {
    return { problem: `"${text}" gives no version: write azureml:${body}:<version> or azureml:${body}@latest.` };
  }
  return { problem: `"${text}" is not a reference oep understands (azureml:<name>:<version> or azureml:<name>@latest).` };
}

/** How a reference reads in messages: name:version or name@label. */
export function describeReference(ref: AssetReference): string {
  return ref.version !== undefined ? `${ref.name}:${ref.version}` : `${ref.name}@${ref.label}`;
}
