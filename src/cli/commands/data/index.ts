import type { Noun } from '../../noun.js';

/** `oep data` and its verbs, in the order --help lists them. */
export const dataNoun: Noun = {
  name: 'data',
  description: "Register and inspect data assets (uri_file, uri_folder) in oep's local registry (batch jobs read them as azureml:<name>:<version>).",
  verbs: [
    { name: 'create', load: async () => (await import('./create.js')).dataCreateCommand },
    { name: 'show', load: async () => (await import('./show.js')).dataShowCommand },
    { name: 'list', load: async () => (await import('./list.js')).dataListCommand },
  ],
};
