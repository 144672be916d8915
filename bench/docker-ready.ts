/**
 * Time from `deployment create` to ready with a warm image cache, on the process runtime and on
 * the docker runtime, beyond the scoring script's own init(); and a check that an unchanged
 * deployment built from environment.build triggers no image build.
 *
 * The same quickstart-style deployment (bench/fixtures/trivial: a stdlib score.py whose init()
 * sleeps BENCH_INIT_SECONDS, image oep-test/python:bookworm) is created and deleted RUNS times per
 * runtime and init time, the runtimes interleaved so machine noise hits both alike.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { BenchHome, fmt, median, OEP_BIN, REPO_ROOT } from './harness.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const INITS = [0, 1];
const RUNTIMES = ['process', 'docker'] as const;
const trivial = join(REPO_ROOT, 'bench', 'fixtures', 'trivial');
const built = join(REPO_ROOT, 'bench', 'docker-fixtures', 'build', 'deployment.yml');

const home = new BenchHome();

/** Runs the CLI in the bench home and returns its stdout; fails loudly. */
function output(args: string[]): string {
  const result = spawnSync(process.execPath, [OEP_BIN, ...args], { env: { ...process.env, OEP_HOME: home.home, NO_COLOR: '1' }, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`oep ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}

function imageStatus(deployment: string): string {
  const prepared = output(['deployment', 'get-logs', '-n', deployment, '-e', 'bench', '--container', 'storage-initializer']);
  return /^image: (.*)$/m.exec(prepared)?.[1] ?? '(no image line)';
}

function createDelete(runtime: string, initSeconds: number): number {
  const took = home.oep([
    'deployment', 'create', '-f', join(trivial, 'deployment.yml'), '--runtime', runtime, '-o', 'none',
    '--set', `environment_variables.BENCH_INIT_SECONDS="${initSeconds}"`,
  ]);
  home.oep(['deployment', 'delete', '-n', 'trivial', '-e', 'bench', '--yes']);
  return took;
}

try {
  home.oep(['endpoint', 'create', '-f', join(trivial, 'endpoint.yml'), '-o', 'none']);
  // Warm-up, not counted: the daemon, the page cache, Docker's image and layer metadata.
  for (const runtime of RUNTIMES) createDelete(runtime, 0);

  const times = new Map<string, number[]>();
  for (const initSeconds of INITS) {
    for (let i = 0; i < RUNS; i++) {
      for (const runtime of RUNTIMES) {
        const key = `${runtime}/${initSeconds}`;
        times.set(key, [...(times.get(key) ?? []), createDelete(runtime, initSeconds)]);
      }
    }
  }
  for (const runtime of RUNTIMES) {
    for (const initSeconds of INITS) {
      const all = times.get(`${runtime}/${initSeconds}`)!;
      console.log(
        `docker-ready: ${runtime.padEnd(7)} init() ${initSeconds} s -> create median ${fmt(median(all))}, beyond init ${fmt(median(all) - initSeconds * 1000)} over ${RUNS} runs`,
      );
    }
  }

  // environment.build: the first create builds (unless an interrupted run left the tag); every
  // later create of the unchanged deployment must find its tag and build nothing.
  const first = home.oep(['deployment', 'create', '-f', built, '--runtime', 'docker', '-o', 'none']);
  console.log(`docker-ready: environment.build first create ${fmt(first)}: ${imageStatus('built')}`);
  home.oep(['deployment', 'delete', '-n', 'built', '-e', 'bench', '--yes']);
  const again: number[] = [];
  let builds = 0;
  for (let i = 0; i < RUNS; i++) {
    again.push(home.oep(['deployment', 'create', '-f', built, '--runtime', 'docker', '-o', 'none']));
    const status = imageStatus('built');
    if (!/cached, no build/.test(status)) builds += 1;
    // The last delete purges the tag, so the next bench run starts with a real build again.
    home.oep(['deployment', 'delete', '-n', 'built', '-e', 'bench', '--yes', ...(i === RUNS - 1 ? ['--purge'] : [])]);
  }
  console.log(`docker-ready: environment.build unchanged -> create median ${fmt(median(again))}, image builds: ${builds} of ${RUNS} creates`);
  if (builds > 0) process.exitCode = 1;
} finally {
  home.close();
}
