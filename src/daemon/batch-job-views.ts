import { workspaceResourceId } from '../model/arm-id.js';
import { jobLogFile, jobOutputDir, type BatchJobRecord } from '../registry/jobs.js';

/**
 * What `oep job show` prints for a batch job, in the shape of `az ml job show` for the job an
 * invoke starts (a pipeline job of the endpoint's experiment): name, status, experiment, times,
 * the input and the `score` output, whose `path` here is the local folder the output file is
 * written to. `batch` is oep's own: the mini-batch counts, the settings the job ran with and
 * why it failed. Pure: the home is passed in.
 */
export function batchJobView(record: BatchJobRecord, home: string): Record<string, unknown> {
  return {
    name: record.name,
    display_name: record.name,
    type: 'pipeline',
    status: record.status,
    experiment_name: record.experiment_name ?? record.endpoint,
    id: `${workspaceResourceId()}/jobs/${record.name}`,
    creation_context: { created_at: record.created_at },
    ...(record.started_at && { start_time: record.started_at }),
    ...(record.ended_at && { end_time: record.ended_at }),
    tags: {
      'azureml.batchrun': 'true',
      'azureml.deploymentname': record.deployment,
      'azureml.jobtype': 'azureml.batchjob',
    },
    properties: {
      'azureml.endpoint_name': record.endpoint,
      'azureml.deployment_name': record.deployment,
    },
    inputs: {
      input_data: { type: record.input.type, path: record.input.asset ?? record.input.path },
    },
    outputs: {
      score: { type: 'uri_folder', path: jobOutputDir(home, record.name), mode: 'rw_mount' },
    },
    batch: {
      endpoint_name: record.endpoint,
      deployment_name: record.deployment,
      runtime: record.runtime,
      ...record.counts,
      settings: record.settings,
      ...(record.output_path !== undefined && { output_path: record.output_path }),
      log: jobLogFile(home, record.name),
      ...(record.error !== undefined && { error: record.error }),
    },
  };
}
