import type { Noun } from '../../noun.js';

/** `oep model` and its verbs, in the order --help lists them. */
export const modelNoun: Noun = {
  name: 'model',
  description: "Register and inspect models in oep's local registry (deployments use them as azureml:<name>:<version>).",
  verbs: [
    { name: 'create', load: async () => (await import('./create.js')).modelCreateCommand },
    { name: 'show', load: async () => (await import('./show.js')).modelShowCommand },
    { name: 'list', load: async () => (await import('./list.js')).modelListCommand },
    { name: 'archive', load: async () => (await import('./archive.js')).modelArchiveCommand },
    { name: 'restore', load: async () => (await import('./restore.js')).modelRestoreCommand },
  ],
};
