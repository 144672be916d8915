import type { Noun } from '../../noun.js';

/** `oep compute` and its verbs, in the order --help lists them. */
export const computeNoun: Noun = {
  name: 'compute',
  description: "Computes in oep's local workspace (az ml compute): recorded so that scripts and YAML naming one work; every job runs on this machine.",
  verbs: [
    { name: 'create', load: async () => (await import('./create.js')).computeCreateCommand },
    { name: 'show', load: async () => (await import('./show.js')).computeShowCommand },
    { name: 'list', load: async () => (await import('./list.js')).computeListCommand },
    { name: 'update', load: async () => (await import('./update.js')).computeUpdateCommand },
    { name: 'delete', load: async () => (await import('./delete.js')).computeDeleteCommand },
  ],
};
