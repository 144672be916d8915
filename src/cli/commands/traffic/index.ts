import type { Noun } from '../../noun.js';

/** `oep traffic` and its verbs, in the order --help lists them. */
export const trafficNoun: Noun = {
  name: 'traffic',
  description: "Show and set an endpoint's live and mirrored traffic (short forms of endpoint update).",
  verbs: [
    { name: 'show', load: async () => (await import('./show.js')).trafficShowCommand, resident: true },
    { name: 'set', load: async () => (await import('./set.js')).trafficSetCommand },
    { name: 'mirror', load: async () => (await import('./set.js')).trafficMirrorCommand },
    { name: 'compare', load: async () => (await import('./compare.js')).trafficCompareCommand },
  ],
};
