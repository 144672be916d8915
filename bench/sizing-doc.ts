import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { OepSandbox, REPO_ROOT } from '../test/e2e/harness.js';

/**
 * The real run docs/sizing.md shows: the deployment of issue 27's acceptance (run() sleeps 100 ms,
 * one worker, max_concurrent_requests_per_instance 1, two instances) on the process runtime in a
 * temporary OEP_HOME, the sweep `--rate 5:40:5 --duration 5s --warmup 1s --target-rps 30` printed
 * as the command prints it, then the dashboard's "Latest benchmark" panel of that run in Debian's
 * chromium. Writes test-output/sizing-run.txt and test-output/sizing-benchmark.png;
 * OEP_UPDATE_SCREENSHOT=1 also copies the picture to docs/sizing-benchmark.png.
 */
const CHROMIUM = '/usr/bin/chromium';
const OUTPUT = join(REPO_ROOT, 'test-output');

const SCORE_PY = 'import time\n\ndef init():\n    pass\n\ndef run(data):\n    time.sleep(0.1)\n    return {"ok": True}\n';
const DEPLOYMENT_YML = `name: slow
endpoint_name: sizing
code_configuration:
  code: ./code
  scoring_script: score.py
environment:
  image: oep-test/python:bookworm
instance_type: Standard_DS3_v2
instance_count: 2
environment_variables:
  WORKER_COUNT: "1"
request_settings:
  max_concurrent_requests_per_instance: 1
  request_timeout_ms: 5000
`;
const SWEEP = ['endpoint', 'benchmark', '-n', 'sizing', '--request-file', 'request.json', '--rate', '5:40:5', '--duration', '5s', '--warmup', '1s', '--target-rps', '30'];

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM)) throw new Error(`no ${CHROMIUM} (apt-get install chromium)`);
  const oep = new OepSandbox();
  const profile = mkdtempSync(join(tmpdir(), 'oep-chromium-'));
  let browser: BrowserContext | undefined;
  try {
    const work = join(oep.home, 'work');
    mkdirSync(join(work, 'code'), { recursive: true });
    writeFileSync(join(work, 'code', 'score.py'), SCORE_PY);
    writeFileSync(join(work, 'endpoint.yml'), 'name: sizing\nauth_mode: key\n');
    writeFileSync(join(work, 'slow.yml'), DEPLOYMENT_YML);
    writeFileSync(join(work, 'request.json'), '{"data": [1, 2, 3]}\n');
    await oep.ok(['config', 'set', 'runtime', 'process']);
    await oep.ok(['endpoint', 'create', '-f', 'endpoint.yml', '-o', 'none'], { cwd: work });
    await oep.ok(['deployment', 'create', '-f', 'slow.yml', '--all-traffic', '-o', 'none'], { cwd: work });

    const result = await oep.run(SWEEP, { cwd: work, timeoutMs: 300_000 });
    if (result.code !== 0) throw new Error(`oep ${SWEEP.join(' ')} exited ${result.code}:\n${result.stderr}`);
    mkdirSync(OUTPUT, { recursive: true });
    const transcript = `$ oep ${SWEEP.join(' ')}\n${result.stdout}`;
    writeFileSync(join(OUTPUT, 'sizing-run.txt'), transcript);
    process.stdout.write(transcript);

    const url = (await oep.ok(['dashboard', '-n', 'sizing'])).trim();
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1300, height: 1000 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const page = await browser.newPage();
    await page.goto(url);
    await page.waitForSelector('#benchmark-chart canvas', { timeout: 30_000 });
    const picture = join(OUTPUT, 'sizing-benchmark.png');
    await page.locator('#benchmark').screenshot({ path: picture });
    if (process.env.OEP_UPDATE_SCREENSHOT === '1') copyFileSync(picture, join(REPO_ROOT, 'docs', 'sizing-benchmark.png'));
    process.stderr.write(`picture: ${picture}\n`);
  } finally {
    await browser?.close();
    await oep.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

await main();
