import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { replicaSecret } from '../../src/state/secrets.js';
import { dockerSkipReason, BASE_IMAGE } from '../e2e/docker-harness.js';
import { OepSandbox } from '../e2e/harness.js';
import { FAULTS_FIXTURE } from './bodies-support.js';
import { killScoringServers } from './replica-support.js';

/**
 * Key bypass (issue 11): each replica listens on a loopback port that `ss` shows, and POST /score
 * there answered 200 with no key, for any local user; so did the metrics URL. Now a replica
 * answers only requests that carry its deployment's secret, which only the router (and the
 * owner's OEP_HOME) knows, and the metrics URL needs the daemon's token.
 */

const REFUSED = {
  message: "Unauthorized: this replica answers only requests sent through its endpoint (oep's router checks the key and adds the replica's secret).",
};

interface Shown {
  replicas: { origin: string; ready: boolean }[];
}

async function replicaOrigin(oep: OepSandbox): Promise<string> {
  const shown = JSON.parse(await oep.ok(['deployment', 'show', '-n', 'big', '-e', 'faults'])) as Shown;
  assert.equal(shown.replicas.length, 1);
  return shown.replicas[0]!.origin;
}

async function post(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{}' });
  return { status: res.status, body: await res.text() };
}

/** Every file under a folder, with its text. */
function filesUnder(dir: string): { path: string; text: string }[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    const info = statSync(path, { throwIfNoEntry: false });
    if (!info) return [];
    if (info.isDirectory()) return filesUnder(path);
    return info.isFile() ? [{ path, text: readFileSync(path, 'latin1') }] : [];
  });
}

async function checkReplicaPort(oep: OepSandbox, runtime: 'process' | 'docker'): Promise<void> {
  await oep.ok(['endpoint', 'create', '-f', join(FAULTS_FIXTURE, 'endpoint.yml'), '-o', 'none']);
  await oep.ok(['deployment', 'create', '-f', join(FAULTS_FIXTURE, 'deployment.yml'), '--all-traffic', '--runtime', runtime, '-o', 'none']);
  const uri = (await oep.ok(['endpoint', 'show', '-n', 'faults', '--query', 'scoring_uri', '-o', 'tsv'])).trim();
  const key = (await oep.ok(['endpoint', 'get-credentials', '-n', 'faults', '--query', 'primaryKey', '-o', 'tsv'])).trim();
  const origin = await replicaOrigin(oep);

  // Straight to the replica: refused, with no key, a wrong secret, or even the endpoint's key.
  const attempts: Record<string, string>[] = [{}, { 'x-oep-replica-secret': 'guess' }, { authorization: `Bearer ${key}` }];
  for (const headers of attempts) {
    const direct = await post(`${origin}/score`, headers);
    assert.equal(direct.status, 401, JSON.stringify(headers));
    assert.deepEqual(JSON.parse(direct.body), REFUSED);
  }
  assert.equal((await fetch(`${origin}/swagger.json`)).status, 401);
  // The health route stays open to the probes, and says nothing but Healthy.
  const health = await fetch(`${origin}/`);
  assert.deepEqual([health.status, await health.text()], [200, 'Healthy']);
  // Through the endpoint, with its key: served.
  const routed = await post(uri, { authorization: `Bearer ${key}` });
  assert.equal(routed.status, 200, routed.body);
  assert.deepEqual(JSON.parse(routed.body), { bytes: 2 });

  // The secret is in no log, no state and no output (the storage-initializer log masks it).
  const secret = replicaSecret(oep.home, 'faults', 'big');
  const leaks = filesUnder(oep.home).filter((file) => !file.path.endsWith('daemon.key') && file.text.includes(secret));
  assert.deepEqual(leaks.map((file) => file.path), []);
  assert.ok(!(await oep.ok(['deployment', 'show', '-n', 'big', '-e', 'faults'])).includes(secret));
  const prepared = await oep.ok(['deployment', 'get-logs', '-n', 'big', '-e', 'faults', '--container', 'storage-initializer']);
  assert.match(prepared, /^ {2}OEP_REPLICA_SECRET=\*\*\*$/m);
}

describe('the key check cannot be walked around (process runtime)', { timeout: 300_000 }, () => {
  const oep = new OepSandbox();
  after(async () => {
    killScoringServers(oep.home);
    await oep.close();
  });

  it('the replica port refuses a request without the router secret', async () => {
    await checkReplicaPort(oep, 'process');
  });

  it('the metrics URL answers only with the token daemon status shows', async () => {
    const url = (await oep.ok(['daemon', 'status', '--query', 'metrics_url', '-o', 'tsv'])).trim();
    const bare = url.replace(/\?token=.*$/, '');
    assert.notEqual(bare, url);
    assert.equal((await fetch(bare)).status, 401);
    assert.equal((await fetch(`${bare}?token=${'0'.repeat(32)}`)).status, 401);
    const token = new URL(url).searchParams.get('token')!;
    assert.equal((await fetch(bare, { headers: { authorization: `Bearer ${token}` } })).status, 200);
    const text = await (await fetch(url)).text();
    assert.match(text, /^oep_requests_total\{endpoint="faults",deployment="big",status="200"\} 1$/m);
  });
});

describe('the key check cannot be walked around (docker runtime)', { timeout: 600_000 }, () => {
  const oep = new OepSandbox();
  let skip: string | false = false;
  before(async () => {
    skip = await dockerSkipReason([BASE_IMAGE]);
  });
  after(() => oep.close());

  it('the container port refuses a request without the router secret', async (t) => {
    if (skip) return t.skip(skip);
    await checkReplicaPort(oep, 'docker');
  });
});
