import { OepError } from '../errors.js';

/**
 * `batch-endpoint invoke --set key=value`: the deployment settings one job may change, as az's
 * invoke takes them (Microsoft's samples: `--set output_file_name=predictions_123.csv`). Pure.
 */
export interface JobOverrides {
  output_file_name?: string;
  mini_batch_size?: number;
  instance_count?: number;
  max_concurrency_per_instance?: number;
  error_threshold?: number;
  max_retries?: number;
  timeout?: number;
  logging_level?: 'warning' | 'info' | 'debug';
}

type Key = keyof JobOverrides;

/** The names --set takes (the retry settings also by their YAML path). */
const KEYS: Record<string, Key> = {
  output_file_name: 'output_file_name',
  mini_batch_size: 'mini_batch_size',
  instance_count: 'instance_count',
  'resources.instance_count': 'instance_count',
  max_concurrency_per_instance: 'max_concurrency_per_instance',
  error_threshold: 'error_threshold',
  max_retries: 'max_retries',
  'retry_settings.max_retries': 'max_retries',
  timeout: 'timeout',
  'retry_settings.timeout': 'timeout',
  logging_level: 'logging_level',
};

const LEVELS = ['warning', 'info', 'debug'];

export function parseJobOverrides(expressions: readonly string[]): JobOverrides {
  const overrides: JobOverrides = {};
  for (const expression of expressions) {
    const at = expression.indexOf('=');
    const path = at > 0 ? expression.slice(0, at).trim() : '';
    const text = at > 0 ? expression.slice(at + 1).trim() : '';
    const key = KEYS[path];
    if (!key) {
      throw new OepError('OEP_ERR_USAGE', `--set ${expression}: an invoke sets one of ${Object.keys(KEYS).join(', ')} (key=value).`, {
        hint: 'e.g. --set output_file_name=predictions_1.csv; other settings belong to the deployment (oep batch-deployment update --set ...).',
      });
    }
    (overrides as Record<string, unknown>)[key] = valueOf(key, text, expression);
  }
  return overrides;
}

function valueOf(key: Key, text: string, expression: string): string | number {
  const fail = (what: string): never => {
    throw new OepError('OEP_ERR_USAGE', `--set ${expression}: ${key} must be ${what}.`);
  };
  switch (key) {
    case 'output_file_name':
      if (text === '' || /[/\\\0]/.test(text) || text === '.' || text === '..') fail('a file name (no folder)');
      return text;
    case 'logging_level':
      if (!LEVELS.includes(text.toLowerCase())) fail(`one of ${LEVELS.join(', ')}`);
      return text.toLowerCase();
    case 'error_threshold': {
      const value = Number(text);
      if (!/^-?\d+$/.test(text) || value < -1) fail('a whole number >= -1 (-1: any number of failed files)');
      return value;
    }
    case 'max_retries': {
      const value = Number(text);
      if (!/^\d+$/.test(text)) fail('a whole number >= 0');
      return value;
    }
    default: {
      const value = Number(text);
      if (!/^\d+$/.test(text) || value < 1) fail('a whole number >= 1');
      return value;
    }
  }
}
