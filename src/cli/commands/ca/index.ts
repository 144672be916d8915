import type { Noun } from '../../noun.js';

/** `oep ca` and its verb, in the order --help lists them. */
export const caNoun: Noun = {
  name: 'ca',
  description: "oep's local certificate authority, which signs the certificates of HTTPS endpoints (--tls on).",
  verbs: [
    { name: 'path', load: async () => (await import('./path.js')).caPathCommand },
  ],
};
