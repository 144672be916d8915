/**
 * Time from `deployment create` to ready on the process runtime, beyond the scoring script's own
 * init(): the same deployment is created with init() sleeping 0 s and 1 s; oep's overhead is the
 * create time minus the init time (aim: under 1 s).
 */
import { join } from 'node:path';
import { BenchHome, fmt, median, REPO_ROOT } from './harness.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const fixture = join(REPO_ROOT, 'bench', 'fixtures', 'trivial');
const home = new BenchHome();
try {
  home.oep(['endpoint', 'create', '-f', join(fixture, 'endpoint.yml'), '-o', 'none']);
  for (const initSeconds of [0, 1]) {
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      times.push(
        home.oep(['deployment', 'create', '-f', join(fixture, 'deployment.yml'), '--runtime', 'process', '-o', 'none', '--set', `environment_variables.BENCH_INIT_SECONDS="${initSeconds}"`]),
      );
      home.oep(['deployment', 'delete', '-n', 'trivial', '-e', 'bench', '--yes']);
    }
    const overhead = median(times) - initSeconds * 1000;
    console.log(`process-ready: init() ${initSeconds} s -> create median ${fmt(median(times))}, beyond init ${fmt(overhead)} (aim < 1000 ms) over ${RUNS} runs`);
  }
} finally {
  home.close();
}
