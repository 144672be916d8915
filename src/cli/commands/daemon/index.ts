import type { Noun } from '../../noun.js';

/** `oep daemon` and its verbs, in the order --help lists them. */
export const daemonNoun: Noun = {
  name: 'daemon',
  description: 'Control the background daemon that runs endpoints.',
  verbs: [
    { name: 'start', load: async () => (await import('./start.js')).daemonStartCommand },
    { name: 'stop', load: async () => (await import('./stop.js')).daemonStopCommand },
    { name: 'restart', load: async () => (await import('./restart.js')).daemonRestartCommand },
    { name: 'status', load: async () => (await import('./status.js')).daemonStatusCommand },
  ],
};
