import type { Noun } from '../../noun.js';

/** `oep connection` and its verbs, in the order --help lists them. */
export const connectionNoun: Noun = {
  name: 'connection',
  description: "Workspace connections in oep's local workspace (az ml connection): deployments read their secrets through ${{azureml://connections/...}}.",
  verbs: [
    { name: 'create', load: async () => (await import('./create.js')).connectionCreateCommand },
    { name: 'show', load: async () => (await import('./show.js')).connectionShowCommand },
    { name: 'list', load: async () => (await import('./list.js')).connectionListCommand },
    { name: 'update', load: async () => (await import('./update.js')).connectionUpdateCommand },
    { name: 'delete', load: async () => (await import('./delete.js')).connectionDeleteCommand },
  ],
};
