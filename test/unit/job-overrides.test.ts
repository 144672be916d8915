import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OepError } from '../../src/errors.js';
import { parseJobOverrides } from '../../src/model/job-overrides.js';

function refused(expressions: string[], message: RegExp): void {
  assert.throws(
    () => parseJobOverrides(expressions),
    (error: unknown) => error instanceof OepError && error.code === 'OEP_ERR_USAGE' && error.exitCode === 2 && message.test(error.message),
  );
}

describe('parseJobOverrides (batch-endpoint invoke --set)', () => {
  it('takes the settings a job may change, typed, by name or by YAML path', () => {
    assert.deepEqual(
      parseJobOverrides(['output_file_name=predictions_42.csv', 'mini_batch_size=20', 'resources.instance_count=5', 'error_threshold=-1', 'retry_settings.max_retries=0', 'retry_settings.timeout=60', 'logging_level=DEBUG']),
      { output_file_name: 'predictions_42.csv', mini_batch_size: 20, instance_count: 5, error_threshold: -1, max_retries: 0, timeout: 60, logging_level: 'debug' },
    );
    assert.deepEqual(parseJobOverrides([]), {});
  });

  it('refuses other keys and bad values, naming them', () => {
    refused(['model=azureml:m:1'], /--set model=azureml:m:1: an invoke sets one of output_file_name, /);
    refused(['output_file_name'], /an invoke sets one of/);
    refused(['output_file_name=../x.csv'], /output_file_name must be a file name \(no folder\)/);
    refused(['mini_batch_size=0'], /mini_batch_size must be a whole number >= 1/);
    refused(['error_threshold=-2'], /error_threshold must be a whole number >= -1/);
    refused(['logging_level=verbose'], /logging_level must be one of warning, info, debug/);
  });
});
