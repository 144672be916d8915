import type { Noun } from '../../noun.js';

/** `oep config` and its verbs, in the order --help lists them. */
export const configNoun: Noun = {
  name: 'config',
  description: 'Read and change user settings (kept in $OEP_HOME/settings.json), e.g. the default runtime.',
  verbs: [
    { name: 'get', load: async () => (await import('./get.js')).configGetCommand },
    { name: 'set', load: async () => (await import('./set.js')).configSetCommand },
    { name: 'unset', load: async () => (await import('./unset.js')).configUnsetCommand },
    { name: 'list', load: async () => (await import('./list.js')).configListCommand },
  ],
};
