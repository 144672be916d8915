import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { BenchmarkReport } from '../../src/model/benchmark-report.js';
import { prerequisiteSkip } from '../prerequisites.js';
import { compareFixture } from './compare-fixture.js';
import { eventually, OepSandbox, REPO_ROOT } from './harness.js';

const CHROMIUM = '/usr/bin/chromium';
const OUTPUT = join(REPO_ROOT, 'test-output');

describe('oep dashboard in a real headless browser (Debian chromium)', { skip: prerequisiteSkip('dashboard browser tests', !existsSync(CHROMIUM) && `no ${CHROMIUM} (apt-get install chromium)`) }, () => {
  const oep = new OepSandbox();
  const profile = mkdtempSync(join(tmpdir(), 'oep-chromium-'));
  let dir = '';
  let url = '';
  let uri = '';
  let key = '';
  let browser: BrowserContext | undefined;

  const score = async (n: number): Promise<void> => {
    const res = await fetch(uri, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ n }) });
    assert.equal(res.status, 200);
    await res.text();
  };

  before(async () => {
    dir = compareFixture('dash', { blueReplicas: 1 });
    await oep.ok(['endpoint', 'create', '-f', join(dir, 'endpoint.yml'), '-o', 'none']);
    await oep.ok(['deployment', 'create', '-f', join(dir, 'blue.yml'), '--all-traffic', '--runtime', 'process', '-o', 'none']);
    await oep.ok(['deployment', 'create', '-f', join(dir, 'green.yml'), '--runtime', 'process', '-o', 'none']);
    await oep.ok(['traffic', 'mirror', '-n', 'dash', 'green=50', '-o', 'none']);
    uri = (await oep.ok(['endpoint', 'show', '-n', 'dash', '--query', 'scoring_uri', '-o', 'tsv'])).trim();
    key = (await oep.ok(['endpoint', 'get-credentials', '-n', 'dash', '--query', 'primaryKey', '-o', 'tsv'])).trim();
    for (let n = 0; n < 20; n += 1) await score(n);
    url = (await oep.ok(['dashboard', '-n', 'dash'])).trim();
    // A fresh profile (--user-data-dir) per run, as playwright passes it for a persistent context.
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1300, height: 1000 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  after(async () => {
    await browser?.close();
    await oep.close();
    rmSync(profile, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints a 127.0.0.1 URL with a token; a missing or wrong token gets 401', async () => {
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/endpoints\/dash\?token=[A-Za-z0-9_-]{20,}$/);
    const bare = url.replace(/\?token=.*$/, '');
    assert.equal((await fetch(bare)).status, 401);
    assert.equal((await fetch(`${bare}?token=wrong`)).status, 401);
    assert.equal((await fetch(url.replace('/endpoints/dash', '/api/endpoints/dash').replace(/token=.*/, 'token=nope'))).status, 401);
    assert.equal((await fetch(url)).status, 200);
    const index = (await oep.ok(['dashboard'])).trim();
    assert.match(index, /^http:\/\/127\.0\.0\.1:\d+\/\?token=/);
  });

  it('shows both deployments with their share, and the request counter rises live while a client sends requests', async () => {
    const page = await browser!.newPage();
    const problems: string[] = [];
    page.on('requestfailed', (request) => {
      // The event stream is cut when the page closes: not a network error of the page.
      if (!request.url().includes('/events/')) problems.push(`${request.url()}: ${request.failure()?.errorText}`);
    });
    page.on('response', (response) => {
      // No benchmark of the endpoint yet: the API says so with a 404, and the page shows it.
      const noBenchmark = response.status() === 404 && new URL(response.url()).pathname === '/api/endpoints/dash/benchmark';
      if (response.status() >= 400 && !noBenchmark) problems.push(`${response.url()}: ${response.status()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    await page.goto(url);
    await page.waitForSelector('#replicas tr[data-deployment="green"]');
    assert.equal(await page.textContent('#traffic-split [data-deployment="blue"]'), 'blue 100%');
    assert.equal(await page.textContent('#mirror-split [data-deployment="green"]'), 'green 50%');
    const counter = async (): Promise<number> => Number(await page.textContent('#replicas tr[data-deployment="blue"] td.requests'));
    const before = await counter();
    assert.ok(before >= 20, `requests so far: ${before}`);
    // A bounded client: at most 200 requests or 20 s, until the page shows more.
    let sent = 0;
    const deadline = Date.now() + 20_000;
    let stop = false;
    const client = (async () => {
      while (!stop && sent < 200 && Date.now() < deadline) await score(sent++);
    })();
    await eventually('the counter to rise without a reload', async () => ((await counter()) > before + 10 ? true : undefined), 20_000);
    stop = true;
    await client;
    await page.waitForFunction(() => document.querySelector('#compare')?.textContent?.includes('Agreement'), undefined, { timeout: 15_000 });
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'dashboard.png'), fullPage: true });
    if (process.env.OEP_UPDATE_SCREENSHOT === '1') copyFileSync(join(OUTPUT, 'dashboard.png'), join(REPO_ROOT, 'docs', 'dashboard.png'));
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('draws the latest benchmark: "no benchmark yet" before a sweep, then the chart, the knee and the recommendation of a real one', async () => {
    const api = url.replace('/endpoints/dash?', '/api/endpoints/dash/benchmark?');
    const none = await fetch(api);
    assert.equal(none.status, 404);
    assert.equal(none.headers.get('content-type'), 'application/json');
    assert.deepEqual(await none.json(), { error: 'No benchmark of endpoint dash yet.', hint: 'oep endpoint benchmark -n dash --request-file <file> --rate 5:40:5' });
    assert.equal((await fetch(api.replace(/token=.*/, 'token=nope'))).status, 401);

    const page = await browser!.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    await page.goto(url);
    await page.waitForSelector('#benchmark-none');
    assert.equal(await page.textContent('#benchmark-none'), 'No benchmark yet: oep endpoint benchmark -n dash --request-file <file> --rate 5:40:5 --target-rps <n>');

    writeFileSync(join(dir, 'request.json'), '{"n": 3}');
    const out = await oep.ok(['endpoint', 'benchmark', '-n', 'dash', '-d', 'blue', '--request-file', join(dir, 'request.json'), '--rate', '5:10:5', '--duration', '1s', '--warmup', '0', '--target-rps', '30', '-o', 'json']);
    const report = JSON.parse(out) as BenchmarkReport;
    assert.deepEqual(report.steps.map((step) => step.offered), [5, 10]);
    const served = (await (await fetch(api)).json()) as BenchmarkReport;
    assert.equal(served.id, report.id);

    // The open page reads the report again by itself: no reload.
    await page.waitForSelector('#benchmark-chart canvas', { timeout: 30_000 });
    assert.match((await page.textContent('#benchmark-meta'))!, new RegExp(`^report ${report.id} · .+ · rate sweep, 2 steps of 1 s \\(0 s warm-up\\) · deployment blue$`));
    const knee = report.knee;
    assert.equal(
      await page.textContent('#benchmark-knee'),
      knee
        ? `Knee: ${knee.offered} req/s offered: ${knee.achieved_rps.toFixed(1)} req/s achieved, p99 ${knee.p99_ms.toFixed(1)} ms (p99 within 2x the lowest step's, no 429)`
        : "Knee: none (already the lowest step's p99 rose, or it got 429)",
    );
    const advice = report.recommendation!;
    assert.equal(advice.deployment, 'blue');
    assert.match((await page.textContent('#benchmark-recommendation'))!, new RegExp(`^Recommended for 30 req/s at 70% utilization: instance_count: ${advice.instance_count} for blue \\(ceil\\(30 x ${advice.latency_s.toFixed(3)} s / 0.7 / 8\\)`));
    assert.equal(await page.textContent('#benchmark-throttling'), "No 429 in any step; Azure's limit: 16 in flight (2 x max_concurrent_requests_per_instance x instance_count)");
    // The chart is drawn, not only laid out: the achieved req/s line (blue) and the p99 line (orange) have pixels.
    assert.ok((await pixelsOf(page, [47, 111, 222])) > 20, 'achieved req/s line drawn');
    assert.ok((await pixelsOf(page, [230, 134, 46])) > 20, 'p99 line drawn');
    await page.locator('#benchmark').screenshot({ path: join(OUTPUT, 'dashboard-benchmark.png') });
    assert.deepEqual(problems, []);
    await page.close();
  });
});

/** How many pixels of the benchmark chart's canvas are (about) this colour. */
async function pixelsOf(page: Page, rgb: [number, number, number]): Promise<number> {
  return page.evaluate((color) => {
    const canvas = document.querySelector<HTMLCanvasElement>('#benchmark-chart canvas')!;
    const pixels = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let count = 0;
    for (let i = 0; i < pixels.length; i += 4) {
      const near = Math.abs(pixels[i]! - color[0]) + Math.abs(pixels[i + 1]! - color[1]) + Math.abs(pixels[i + 2]! - color[2]) < 40;
      if (near && pixels[i + 3]! > 200) count += 1;
    }
    return count;
  }, rgb);
}
