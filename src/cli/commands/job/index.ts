import type { Noun } from '../../noun.js';

/** `oep job` (az's `job`, for the jobs batch endpoints start) and its verbs, in the order --help lists them. */
export const jobNoun: Noun = {
  name: 'job',
  description: "Batch jobs: show, list, stream, download and cancel what a batch endpoint's invoke started.",
  verbs: [
    { name: 'show', load: async () => (await import('./show.js')).jobShowCommand, resident: true },
    { name: 'list', load: async () => (await import('./list.js')).jobListCommand, resident: true },
    { name: 'stream', load: async () => (await import('./stream.js')).jobStreamCommand },
    { name: 'download', load: async () => (await import('./download.js')).jobDownloadCommand },
    { name: 'cancel', load: async () => (await import('./cancel.js')).jobCancelCommand },
  ],
};
