/**
 * Docker image references (`[registry/]path[:tag]`), parsed and checked before anything is built,
 * with the grammar of the distribution reference library the docker CLI uses.
 */
export interface ImageReference {
  /** The registry host (with port), or undefined when the reference names none (Docker Hub). */
  registry?: string;
  /** Everything before the tag, registry included: what `docker push` is given. */
  repository: string;
  tag: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const HOST = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;

/** The reference, or a sentence saying what is wrong with it. */
export function parseImageReference(text: string): ImageReference | string {
  if (text.includes('@')) return `"${text}" has a digest; give a tag instead (NAME:TAG).`;
  const slash = text.lastIndexOf('/');
  const colon = text.lastIndexOf(':');
  const hasTag = colon > slash;
  const name = hasTag ? text.slice(0, colon) : text;
  const tag = hasTag ? text.slice(colon + 1) : 'latest';
  if (!TAG.test(tag)) return `the tag "${tag}" of "${text}" is not valid: letters, digits, "_", "." and "-", at most 128, not starting with "." or "-".`;
  const parts = name.split('/');
  // As Docker decides: the first part is a registry when it has a dot or a port, or is localhost.
  const first = parts[0]!;
  const registry = parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost') ? first : undefined;
  if (registry !== undefined && !HOST.test(registry)) return `"${registry}" in "${text}" is not a valid registry host.`;
  const path = registry === undefined ? parts : parts.slice(1);
  if (path.length === 0 || path.some((part) => !COMPONENT.test(part))) {
    return `"${text}" is not a valid image name: lower-case letters, digits and separators (".", "_", "-") between "/", e.g. myregistry.azurecr.io/sklearn-blue:1.`;
  }
  if (name.length > 255) return `"${text}" is longer than 255 characters.`;
  return { ...(registry !== undefined && { registry }), repository: name, tag };
}

/** `--registry` values: a registry host with an optional path under it (myacr.azurecr.io/team). */
export function checkRegistry(text: string): string | undefined {
  const probe = parseImageReference(`${text.replace(/\/+$/, '')}/image`);
  if (typeof probe === 'string') return `--registry "${text}" is not a registry (host[:port][/path], e.g. myacr.azurecr.io or localhost:5000/team).`;
  if (probe.registry === undefined) return `--registry "${text}" names no registry host (it needs a dot or a port, or localhost), e.g. myacr.azurecr.io.`;
  return undefined;
}
