import type { Noun } from '../../noun.js';

/** `oep deployment` (az's `online-deployment`) and its verbs, in the order --help lists them. */
export const deploymentNoun: Noun = {
  name: 'deployment',
  aliases: ['online-deployment'],
  description: "Manage an endpoint's deployments.",
  verbs: [
    { name: 'create', load: async () => (await import('./create.js')).deploymentCreateCommand },
    { name: 'show', load: async () => (await import('./show.js')).deploymentShowCommand, resident: true },
    { name: 'list', load: async () => (await import('./list.js')).deploymentListCommand, resident: true },
    { name: 'update', load: async () => (await import('./update.js')).deploymentUpdateCommand },
    { name: 'delete', load: async () => (await import('./delete.js')).deploymentDeleteCommand },
    { name: 'get-logs', load: async () => (await import('./get-logs.js')).deploymentGetLogsCommand },
    { name: 'invoke', load: async () => (await import('./invoke.js')).deploymentInvokeCommand },
    { name: 'build', load: async () => (await import('./build.js')).deploymentBuildCommand },
    { name: 'watch', load: async () => (await import('./watch.js')).deploymentWatchCommand },
  ],
};
