import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type BrowserContext } from 'playwright-core';
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
      if (response.status() >= 400) problems.push(`${response.url()}: ${response.status()}`);
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
});
