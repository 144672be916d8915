import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { REPO_ROOT } from './harness.js';

const PYTHON = process.env.OEP_TEST_PYTHON ?? 'python3';

/** Runs Python with server/ on sys.path and oep_monitoring installed as the server installs it. */
function python(code: string, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const prelude = [
    'import sys, json',
    `sys.path.insert(0, ${JSON.stringify(join(REPO_ROOT, 'server'))})`,
    'import oep_monitoring',
    // as oep_server.py does it: the real package is absent here
    'oep_monitoring.install(lambda name: None)',
  ].join('\n');
  return new Promise((resolve) => {
    execFile(PYTHON, ['-c', `${prelude}\n${code}`], { env: { PATH: process.env.PATH, ...env } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe("oep's azureml.ai.monitoring, without pandas or the real package", () => {
  const dir = mkdtempSync(join(tmpdir(), 'oep-shim-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const collecting = { OEP_DATA_COLLECTOR_DIR: dir, OEP_DATA_COLLECTOR: JSON.stringify({ collections: ['model_inputs'], source: '/s' }) };

  it('imports as Azure documents it, even when the deployment collects nothing', async () => {
    const result = await python(
      'from azureml.ai.monitoring import Collector\nfrom azureml.ai.monitoring.context import BasicCorrelationContext\nprint(BasicCorrelationContext(id="t").get_id())',
    );
    assert.equal(result.stderr, '');
    assert.equal(result.stdout, 't\n');
  });

  it('without data_collector a Collector raises, as the real package does; on_error takes the error instead', async () => {
    const raised = await python('from azureml.ai.monitoring import Collector\nCollector(name="model_inputs")');
    assert.equal(raised.code, 1);
    assert.match(raised.stderr, /Exception: custom logging is not enabled, drop the data \(oep: enable it in the deployment YAML under data_collector\.collections\.model_inputs\.enabled: true\)\n$/);
    const handled = await python(
      'from azureml.ai.monitoring import Collector\nerrors = []\nc = Collector(name="model_inputs", on_error=errors.append)\nctx = c.collect([1])\nprint(len(errors), ctx.is_success())',
    );
    assert.equal(handled.stdout, '2 False\n');
  });

  it('collect() takes pandas DataFrames only', async () => {
    const result = await python(
      'from azureml.ai.monitoring import Collector\nc = Collector(name="model_inputs")\ntry:\n    c.collect([{"a": 1}])\nexcept TypeError as e:\n    print(e)',
      collecting,
    );
    assert.equal(result.stdout, 'data type (list) not supported, supported types: pandas.DataFrame\n');
  });

  it("within a request, the context's id is the request's x-request-id; a context passed in wins", async () => {
    const result = await python(
      [
        'from azureml.ai.monitoring import Collector',
        'from azureml.ai.monitoring.context import BasicCorrelationContext',
        'c = Collector(name="model_inputs", on_error=lambda e: None)',
        'def run():',
        '    return c.collect("not a frame").get_id(), c.collect("x", BasicCorrelationContext(id="mine")).get_id()',
        'print(json.dumps(oep_monitoring.bind(run, {"x-request-id": "req-1"})()))',
      ].join('\n'),
      collecting,
    );
    assert.equal(result.stderr, '');
    assert.equal(result.stdout, '["req-1", "mine"]\n');
  });

  it('out of the sample (the router said 0): nothing is collected, and the context says why', async () => {
    const result = await python(
      [
        'from azureml.ai.monitoring import Collector',
        'c = Collector(name="model_inputs")',
        'def run():',
        '    ctx = c.collect("never looked at")',
        '    return ctx.is_success(), ctx.get_message()',
        'print(json.dumps(oep_monitoring.bind(run, {"x-request-id": "r", "x-oep-data-collection": "0"})()))',
      ].join('\n'),
      collecting,
    );
    assert.equal(result.stdout, '[false, "dropped_sampling"]\n');
  });
});
