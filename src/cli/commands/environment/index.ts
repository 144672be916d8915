import type { Noun } from '../../noun.js';

/** `oep environment` and its verbs, in the order --help lists them. */
export const environmentNoun: Noun = {
  name: 'environment',
  description: "Register and inspect environments in oep's local registry (azureml:<name>:<version>, or a curated AzureML-<name>).",
  verbs: [
    { name: 'create', load: async () => (await import('./create.js')).environmentCreateCommand },
    { name: 'show', load: async () => (await import('./show.js')).environmentShowCommand },
    { name: 'list', load: async () => (await import('./list.js')).environmentListCommand },
    { name: 'archive', load: async () => (await import('./archive.js')).environmentArchiveCommand },
    { name: 'restore', load: async () => (await import('./restore.js')).environmentRestoreCommand },
  ],
};
