/**
 * `oep endpoint list` with the daemon running, against `node -e 0` measured in the same run:
 * the ratio is what matters (aim: at most 1.5x), absolute times vary between machines.
 * With the daemon up the command runs in the resident CLI (src/cli/resident/); the same command
 * with OEP_CLI_RESIDENT=0 (run in its own process, as before the resident CLI) is timed in the
 * same run, interleaved, for comparison. The count of commands the resident CLI answered (its
 * lines in daemon.log) is printed: a ratio measured without it would say so.
 * BENCH_COMPARE_BIN=<another checkout>/bin/oep.js times that CLI too, against the same daemon.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BenchHome, fmt, median, timeCommand } from './harness.js';
import { oepPaths } from '../src/state/paths.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const COMPARE_BIN = process.env.BENCH_COMPARE_BIN;
const home = new BenchHome();
try {
  home.oep(['daemon', 'start', '-o', 'none']);
  // "With the daemon up": started and settled, its resident CLI listening (it loads after the daemon answers).
  const cliSocket = oepPaths(home.home).cliSocket;
  const deadline = Date.now() + 20_000;
  while (!existsSync(cliSocket) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  for (let i = 0; i < 3; i++) home.oep(['endpoint', 'list']); // warm the file cache
  const compareList = (): number => timeCommand(process.execPath, [COMPARE_BIN!, 'endpoint', 'list'], { OEP_HOME: home.home, NO_COLOR: '1' });
  if (COMPARE_BIN) compareList();
  const served = (): number => readFileSync(join(home.home, 'daemon.log'), 'utf8').split('\n').filter((line) => line.includes('resident CLI: oep endpoint list')).length;
  const servedBefore = served();
  const node: number[] = [];
  const list: number[] = [];
  const own: number[] = [];
  const compared: number[] = [];
  // Interleave them so machine noise hits all alike.
  for (let i = 0; i < RUNS; i++) {
    node.push(timeCommand(process.execPath, ['-e', '0']));
    list.push(home.oep(['endpoint', 'list']));
    own.push(home.oep(['endpoint', 'list'], { OEP_CLI_RESIDENT: '0' }));
    if (COMPARE_BIN) compared.push(compareList());
  }
  const ratio = median(list) / median(node);
  console.log(
    `cli-latency: node -e 0 median ${fmt(median(node))}; oep endpoint list median ${fmt(median(list))}; ratio ${ratio.toFixed(2)}x (aim <= 1.5x) over ${RUNS} runs; ` +
      `${served() - servedBefore} of ${RUNS} answered by the resident CLI`,
  );
  console.log(`cli-latency: OEP_CLI_RESIDENT=0 (in its own process) median ${fmt(median(own))}; ratio ${(median(own) / median(node)).toFixed(2)}x`);
  if (COMPARE_BIN) {
    console.log(`cli-latency: ${COMPARE_BIN} endpoint list median ${fmt(median(compared))}; ratio ${(median(compared) / median(node)).toFixed(2)}x`);
  }
} finally {
  home.close();
}
