import type { Noun } from '../../noun.js';

/** `oep endpoint` (az's `online-endpoint`) and its verbs, in the order --help lists them. */
export const endpointNoun: Noun = {
  name: 'endpoint',
  aliases: ['online-endpoint'],
  description: 'Manage online endpoints.',
  verbs: [
    { name: 'create', load: async () => (await import('./create.js')).endpointCreateCommand },
    { name: 'show', load: async () => (await import('./show.js')).endpointShowCommand, resident: true },
    { name: 'list', load: async () => (await import('./list.js')).endpointListCommand, resident: true },
    { name: 'update', load: async () => (await import('./update.js')).endpointUpdateCommand },
    { name: 'delete', load: async () => (await import('./delete.js')).endpointDeleteCommand },
    { name: 'invoke', load: async () => (await import('./invoke.js')).endpointInvokeCommand },
    { name: 'get-credentials', load: async () => (await import('./get-credentials.js')).endpointGetCredentialsCommand },
    { name: 'regenerate-keys', load: async () => (await import('./regenerate-keys.js')).endpointRegenerateKeysCommand },
    { name: 'benchmark', load: async () => (await import('./benchmark.js')).endpointBenchmarkCommand },
    { name: 'export', load: async () => (await import('./export.js')).endpointExportCommand },
  ],
};
