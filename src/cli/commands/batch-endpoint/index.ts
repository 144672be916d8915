import type { Noun } from '../../noun.js';

/** `oep batch-endpoint` (az's `batch-endpoint`) and its verbs, in the order --help lists them. */
export const batchEndpointNoun: Noun = {
  name: 'batch-endpoint',
  description: 'Manage batch endpoints: named groups of batch deployments, one of them the default.',
  verbs: [
    { name: 'create', load: async () => (await import('./create.js')).batchEndpointCreateCommand },
    { name: 'show', load: async () => (await import('./show.js')).batchEndpointShowCommand, resident: true },
    { name: 'list', load: async () => (await import('./list.js')).batchEndpointListCommand, resident: true },
    { name: 'update', load: async () => (await import('./update.js')).batchEndpointUpdateCommand },
    { name: 'delete', load: async () => (await import('./delete.js')).batchEndpointDeleteCommand },
    { name: 'invoke', load: async () => (await import('./invoke.js')).batchEndpointInvokeCommand },
    { name: 'list-jobs', load: async () => (await import('./list-jobs.js')).batchEndpointListJobsCommand, resident: true },
  ],
};
