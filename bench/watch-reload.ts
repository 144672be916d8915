/**
 * Save-to-serving time of watch mode: a new score.py is written while a client keeps sending
 * requests through the endpoint; the time until the first answer from the new code, minus the
 * script's init(), is the reload time. 20 reloads per runtime; failed requests are counted.
 * Peer, same run: the same change applied by hand with `oep deployment update -f` (a CLI start
 * included). Azure's local mode rebuilds the image and then waits a fixed 15 s for every change.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BenchHome, fmt, median, OEP_BIN, percentile, REPO_ROOT } from './harness.js';

const RELOADS = Number(process.env.BENCH_RELOADS ?? 20);
const INIT_SECONDS = Number(process.env.BENCH_INIT_SECONDS ?? 0);
const runtimes = (process.env.BENCH_RUNTIMES ?? 'process,docker').split(',');

const SCRIPT = (version: number): string => `import os, time

def init():
    time.sleep(float(os.environ.get("BENCH_INIT_SECONDS", "0")))

def run(raw_data):
    return {"version": ${version}}
`;

async function measure(runtime: string): Promise<void> {
  const home = new BenchHome();
  const dir = join(home.home, 'project');
  cpSync(join(REPO_ROOT, 'bench', 'fixtures', 'trivial'), dir, { recursive: true });
  const yaml = join(dir, 'deployment.yml');
  writeFileSync(yaml, `${readFileSync(yaml, 'utf8')}environment_variables:\n  BENCH_INIT_SECONDS: "${INIT_SECONDS}"\n`);
  writeFileSync(join(dir, 'score.py'), SCRIPT(0));
  const env = { ...process.env, OEP_HOME: home.home, NO_COLOR: '1' };
  home.oep(['endpoint', 'create', '-f', join(dir, 'endpoint.yml'), '-o', 'none']);
  const watcher = spawn(process.execPath, [OEP_BIN, 'deployment', 'create', '-f', yaml, '--all-traffic', '--runtime', runtime, '--watch', '-o', 'none'], { env });
  let stderr = '';
  watcher.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  try {
    const deadline = Date.now() + 120_000;
    while (!stderr.includes('watching trivial') && Date.now() < deadline) await sleep(50);
    if (!stderr.includes('watching trivial')) throw new Error(`the watch did not start:\n${stderr}`);
    const uri = oepOutput(['endpoint', 'show', '-n', 'bench', '--query', 'scoring_uri', '-o', 'tsv'], env);
    const key = oepOutput(['endpoint', 'get-credentials', '-n', 'bench', '--query', 'primaryKey', '-o', 'tsv'], env);

    let latest = -1;
    let failed = 0;
    let sent = 0;
    let sending = true;
    const client = (async () => {
      while (sending && sent < 200_000) {
        sent++;
        try {
          const res = await fetch(uri, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: '{}' });
          const text = await res.text();
          if (res.status === 200) latest = (JSON.parse(text) as { version: number }).version;
          else failed++;
        } catch {
          failed++;
        }
      }
    })();

    const watchTimes: number[] = [];
    for (let version = 1; version <= RELOADS; version++) {
      const started = performance.now();
      writeFileSync(join(dir, 'score.py'), SCRIPT(version));
      while (latest !== version && performance.now() - started < 60_000) await sleep(2);
      if (latest !== version) throw new Error(`version ${version} never answered:\n${stderr}`);
      watchTimes.push(performance.now() - started - INIT_SECONDS * 1000);
      await sleep(300);
    }
    sending = false;
    await client;
    watcher.kill('SIGINT');
    await new Promise((resolve) => watcher.once('exit', resolve));

    // The peer: the same change by hand, `oep deployment update -f` (returns once the new replicas serve).
    const handTimes: number[] = [];
    for (let version = RELOADS + 1; version <= RELOADS + 5; version++) {
      writeFileSync(join(dir, 'score.py'), SCRIPT(version));
      handTimes.push(home.oep(['deployment', 'update', '-f', yaml, '-o', 'none']) - INIT_SECONDS * 1000);
    }
    const watchMedian = median(watchTimes);
    const handMedian = median(handTimes);
    console.log(
      `watch-reload ${runtime}: save-to-serving beyond init() median ${fmt(watchMedian)}, p95 ${fmt(percentile(watchTimes, 95))} over ${RELOADS} reloads; ` +
        `${failed} failed of ${sent} requests; peer "oep deployment update -f" by hand median ${fmt(handMedian)} (watch/peer ${(watchMedian / handMedian).toFixed(2)}x); ` +
        `Azure local mode: rebuild + 15 s fixed wait`,
    );
  } finally {
    watcher.kill('SIGKILL');
    home.close();
  }
}

function oepOutput(args: string[], env: NodeJS.ProcessEnv): string {
  const result = spawnSync(process.execPath, [OEP_BIN, ...args], { env, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`oep ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout.trim();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

for (const runtime of runtimes) await measure(runtime);
