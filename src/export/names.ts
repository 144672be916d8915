import { createHash } from 'node:crypto';

/** The longest name a DNS-1123 label (and so a Service or Deployment name) may have. */
export const MAX_NAME = 63;
export const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * A valid Kubernetes object name (DNS-1123 label) from Azure names joined by "-". Azure names are
 * letters, digits and "-" (at most 32), so lower-casing is all they need; a result longer than
 * 63 characters keeps its start and ends with a hash of the whole, so two long names stay apart.
 */
export function kubernetesName(...parts: string[]): string {
  const joined = parts
    .join('-')
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (joined.length <= MAX_NAME) return joined;
  const hash = shortHash(parts.join('\0'));
  return `${joined.slice(0, MAX_NAME - hash.length - 1).replace(/-+$/, '')}-${hash}`;
}

/**
 * Object names for each deployment of an endpoint: `<endpoint>-<deployment>`, lower case. Azure
 * names are case-sensitive while Kubernetes names are not, so deployments whose names differ
 * only in case (Blue and blue) each get a hash of their own name as well.
 */
export function deploymentObjectNames(endpoint: string, deployments: readonly string[]): Record<string, string> {
  const plain = new Map(deployments.map((name) => [name, kubernetesName(endpoint, name)]));
  const counts = new Map<string, number>();
  for (const name of plain.values()) counts.set(name, (counts.get(name) ?? 0) + 1);
  return Object.fromEntries(
    deployments.map((name) => {
      const base = plain.get(name)!;
      return [name, counts.get(base)! > 1 ? kubernetesName(endpoint, name, shortHash(name)) : base];
    }),
  );
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 8);
}
