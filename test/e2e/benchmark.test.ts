import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BenchmarkReport } from '../../src/model/benchmark-report.js';
import { prerequisiteSkip } from '../prerequisites.js';
import { eventually, OEP_BIN, OepSandbox } from './harness.js';

/**
 * `oep endpoint benchmark` on the process runtime, against a deployment whose capacity is known:
 * run() sleeps 100 ms, one worker per replica (WORKER_COUNT=1, max_concurrent_requests_per_instance
 * 1), two replicas: 20 requests per second at most, and Azure's rule answers 429 above
 * 2 x 1 x 2 = 4 requests in flight. Every figure is checked against a range, never a time budget.
 */
describe('oep endpoint benchmark (issue 27 acceptance, process runtime)', () => {
  const oep = new OepSandbox();
  let work = '';

  before(async () => {
    work = join(oep.home, 'work');
    mkdirSync(join(work, 'code'), { recursive: true });
    writeFileSync(join(work, 'code', 'score.py'), 'import time\n\ndef init():\n    pass\n\ndef run(data):\n    time.sleep(0.1)\n    return {"ok": True}\n');
    writeFileSync(join(work, 'endpoint.yml'), 'name: bench\nauth_mode: key\n');
    writeFileSync(
      join(work, 'slow.yml'),
      [
        'name: slow',
        'endpoint_name: bench',
        'code_configuration:',
        '  code: ./code',
        '  scoring_script: score.py',
        'environment:',
        '  image: oep-test/python:bookworm',
        'instance_type: Standard_DS3_v2',
        'instance_count: 2',
        'environment_variables:',
        '  WORKER_COUNT: "1"',
        'request_settings:',
        '  max_concurrent_requests_per_instance: 1',
        '  request_timeout_ms: 5000',
        '',
      ].join('\n'),
    );
    writeFileSync(join(work, 'request.json'), '{"data": [1, 2, 3]}');
    await oep.ok(['config', 'set', 'runtime', 'process']);
    await oep.ok(['endpoint', 'create', '-f', join(work, 'endpoint.yml'), '-o', 'none']);
    await oep.ok(['deployment', 'create', '-f', join(work, 'slow.yml'), '--all-traffic', '-o', 'none']);
  });
  after(() => oep.close());

  let report: BenchmarkReport;

  it('a rate sweep plateaus at the capacity, 429s only above it, and recommends by Azure\'s formula', async () => {
    const result = await oep.run(
      ['endpoint', 'benchmark', '-n', 'bench', '--request-file', join(work, 'request.json'), '--rate', '5:40:5', '--duration', '4s', '--warmup', '1s', '--target-rps', '30', '-o', 'json'],
      { timeoutMs: 240_000 },
    );
    assert.equal(result.code, 0, result.stderr);
    // -o json and no terminal: no progress on stderr.
    assert.equal(result.stderr, '');
    report = JSON.parse(result.stdout) as BenchmarkReport;
    assert.deepEqual(report.steps.map((step) => step.offered), [5, 10, 15, 20, 25, 30, 35, 40]);
    const step = (offered: number) => report.steps.find((candidate) => candidate.offered === offered)!;

    // Below capacity every request is served, none throttled.
    for (const offered of [5, 10, 15]) {
      assert.equal(step(offered).counts.s429, 0, `429 at ${offered} req/s, below the capacity of 20`);
      assert.ok(Math.abs(step(offered).achievedRps - offered) <= offered * 0.1, `${offered} req/s offered, ${step(offered).achievedRps} achieved`);
    }
    // Above it, the achieved rate plateaus at 20 req/s +-10% and the front door answers 429.
    for (const offered of [30, 35, 40]) {
      assert.ok(step(offered).counts.s429 > 0, `no 429 at ${offered} req/s, above the capacity of 20`);
      assert.ok(step(offered).achievedRps >= 18 && step(offered).achievedRps <= 22, `plateau at ${offered} req/s offered: ${step(offered).achievedRps} achieved`);
    }

    assert.equal(report.in_flight_limit, 4);
    assert.ok(report.throttling, 'the report says where throttling began');
    assert.equal(report.throttling.in_flight_limit, 4);
    assert.ok(report.knee, 'a knee was found');
    assert.ok(report.knee.offered >= 15 && report.knee.offered <= 25, `knee at ${report.knee.offered} req/s`);

    // The recommendation is Azure's formula applied to the measured p99 (the knee's).
    const advice = report.recommendation!;
    assert.equal(advice.latency_s, report.knee.p99_ms / 1000);
    assert.equal(advice.instance_count, Math.ceil((30 * advice.latency_s) / 0.7 / 1));
    assert.equal(advice.max_concurrent_requests_per_instance, 1);
    // The settings agree with what was measured: no WORKER_COUNT, timeout or shared-traffic warning
    // (a busy machine may add the generator's own late-send warning, which is about the machine).
    assert.deepEqual(report.warnings.filter((warning) => !warning.startsWith('The load generator sent')), []);
  });

  it('p99 at 10 req/s, below capacity, stays under 150 ms (run() takes 100 ms)', async () => {
    // 12 s at 10 req/s: 120 answers, so p99 is not just the slowest one (one scheduling hiccup of a
    // loaded machine); the sweep's 4 s steps have 40.
    const result = await oep.run(['endpoint', 'benchmark', '-n', 'bench', '-r', join(work, 'request.json'), '--rate', '10', '--duration', '12s', '--warmup', '1s', '-o', 'json']);
    assert.equal(result.code, 0, result.stderr);
    const [step] = (JSON.parse(result.stdout) as BenchmarkReport).steps;
    assert.ok(step!.completed >= 110, `answers: ${step!.completed}`);
    assert.equal(step!.counts.ok, step!.completed);
    assert.ok(step!.latencyMs.p50 >= 100, `p50 ${step!.latencyMs.p50} ms: run() alone takes 100 ms`);
    assert.ok(step!.latencyMs.p99 < 150, `p99 at 10 req/s: ${step!.latencyMs.p99} ms`);
  });

  it('keeps the report: list shows it, show prints it again (csv: a header and a line per step)', async () => {
    const listed = JSON.parse(await oep.ok(['endpoint', 'benchmark', 'list', '-n', 'bench', '-o', 'json'])) as Array<{ id: string; recommended_instances: number | null }>;
    const kept = listed.find((entry) => entry.id === report.id);
    assert.ok(kept, `${report.id} in ${listed.map((entry) => entry.id).join(', ')}`);
    assert.equal(kept.recommended_instances, report.recommendation!.instance_count);
    const csv = await oep.ok(['endpoint', 'benchmark', 'show', report.id, '-o', 'csv']);
    const lines = csv.trimEnd().split('\n');
    assert.equal(lines.length, 1 + report.steps.length);
    assert.match(lines[0]!, /^offered,achieved_rps,p50_ms,p90_ms,p99_ms,max_ms,s200,s408,s424,s429,/);
    const table = await oep.ok(['endpoint', 'benchmark', 'show', report.id]);
    assert.match(table, /^knee: \d+ req\/s offered/m);
    assert.match(table, /Azure's limit: 4 in flight/);
    assert.match(table, /instance_count: \d+ for slow/);
    assert.match(table, /achieved req\/s by step/);
    const missing = await oep.run(['endpoint', 'benchmark', 'show', 'bench-20000101T000000Z']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /OEP_ERR_BENCHMARK_NOT_FOUND/);
  });

  it('--slo makes a breach exit 1 after printing the report; a concurrency sweep counts in connections', async () => {
    const result = await oep.run([
      'endpoint', 'benchmark', '-n', 'bench', '-r', join(work, 'request.json'), '--concurrency', '1:2', '--duration', '2s', '--warmup', '0', '--slo', 'p99<1ms', '-o', 'json',
    ]);
    assert.equal(result.code, 1, result.stderr);
    const breached = JSON.parse(result.stdout) as BenchmarkReport;
    assert.equal(breached.mode, 'concurrency');
    assert.deepEqual(breached.steps.map((step) => step.offered), [1, 2]);
    // One connection at a time, 100 ms each: about 10 req/s; two: about 20.
    assert.ok(breached.steps[0]!.achievedRps >= 7 && breached.steps[0]!.achievedRps <= 11, `1 connection: ${breached.steps[0]!.achievedRps} req/s`);
    assert.ok(breached.steps[0]!.maxInFlight <= 1);
    assert.equal(breached.slo!.breaches.length, 2);
    assert.match(result.stderr, /OEP_ERR_SLO_BREACHED/);
  });

  it('Ctrl-C stops the load at once, prints the steps done and keeps them (exit 130)', async () => {
    const requests = async (): Promise<number> => {
      const view = JSON.parse(await oep.ok(['traffic', 'show', '-n', 'bench', '-o', 'json'])) as { deployments: Array<{ requests: number }> };
      return view.deployments.reduce((sum, row) => sum + row.requests, 0);
    };
    const before = await requests();
    const running = oep.start(['endpoint', 'benchmark', '-n', 'bench', '-r', join(work, 'request.json'), '--rate', '5:10:5', '--duration', '60s', '--warmup', '0', '-o', 'json']);
    await eventually('the first step to have sent requests', async () => ((await requests()) >= before + 10 ? true : undefined));
    running.child.kill('SIGINT');
    assert.equal(await running.exited, 130, running.stderr);
    const partial = JSON.parse(running.stdout) as BenchmarkReport;
    assert.equal(partial.interrupted, true);
    assert.equal(partial.steps.length, 1, 'only the step under way');
    assert.ok(partial.steps[0]!.completed >= 5 && partial.steps[0]!.durationMs < 60_000, JSON.stringify(partial.steps[0]));
    assert.ok(partial.warnings.some((warning) => warning.startsWith('Interrupted')));
    // Nothing more is sent once the command has ended (answers in flight then may still be counted).
    const after = await requests();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.ok((await requests()) <= after + 2, 'the load stopped with the command');
    const listed = JSON.parse(await oep.ok(['endpoint', 'benchmark', 'list', '-n', 'bench', '-o', 'json'])) as Array<{ id: string; interrupted: boolean }>;
    assert.equal(listed.find((entry) => entry.id === partial.id)?.interrupted, true);
  });

  it('shows its progress on a terminal (stderr), step by step', { skip: prerequisiteSkip('the terminal progress test', !existsSync('/usr/bin/script') && 'no script(1) here (util-linux; on Debian the bsdutils package)') }, async () => {
    const log = join(oep.home, 'benchmark-terminal.out');
    const command = `stty cols 120 rows 40; ${process.execPath} ${OEP_BIN} endpoint benchmark -n bench -r ${join(work, 'request.json')} --rate 5:10:5 --duration 1500ms --warmup 0`;
    // A terminal as a user has one: ora draws nothing when CI is in the environment at all.
    const { CI: _ci, NO_COLOR: _noColor, ...env } = process.env;
    const code = await new Promise<number>((resolve) => {
      const child = execFile('script', ['-qec', command, log], { env: { ...env, OEP_HOME: oep.home }, timeout: 120_000 }, (error) =>
        resolve(error ? (error.code as number) : 0),
      );
      child.stdin?.end();
    });
    assert.equal(code, 0);
    const terminal = readFileSync(log, 'utf8');
    assert.match(terminal, /step 1 of 2: 5 req\/s offered/);
    assert.match(terminal, /step 2 of 2: 10 req\/s offered/);
    assert.match(terminal, /^knee: /m);
  });

  // Flag checks that need no daemon are rows of test/unit/cli-run-seam.test.ts.
  it('refuses a deployment the endpoint has not, before sending anything', async () => {
    const unknown = await oep.run(['endpoint', 'benchmark', '-n', 'bench', '-r', join(work, 'request.json'), '--rate', '5', '-d', 'nope']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /--deployment-name nope: endpoint bench has no such deployment/);
  });
});
