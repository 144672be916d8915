import curated from './curated-environments.json' with { type: 'json' };
import type { AssetReference } from './references.js';

/** The image Microsoft publishes for a curated environment, and whether oep's list knows the name. */
export interface CuratedImage {
  image: string;
  known: boolean;
  /** The curated environment's name as Azure shows it: AzureML-<name>. */
  name: string;
}

/**
 * A curated environment (azureml:AzureML-<name>@latest, azureml:AzureML-<name>:<version>, or
 * azureml://registries/azureml/environments/<name>/...) as the image that runs it; undefined for
 * any other reference. The naming rule and the known names are data (curated-environments.json).
 */
export function curatedImage(ref: AssetReference): CuratedImage | undefined {
  if (ref.kind !== 'environments') return undefined;
  let name: string;
  if (ref.registry !== undefined) {
    if (ref.registry !== curated.registry) return undefined;
    name = ref.name.replace(new RegExp(`^${curated.prefix}`, 'i'), '');
  } else if (ref.name.toLowerCase().startsWith(curated.prefix.toLowerCase())) {
    name = ref.name.slice(curated.prefix.length);
  } else {
    return undefined;
  }
  const lower = name.toLowerCase();
  const tag = ref.version ?? (ref.label === 'latest' ? curated.latestTag : ref.label!);
  return {
    image: curated.image.replace('{name}', lower).replace('{tag}', tag),
    known: curated.environments.includes(lower),
    name: `${curated.prefix}${name}`,
  };
}
