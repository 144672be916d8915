/**
 * Router over TLS (HTTPS scoring URIs, point 5): oep's Router serving HTTPS against nginx serving
 * HTTPS with the same certificate and key, both doing the router bench's job (key check, blue=90
 * green=10, kept-alive upstreams), measured as CPU time per request of the proxy process under
 * keep-alive load, in one run on this machine.
 *
 *   npm run build && node dist/bench/router-tls.js
 *
 * Needs nginx (with its ssl module: Debian's nginx-light has it) and wrk (built with OpenSSL, as
 * Debian's is); it says so and stops when they are missing. Everything binds 127.0.0.1; every
 * process it starts is stopped at the end, on failure and Ctrl-C too.
 *
 * Method (bench/router.ts's, see bench/README.md "Router"): the upstreams are one nginx process
 * (1 worker) answering {"ok":true} on a blue and a green port (bench/fixtures/router/nginx-upstream.conf).
 * The peer is bench/fixtures/router/nginx-proxy.conf (1 worker, like the Router's one event loop)
 * with its listen line made `ssl` and the certificate file that oep made for the bench endpoint
 * (src/tls/local-ca.ts: OEP_HOME/tls/endpoints/bench.pem holds the certificate and its key; nginx
 * reads both from it). Each Router runs in its own child process (dist/bench/router-host.js) with
 * that same file. Configurations: (h) nginx HTTP, (r) Router HTTP (the router bench's pair, for
 * reference in the same run), (hs) nginx HTTPS, (rs) Router HTTPS (the lean path on the decrypted
 * socket), (rn) Router HTTPS with every request through Node's http server (RouterOptions.leanPath
 * false). Checks before timing: 100 requests each split exactly 90/10; 401 with no key and a wrong
 * key; the HTTPS ones present the bench certificate and negotiate the same protocol and cipher;
 * plain HTTP to an HTTPS port gets 400 from both. Load: wrk -t1 with bench/fixtures/wrk-post.lua,
 * keep-alive (a connection is set up once per run, so the handshakes are not what is measured).
 * Rounds (BENCH_ROUNDS, 3), each in a rotated order: 1 s warm-up, wrk -c16 -d BENCH_SECONDS (5)
 * for requests/s and CPU per request from /proc, wrk -c1 -d BENCH_LATENCY_SECONDS (3) for p50.
 * Then the ratios that matter as BENCH_CPU_AB_PAIRS (16) pairs of back-to-back BENCH_CPU_AB_SECONDS
 * (2 s) runs, which goes first alternating (this VM's speed drifts within seconds): (rs)/(hs),
 * (rn)/(hs) and (r)/(h); the medians of the pairs' ratios are reported. BENCH_JSON writes the numbers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect as tlsConnect } from 'node:tls';
import { Agent, request } from 'undici';
import { findFreePort } from '../src/runtimes/free-port.js';
import { endpointCertificate, localCa } from '../src/tls/local-ca.js';
import { endpointCertificateFile } from '../src/tls/paths.js';
import { CLK_TCK, descendants, fill, HAVE_PROC, median, medianOfRounds, processTicks, REPO_ROOT, runWrk, startNginx, versionOf, waitForPort, which, wrkErrors, type WrkResult } from './harness.js';
import type { HostConfig, HostReply } from './router-host.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 3);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 5);
const CPU_AB_PAIRS = Number(process.env.BENCH_CPU_AB_PAIRS ?? 16);
const CPU_AB_SECONDS = Number(process.env.BENCH_CPU_AB_SECONDS ?? 2);
const FIXTURES = join(REPO_ROOT, 'bench', 'fixtures', 'router');
const HOST_SCRIPT = join(REPO_ROOT, 'dist', 'bench', 'router-host.js');
const SCORE_BODY_FILE = join(FIXTURES, 'score.json');
const SBIN_DIRS = ['/usr/sbin', '/usr/local/sbin', '/sbin'];
/** The listen line of nginx-proxy.conf that the HTTPS peer makes `ssl`. */
const PROXY_LISTEN = 'listen 127.0.0.1:{{PROXY_PORT}};';

interface Target {
  name: string;
  label: string;
  url: string;
  tls: boolean;
  /** The processes doing the proxying (CPU per request). */
  cpuPids: () => number[];
}

interface Sample {
  rps: number;
  cpuUs: number;
  p50: number;
  p99: number;
  errors: number;
}

// ---------------------------------------------------------------------------------------------
// Processes started by the bench, stopped in cleanup() whatever happens.

const children = new Set<ChildProcess>();
let workDir: string | undefined;

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

async function cleanup(): Promise<void> {
  await Promise.all(
    [...children].map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      if (child.connected) child.send({ type: 'close' });
      else child.kill('SIGTERM');
      if (!(await Promise.race([exited.then(() => true), sleep(3000).then(() => false)]))) {
        child.kill('SIGKILL');
        await exited;
      }
    }),
  );
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  workDir = undefined;
}

process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`router-tls bench: ${signal}, stopping everything it started`);
    void cleanup().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------------------------------------

async function startHost(config: HostConfig): Promise<ChildProcess> {
  const child = track(spawn(process.execPath, [HOST_SCRIPT, JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const ready = new Promise<HostReply>((resolve) => child.once('message', resolve));
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`router host exited with ${code}`))));
  exited.catch(() => undefined);
  await Promise.race([ready, exited]);
  return child;
}

function wrk(wrkPath: string, url: string, key: string, connections: number, seconds: number): Promise<WrkResult> {
  return runWrk({
    wrk: wrkPath,
    url,
    scriptArgs: [SCORE_BODY_FILE, key],
    connections,
    seconds,
    start: (command, args) => track(spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })),
    kill: (child) => child.kill('SIGKILL'),
  });
}

function cpuTicks(pids: number[]): number {
  return pids.reduce((sum, pid) => sum + processTicks(pid), 0);
}

// ---------------------------------------------------------------------------------------------
// Checks

async function verify(target: Target, key: string, dispatcher: Agent): Promise<void> {
  const body = readFileSync(SCORE_BODY_FILE, 'utf8');
  const counts: Record<string, number> = {};
  for (let i = 0; i < 100; i++) {
    const response = await request(target.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body, dispatcher });
    const text = await response.body.text();
    if (response.statusCode !== 200) throw new Error(`${target.label}: status ${response.statusCode} ${text}`);
    const name = String(response.headers['azureml-model-deployment'] ?? '?');
    counts[name] = (counts[name] ?? 0) + 1;
  }
  if (counts.blue !== 90 || counts.green !== 10) throw new Error(`${target.label}: 100 requests went ${JSON.stringify(counts)}, expected blue 90, green 10`);
  for (const authorization of [undefined, 'Bearer wrong-key']) {
    const response = await request(target.url, { method: 'POST', headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) }, body: '{}', dispatcher });
    await response.body.dump();
    if (response.statusCode !== 401) throw new Error(`${target.label}: ${authorization ?? 'no key'} gave ${response.statusCode}, expected 401`);
  }
}

/** The certificate's serial, protocol and cipher an HTTPS target presents to a client that trusts the CA. */
function handshake(port: number, ca: string): Promise<{ serial: string; protocol: string; cipher: string }> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca, ALPNProtocols: ['http/1.1'] }, () => {
      const result = { serial: socket.getPeerX509Certificate()!.serialNumber, protocol: socket.getProtocol() ?? '?', cipher: socket.getCipher().name };
      socket.destroy();
      resolve(result);
    });
    socket.once('error', reject);
  });
}

/** The status a plain HTTP request to the port gets (an HTTPS port: 400). */
function plainStatus(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/score', method: 'POST', agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('error', reject);
    req.end('{}');
  });
}

// ---------------------------------------------------------------------------------------------
// Load

async function measure(wrkPath: string, target: Target, key: string): Promise<Sample> {
  await wrk(wrkPath, target.url, key, CONNECTIONS, 1);
  const pids = target.cpuPids();
  const before = cpuTicks(pids);
  const load = await wrk(wrkPath, target.url, key, CONNECTIONS, SECONDS);
  const after = cpuTicks(pids);
  const one = await wrk(wrkPath, target.url, key, 1, LATENCY_SECONDS);
  return {
    rps: load.requests / (load.duration_us / 1e6),
    cpuUs: HAVE_PROC ? (((after - before) / CLK_TCK) * 1e6) / load.requests : NaN,
    p50: one.p50_us / 1000,
    p99: one.p99_us / 1000,
    errors: wrkErrors(load) + wrkErrors(one),
  };
}

async function cpuPerRequest(wrkPath: string, target: Target, key: string): Promise<number> {
  const pids = target.cpuPids();
  const before = cpuTicks(pids);
  const load = await wrk(wrkPath, target.url, key, CONNECTIONS, CPU_AB_SECONDS);
  const after = cpuTicks(pids);
  if (wrkErrors(load) > 0) throw new Error(`${target.label}: ${wrkErrors(load)} failed requests in a CPU A/B run`);
  return (((after - before) / CLK_TCK) * 1e6) / load.requests;
}

/** CPU per request of `a` over `b`: CPU_AB_PAIRS pairs of back-to-back runs, which goes first alternating. */
async function cpuRatios(wrkPath: string, a: Target, b: Target, key: string): Promise<number[]> {
  const ratios: number[] = [];
  for (let pair = 0; pair < CPU_AB_PAIRS; pair++) {
    const [first, second] = pair % 2 === 0 ? [a, b] : [b, a];
    const x = await cpuPerRequest(wrkPath, first, key);
    const y = await cpuPerRequest(wrkPath, second, key);
    ratios.push(first === a ? x / y : y / x);
  }
  return ratios;
}

function quartiles(values: number[]): string {
  const sorted = [...values].sort((x, y) => x - y);
  return `${sorted[Math.floor(sorted.length / 4)]!.toFixed(2)} .. ${sorted[Math.floor((3 * sorted.length) / 4)]!.toFixed(2)}`;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const nginx = which('nginx', SBIN_DIRS);
  const wrkPath = which('wrk', SBIN_DIRS);
  if (!nginx || !wrkPath) {
    const missing = [!nginx && 'nginx', !wrkPath && 'wrk'].filter(Boolean).join(' and ');
    console.error(`router-tls bench: ${missing} not found on PATH (nor in /usr/sbin).`);
    console.error('Install them (Debian/Ubuntu): sudo apt-get update && sudo apt-get install -y nginx-light wrk');
    return 2;
  }
  if (!existsSync(HOST_SCRIPT)) {
    console.error(`router-tls bench: ${HOST_SCRIPT} is missing; run npm run build first.`);
    return 2;
  }
  if (!HAVE_PROC) {
    console.error('router-tls bench: needs /proc (Linux) for CPU time per request.');
    return 2;
  }

  workDir = mkdtempSync(join(tmpdir(), 'oep-bench-router-tls-'));
  chmodSync(workDir, 0o755); // nginx workers drop to an unprivileged user when started as root
  for (const sub of ['up-body', 'up-proxy', 'px-body', 'px-proxy']) mkdirSync(join(workDir, sub));
  // oep's own CA and endpoint certificate, in a home of the bench's: the file both servers use.
  const home = join(workDir, 'home');
  endpointCertificate(home, 'bench');
  const tlsFile = endpointCertificateFile(home, 'bench');
  const ca = localCa(home).cert;
  const serial = new X509Certificate(readFileSync(tlsFile)).serialNumber;

  const ports = {
    blue: await findFreePort(),
    green: await findFreePort(),
    proxy: await findFreePort(),
    proxyTls: await findFreePort(),
    router: await findFreePort(),
    routerTls: await findFreePort(),
    routerTlsNode: await findFreePort(),
  };
  const keys = { primary: randomBytes(32).toString('base64url'), secondary: randomBytes(32).toString('base64url') };
  const values = { BLUE_PORT: ports.blue, GREEN_PORT: ports.green, PRIMARY_KEY: keys.primary, SECONDARY_KEY: keys.secondary, DIR: workDir };
  await startNginx(nginx, workDir, 'upstream', fill(readFileSync(join(FIXTURES, 'nginx-upstream.conf'), 'utf8'), { ...values, PROXY_PORT: 0 }), ports.blue, track);
  await waitForPort(ports.green, 'nginx (upstream green)');
  const proxyTemplate = readFileSync(join(FIXTURES, 'nginx-proxy.conf'), 'utf8');
  if (!proxyTemplate.includes(PROXY_LISTEN)) throw new Error(`nginx-proxy.conf has no "${PROXY_LISTEN}" line to make ssl`);
  const proxy = await startNginx(nginx, workDir, 'proxy', fill(proxyTemplate, { ...values, PROXY_PORT: ports.proxy }), ports.proxy, track);
  // The same configuration, the listen line `ssl` with the bench certificate (TLS 1.2 and 1.3, as Node's default).
  const tlsListen = `${PROXY_LISTEN.replace(';', ' ssl;')}\n    ssl_certificate ${tlsFile};\n    ssl_certificate_key ${tlsFile};\n    ssl_protocols TLSv1.2 TLSv1.3;`;
  // The proxy's pid file and logs must not collide with the HTTP proxy's.
  const tlsConfig = fill(proxyTemplate.replace(PROXY_LISTEN, tlsListen).replaceAll('proxy.pid', 'proxy-tls.pid').replaceAll('proxy-error.log', 'proxy-tls-error.log'), { ...values, PROXY_PORT: ports.proxyTls });
  const proxyTls = await startNginx(nginx, workDir, 'proxy-tls', tlsConfig, ports.proxyTls, track);

  const upstreams = { blue: `http://127.0.0.1:${ports.blue}`, green: `http://127.0.0.1:${ports.green}` };
  const host = (port: number, extra: Partial<HostConfig>) => startHost({ port, keys, traffic: { blue: 90, green: 10 }, mirror: {}, upstreams, telemetry: false, ...extra });
  const [router, routerTls, routerTlsNode] = await Promise.all([host(ports.router, {}), host(ports.routerTls, { tlsFile }), host(ports.routerTlsNode, { tlsFile, leanPath: false })]);

  const targets: Target[] = [
    { name: 'nginx', label: '(h) nginx, HTTP', url: `http://127.0.0.1:${ports.proxy}/score`, tls: false, cpuPids: () => descendants(proxy) },
    { name: 'router', label: '(r) oep Router, HTTP (lean path)', url: `http://127.0.0.1:${ports.router}/score`, tls: false, cpuPids: () => [router.pid!] },
    { name: 'nginx-tls', label: '(hs) nginx, HTTPS', url: `https://127.0.0.1:${ports.proxyTls}/score`, tls: true, cpuPids: () => descendants(proxyTls) },
    { name: 'router-tls', label: '(rs) oep Router, HTTPS (lean path)', url: `https://127.0.0.1:${ports.routerTls}/score`, tls: true, cpuPids: () => [routerTls.pid!] },
    { name: 'router-tls-node', label: "(rn) oep Router, HTTPS (Node's http server)", url: `https://127.0.0.1:${ports.routerTlsNode}/score`, tls: true, cpuPids: () => [routerTlsNode.pid!] },
  ];
  const byName = (name: string): Target => targets.find((t) => t.name === name)!;

  console.log(`router-tls bench: ${new Date().toISOString()}`);
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model.trim()}; node ${process.version} (OpenSSL ${process.versions.openssl}); ${versionOf(nginx, ['-v'])}; ${versionOf(wrkPath, ['-v'])}`);
  console.log(`method: ${WARMUP_SECONDS} s warm-up per configuration; ${ROUNDS} rounds (1 s warm-up, wrk -t1 -c${CONNECTIONS} -d${SECONDS}s, wrk -t1 -c1 -d${LATENCY_SECONDS}s); then ${CPU_AB_PAIRS} back-to-back pairs of ${CPU_AB_SECONDS} s per ratio`);
  console.log(`load average before: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);

  const dispatcher = new Agent({ connect: { ca } });
  try {
    for (const target of targets) await verify(target, keys.primary, dispatcher);
  } finally {
    await dispatcher.close();
  }
  const shakes = await Promise.all([ports.proxyTls, ports.routerTls, ports.routerTlsNode].map((port) => handshake(port, ca)));
  for (const shake of shakes) {
    if (shake.serial !== serial) throw new Error(`an HTTPS target presented certificate ${shake.serial}, not the bench's ${serial}`);
    if (shake.protocol !== shakes[0]!.protocol || shake.cipher !== shakes[0]!.cipher) throw new Error(`the HTTPS targets negotiate differently: ${JSON.stringify(shakes)}`);
  }
  const plain = await Promise.all([ports.proxyTls, ports.routerTls].map(plainStatus));
  if (plain.some((status) => status !== 400)) throw new Error(`plain HTTP to the HTTPS ports gave ${plain.join(', ')}, expected 400`);
  console.log(`checks: 90/10 split exact over 100 requests; 401 with no key and a wrong key; the same certificate (serial ${serial}), ${shakes[0]!.protocol} ${shakes[0]!.cipher} on every HTTPS target; plain HTTP to an HTTPS port: 400: ok`);

  for (const target of targets) await wrk(wrkPath, target.url, keys.primary, CONNECTIONS, WARMUP_SECONDS);

  const samples = new Map<string, Sample[]>(targets.map((t) => [t.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const target of targets.map((_, i) => targets[(i + round) % targets.length]!)) {
      const sample = await measure(wrkPath, target, keys.primary);
      samples.get(target.name)!.push(sample);
      console.log(
        `  round ${round + 1} ${target.name.padEnd(16)} ${sample.rps.toFixed(0).padStart(6)} req/s  cpu ${sample.cpuUs.toFixed(1).padStart(5)} us/req  c1 p50 ${sample.p50.toFixed(3)} p99 ${sample.p99.toFixed(3)} ms${sample.errors ? `  ERRORS ${sample.errors}` : ''}`,
      );
    }
  }

  const pairs: Record<string, number[]> = {};
  for (const [a, b] of [
    ['router-tls', 'nginx-tls'],
    ['router-tls-node', 'nginx-tls'],
    ['router', 'nginx'],
  ] as const) {
    pairs[`${a}/${b}`] = await cpuRatios(wrkPath, byName(a), byName(b), keys.primary);
    console.log(`  CPU A/B ${a}/${b}: ${CPU_AB_PAIRS} pairs: median ${median(pairs[`${a}/${b}`]!).toFixed(2)} x, quartiles ${quartiles(pairs[`${a}/${b}`]!)}`);
  }

  const summary = Object.fromEntries(targets.map((t) => [t.name, { label: t.label, ...medianOfRounds(samples.get(t.name)!) }]));
  console.log('');
  console.log(`| configuration | req/s at c${CONNECTIONS} | proxy CPU per request | p50 / p99 at c1 (ms) |`);
  console.log('|---|---:|---:|---:|');
  for (const t of targets) {
    const s = summary[t.name]!;
    console.log(`| ${s.label} | ${s.rps.toFixed(0)} | ${s.cpuUs.toFixed(1)} µs | ${s.p50.toFixed(3)} / ${s.p99.toFixed(3)} |`);
  }
  const tlsCost = (https: string, http: string) => (summary[https]!.cpuUs - summary[http]!.cpuUs).toFixed(1);
  console.log('');
  console.log(`result: Router/nginx CPU per request over HTTPS: ${median(pairs['router-tls/nginx-tls']!).toFixed(2)} x (median of ${CPU_AB_PAIRS} pairs, quartiles ${quartiles(pairs['router-tls/nginx-tls']!)})`);
  console.log(`result: Router through Node's http server over HTTPS/nginx HTTPS: ${median(pairs['router-tls-node/nginx-tls']!).toFixed(2)} x; the lean path saves ${(summary['router-tls-node']!.cpuUs - summary['router-tls']!.cpuUs).toFixed(1)} µs per request (round medians)`);
  console.log(`result: Router/nginx over HTTP in the same run: ${median(pairs['router/nginx']!).toFixed(2)} x; TLS adds ${tlsCost('router-tls', 'router')} µs per request to the Router, ${tlsCost('nginx-tls', 'nginx')} µs to nginx (round medians)`);
  if (process.env.BENCH_JSON) writeFileSync(process.env.BENCH_JSON, JSON.stringify({ date: new Date().toISOString(), summary, samples: Object.fromEntries(samples), pairs }, null, 2));
  const errors = Object.values(summary).reduce((sum, s) => sum + s.errors, 0);
  if (errors > 0) {
    console.error(`router-tls bench: ${errors} failed requests (see ERRORS above); the numbers are not trustworthy`);
    return 1;
  }
  return 0;
}

let code = 1;
try {
  code = await main();
} catch (error) {
  console.error(`router-tls bench failed: ${(error as Error).stack ?? error}`);
} finally {
  await cleanup();
}
process.exit(code);
