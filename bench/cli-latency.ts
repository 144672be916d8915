/**
 * `oep endpoint list` with the daemon running, against `node -e 0` measured in the same run:
 * the ratio is what matters (aim: under 4x), absolute times vary between machines.
 */
import { BenchHome, fmt, median, timeCommand } from './harness.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const home = new BenchHome();
try {
  home.oep(['daemon', 'start', '-o', 'none']);
  home.oep(['endpoint', 'list']); // warm the file cache
  const node: number[] = [];
  const list: number[] = [];
  // Interleave the two so machine noise hits both alike.
  for (let i = 0; i < RUNS; i++) {
    node.push(timeCommand(process.execPath, ['-e', '0']));
    list.push(home.oep(['endpoint', 'list']));
  }
  const ratio = median(list) / median(node);
  console.log(`cli-latency: node -e 0 median ${fmt(median(node))}; oep endpoint list median ${fmt(median(list))}; ratio ${ratio.toFixed(2)}x (aim < 4x) over ${RUNS} runs`);
} finally {
  home.close();
}
