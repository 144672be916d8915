/**
 * `oep endpoint list` with the daemon running, against `node -e 0` measured in the same run:
 * the ratio is what matters (aim: at most 1.5x), absolute times vary between machines.
 * BENCH_COMPARE_BIN=<another checkout>/bin/oep.js times that CLI too, interleaved, against the
 * same daemon: a before/after figure from one run.
 */
import { BenchHome, fmt, median, timeCommand } from './harness.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const COMPARE_BIN = process.env.BENCH_COMPARE_BIN;
const home = new BenchHome();
try {
  home.oep(['daemon', 'start', '-o', 'none']);
  home.oep(['endpoint', 'list']); // warm the file cache
  const compareList = (): number => timeCommand(process.execPath, [COMPARE_BIN!, 'endpoint', 'list'], { OEP_HOME: home.home, NO_COLOR: '1' });
  if (COMPARE_BIN) compareList();
  const node: number[] = [];
  const list: number[] = [];
  const compared: number[] = [];
  // Interleave them so machine noise hits all alike.
  for (let i = 0; i < RUNS; i++) {
    node.push(timeCommand(process.execPath, ['-e', '0']));
    list.push(home.oep(['endpoint', 'list']));
    if (COMPARE_BIN) compared.push(compareList());
  }
  const ratio = median(list) / median(node);
  console.log(`cli-latency: node -e 0 median ${fmt(median(node))}; oep endpoint list median ${fmt(median(list))}; ratio ${ratio.toFixed(2)}x (aim <= 1.5x) over ${RUNS} runs`);
  if (COMPARE_BIN) {
    console.log(`cli-latency: ${COMPARE_BIN} endpoint list median ${fmt(median(compared))}; ratio ${(median(compared) / median(node)).toFixed(2)}x`);
  }
} finally {
  home.close();
}
