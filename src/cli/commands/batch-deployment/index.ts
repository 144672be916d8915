import type { Noun } from '../../noun.js';

/** `oep batch-deployment` (az's `batch-deployment`) and its verbs, in the order --help lists them. */
export const batchDeploymentNoun: Noun = {
  name: 'batch-deployment',
  description: 'Manage batch deployments: a model and its scoring script, run over files by batch jobs.',
  verbs: [
    { name: 'create', load: async () => (await import('./create.js')).batchDeploymentCreateCommand },
    { name: 'show', load: async () => (await import('./show.js')).batchDeploymentShowCommand, resident: true },
    { name: 'list', load: async () => (await import('./list.js')).batchDeploymentListCommand, resident: true },
    { name: 'update', load: async () => (await import('./update.js')).batchDeploymentUpdateCommand },
    { name: 'delete', load: async () => (await import('./delete.js')).batchDeploymentDeleteCommand },
    { name: 'list-jobs', load: async () => (await import('./list-jobs.js')).batchDeploymentListJobsCommand, resident: true },
  ],
};
