/** The columns `-o table` shows for batch jobs (job list, batch-endpoint and batch-deployment list-jobs). */
export const JOB_COLUMNS = ['name', 'status', 'experiment_name', 'start_time', 'end_time'];
