import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually, OepSandbox, REPO_ROOT } from './harness.js';

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'rollout');

/**
 * Gates for the fixture's run(): a request with {"gate_<deployment>": path} waits there until the
 * test opens the gate, then appends the deployment's name to <path>.passed. Tests order events
 * with them instead of with delays that a loaded machine can stretch.
 */
class Gates {
  private readonly dir = mkdtempSync(join(tmpdir(), 'oep-gates-'));
  private readonly made: string[] = [];

  make(): string {
    const gate = join(this.dir, `gate-${this.made.length}`);
    this.made.push(gate);
    return gate;
  }

  open(gate: string): void {
    writeFileSync(gate, '');
  }

  /** The deployments that went through the gate so far. */
  passed(gate: string): string[] {
    return existsSync(`${gate}.passed`) ? readFileSync(`${gate}.passed`, 'utf8').split('\n').filter(Boolean) : [];
  }

  async waitPassed(gate: string, count: number): Promise<void> {
    await eventually(`${count} request(s) through ${gate}`, async () => (this.passed(gate).length >= count ? true : undefined));
  }

  /** Opens every gate, so no request stays held after a failed test, and removes them. */
  close(): void {
    for (const gate of this.made) this.open(gate);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

describe('safe rollout: blue/green behind one URL (process runtime)', () => {
  const oep = new OepSandbox();
  const gates = new Gates();
  let uri = '';
  let key = '';

  const score = async (body: unknown, headers: Record<string, string> = {}, credential: string | null = key): Promise<Answer> => {
    const res = await fetch(uri, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(credential ? { authorization: `Bearer ${credential}` } : {}), ...headers },
      body: JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, text: await res.text() };
  };
  const servedBy = (answer: Answer): string | null => answer.headers.get('azureml-model-deployment');

  before(async () => {
    await oep.ok(['endpoint', 'create', '-f', join(FIXTURE, 'endpoint.yml'), '-o', 'none']);
    await oep.ok(['deployment', 'create', '-f', join(FIXTURE, 'blue.yml'), '--all-traffic', '--runtime', 'process', '-o', 'none']);
    await oep.ok(['deployment', 'create', '-f', join(FIXTURE, 'green.yml'), '--runtime', 'process', '-o', 'none']);
    uri = (await oep.ok(['endpoint', 'show', '-n', 'rollout', '--query', 'scoring_uri', '-o', 'tsv'])).trim();
    key = (await oep.ok(['endpoint', 'get-credentials', '-n', 'rollout', '--query', 'primaryKey', '-o', 'tsv'])).trim();
  });
  after(async () => {
    gates.close();
    await oep.close();
  });

  it('lists both deployments in traffic, the new one at 0', async () => {
    const traffic = JSON.parse(await oep.ok(['endpoint', 'show', '-n', 'rollout', '--query', 'traffic'])) as Record<string, number>;
    assert.deepEqual(traffic, { blue: 100, green: 0 });
  });

  it('splits 90/10 exactly: 9 and 1 in every 10 of 100 requests', async () => {
    await oep.ok(['endpoint', 'update', '-n', 'rollout', '--traffic', 'blue=90 green=10', '-o', 'none']);
    const served: string[] = [];
    for (let n = 0; n < 100; n++) {
      const answer = await score({ n });
      assert.equal(answer.status, 200);
      const body = JSON.parse(answer.text) as { deployment: string };
      assert.equal(body.deployment, servedBy(answer));
      served.push(body.deployment);
    }
    assert.equal(served.filter((name) => name === 'green').length, 10);
    for (let start = 0; start < 100; start += 10) {
      assert.equal(served.slice(start, start + 10).filter((name) => name === 'green').length, 1, `window ${start}`);
    }
  });

  it('traffic show draws the allocation with the live counts', async () => {
    const chart = await oep.ok(['traffic', 'show', '-n', 'rollout']);
    assert.match(chart, /^blue\s+90% #{27}\.{3}\s+-\s+1\/1\s+90\s+0\s+0$/m);
    assert.match(chart, /^green\s+10% #{3}\.{27}\s+-\s+1\/1\s+10\s+0\s+0$/m);
  });

  it('update -f with a file that does not mention traffic keeps the traffic; one that does sets it', async () => {
    const file = join(oep.home, 'endpoint-update.yml');
    writeFileSync(file, 'name: rollout\ndescription: second version\n');
    const kept = JSON.parse(await oep.ok(['endpoint', 'update', '-f', file, '--query', '[description, traffic]'])) as unknown;
    assert.deepEqual(kept, ['second version', { blue: 90, green: 10 }]);
    writeFileSync(file, 'name: rollout\ntraffic:\n  blue: 80\n  green: 20\n');
    const set = JSON.parse(await oep.ok(['endpoint', 'update', '-f', file, '--query', 'traffic'])) as unknown;
    assert.deepEqual(set, { blue: 80, green: 20 });
  });

  it('pins a request with azureml-model-deployment, even to a 0% deployment; an unknown name is a 404', async () => {
    const allocation = JSON.parse(await oep.ok(['traffic', 'set', '-n', 'rollout', 'blue=100', 'green=0', '--query', 'traffic', '-o', 'json'])) as unknown;
    assert.deepEqual(allocation, { blue: 100 }); // zero entries are dropped, as Azure does
    const pinned = await score({}, { 'azureml-model-deployment': 'green' });
    assert.equal(pinned.status, 200);
    assert.equal(servedBy(pinned), 'green');
    const unknown = await score({}, { 'azureml-model-deployment': 'purple' });
    assert.equal(unknown.status, 404);
    assert.deepEqual(JSON.parse(unknown.text), { message: 'Deployment "purple" does not exist in endpoint rollout. Deployments: blue, green.' });
  });

  it('refuses invalid rules with exit 2 and changes nothing', async () => {
    const cases: [string[], RegExp][] = [
      [['--traffic', 'blue=90 green=20'], /add up to 110/],
      [['--traffic', 'blue=90 red=10'], /no deployment "red"/],
      [['--mirror-traffic', 'green=60'], /between 0 and 50/],
      [['--traffic', 'blue=90 green=10', '--mirror-traffic', 'green=10'], /live or mirrored traffic, never both/],
    ];
    for (const [flags, message] of cases) {
      const result = await oep.run(['endpoint', 'update', '-n', 'rollout', ...flags]);
      assert.equal(result.code, 2, flags.join(' '));
      assert.match(result.stderr, message);
    }
    const deleting = await oep.run(['deployment', 'delete', '-n', 'blue', '-e', 'rollout', '--yes']);
    assert.equal(deleting.code, 2);
    assert.match(deleting.stderr, /has 100% of the live traffic/);
    const traffic = JSON.parse(await oep.ok(['endpoint', 'show', '-n', 'rollout', '--query', '[traffic, mirror_traffic]'])) as unknown;
    assert.deepEqual(traffic, [{ blue: 100, green: 0 }, {}]);
  });

  it('mirrors the share of unpinned requests; the client never sees the mirror nor waits for it', async () => {
    await oep.ok(['traffic', 'mirror', '-n', 'rollout', 'green=20']);
    try {
      for (let round = 0; round < 10; round++) {
        // One request in 5 is copied to green, which holds its copy at a closed gate: the five
        // client answers all arrive while it waits, so no client waits for its mirrored copy.
        // Green answers before the next round, so no copy is dropped for green's 429 limit.
        const gate = gates.make();
        for (let n = 0; n < 5; n++) {
          const answer = await score({ n: round * 5 + n, gate_green: gate });
          assert.equal(answer.status, 200);
          assert.equal(servedBy(answer), 'blue');
          assert.equal((JSON.parse(answer.text) as { deployment: string }).deployment, 'blue');
        }
        assert.deepEqual(gates.passed(gate), [], 'the mirrored copy is still held at green');
        gates.open(gate);
        await gates.waitPassed(gate, 1);
        assert.deepEqual(gates.passed(gate), ['green']);
      }
      // A pinned request is never mirrored.
      await score({ n: 'pinned' }, { 'azureml-model-deployment': 'blue' });
      const view = JSON.parse(await oep.ok(['traffic', 'show', '-n', 'rollout', '-o', 'json'])) as { deployments: { name: string; mirrored: number }[] };
      assert.equal(view.deployments.find((row) => row.name === 'green')!.mirrored, 10);
      // Mirrored copies are logged when green has answered them.
      const readLog = () => readFileSync(join(oep.home, 'logs', 'rollout', 'access.log'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
      const lines = await eventually('10 mirrored copies in the access log', async () => {
        const all = readLog();
        return all.filter((line) => line.mirrored === true).length >= 10 ? all : undefined;
      });
      const mirrored = lines.filter((line) => line.mirrored === true);
      assert.equal(mirrored.length, 10);
      assert.ok(mirrored.every((line) => line.deployment === 'green' && line.status === 200));
      assert.deepEqual(Object.keys(lines[0]!).sort(), ['deployment', 'endpoint', 'latency_ms', 'mirrored', 'request_id', 'status', 'time']);
    } finally {
      await oep.ok(['traffic', 'mirror', '-n', 'rollout', 'green=0']);
    }
  });

  it('408 past request_timeout_ms, 424 with the model error headers, fresh x-request-id, client id passed through', async () => {
    // Blue holds the request at a gate that opens only after the answer: the 408 cannot be missed
    // however late the timer fires.
    const gate = gates.make();
    try {
      const slow = await score({ gate_blue: gate });
      assert.equal(slow.status, 408);
    } finally {
      gates.open(gate);
    }
    await gates.waitPassed(gate, 1);
    const failed = await score({ fail: true }, { 'x-ms-client-request-id': 'client-42', 'x-request-id': 'mine' });
    assert.equal(failed.status, 424);
    assert.equal(failed.headers.get('ms-azureml-model-error-statuscode'), '500');
    assert.equal(failed.headers.get('ms-azureml-model-error-reason'), 'An unexpected error occurred in scoring script. Check the logs for more info.');
    assert.equal(failed.headers.get('x-ms-client-request-id'), 'client-42');
    assert.notEqual(failed.headers.get('x-request-id'), 'mine');
    assert.match(failed.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  });

  it('429 beyond 2 x max_concurrent_requests_per_instance x instance_count in flight', async () => {
    // Green holds every request at a gate until two have been refused: exactly two are in flight.
    const gate = gates.make();
    try {
      const pending = Array.from({ length: 4 }, (_, n) => score({ n, gate_green: gate }, { 'azureml-model-deployment': 'green' }));
      const settled: number[] = [];
      for (const answer of pending) void answer.then((result) => settled.push(result.status)).catch(() => undefined);
      await eventually('two requests to be refused', async () => (settled.length >= 2 ? true : undefined));
      assert.deepEqual(settled, [429, 429]);
      gates.open(gate);
      const answers = await Promise.all(pending);
      assert.deepEqual(answers.map((answer) => answer.status).sort(), [200, 200, 429, 429]);
    } finally {
      gates.open(gate);
    }
  });

  it('401 without a key, with a wrong key, and with a key regenerated away', async () => {
    assert.equal((await score({}, {}, null)).status, 401);
    assert.equal((await score({}, {}, 'wrong')).status, 401);
    const secondary = (await oep.ok(['endpoint', 'get-credentials', '-n', 'rollout', '--query', 'secondaryKey', '-o', 'tsv'])).trim();
    assert.equal((await score({}, {}, secondary)).status, 200);
    await oep.ok(['endpoint', 'regenerate-keys', '-n', 'rollout', '--key-type', 'secondary']);
    assert.equal((await score({}, {}, secondary)).status, 401);
    assert.equal((await score({}, {}, key)).status, 200);
  });

  it('keeps serving while a deployment scales to 3 replicas, and loses no request when one is killed', async () => {
    let stop = false;
    const results: { status: number; startedAt: number }[] = [];
    const load = async (): Promise<void> => {
      // The deadline only guards against a test that never sets stop.
      const deadline = Date.now() + 300_000;
      while (!stop && Date.now() < deadline) {
        const startedAt = Date.now();
        const answer = await score({ n: results.length, sleep: 0.01 });
        results.push({ status: answer.status, startedAt });
      }
    };
    const loops = [load(), load()];
    let shown: { replicas: { pid: number; ready: boolean }[] } = { replicas: [] };
    let killedAt = 0;
    try {
      await oep.ok(['deployment', 'update', '-n', 'blue', '-e', 'rollout', '--set', 'instance_count=3', '-o', 'none']);
      shown = JSON.parse(await oep.ok(['deployment', 'show', '-n', 'blue', '-e', 'rollout'])) as typeof shown;
      assert.equal(shown.replicas.length, 3);
      process.kill(shown.replicas[0]!.pid, 'SIGKILL');
      killedAt = Date.now();
      // The load runs on until 20 requests sent after the kill were answered, however slowly.
      await eventually('20 requests answered after the kill', async () => (results.filter((result) => result.startedAt > killedAt).length >= 20 ? true : undefined), 60_000);
    } finally {
      stop = true;
      await Promise.all(loops);
    }
    const failures = results.filter((result) => result.status !== 200);
    assert.deepEqual(failures, [], 'no request failed during the scale-up or after the kill');
    // The killed replica comes back.
    await eventually(
      'the killed replica to be restarted',
      async () => {
        const now = JSON.parse(await oep.ok(['deployment', 'show', '-n', 'blue', '-e', 'rollout', '--query', 'replicas'])) as { pid: number; ready: boolean }[];
        return now.every((replica) => replica.ready) && now[0]!.pid !== shown.replicas[0]!.pid ? true : undefined;
      },
      60_000,
    );
    // Its log says what happened, between the old server's lines and the new one's.
    const log = await oep.ok(['deployment', 'get-logs', '-n', 'blue', '-e', 'rollout', '--replica', '0']);
    assert.match(log, /^\S+ oep: replica 0 exited \(code null, signal SIGKILL\)$/m);
    assert.match(log, /^\S+ oep: restarting replica 0 in 1 s \(restart 1\)$/m);
    assert.match(log, /^\S+ oep: replica 0 restarted \(restart 1\)$/m);
  });

  it('exposes Prometheus metrics at the URL daemon status shows', async () => {
    const url = (await oep.ok(['daemon', 'status', '--query', 'metrics_url', '-o', 'tsv'])).trim();
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/metrics\?token=[0-9a-f]{32}$/);
    // Only the owner (who can read the token) gets the metrics: any local user can reach the port.
    assert.equal((await fetch(url.replace(/\?token=.*$/, ''))).status, 401);
    const text = await (await fetch(url)).text();
    assert.match(text, /^oep_requests_total\{endpoint="rollout",deployment="blue",status="200"\} \d+$/m);
    assert.match(text, /^oep_mirrored_requests_total\{endpoint="rollout",deployment="green",status="200"\} 10$/m);
    assert.match(text, /^oep_request_duration_seconds_bucket\{le="0\.005",endpoint="rollout",deployment="blue",mirrored="false"\} \d+$/m);
    assert.match(text, /^oep_replica_ready\{endpoint="rollout",deployment="blue",replica="0"\} 1$/m);
  });
});

describe('aml_token endpoints', () => {
  const oep = new OepSandbox();
  after(() => oep.close());

  it('issue expiring tokens that regenerate-keys invalidates', async () => {
    await oep.ok(['endpoint', 'create', '-f', join(FIXTURE, 'endpoint.yml'), '--auth-mode', 'aml_token', '-o', 'none']);
    await oep.ok(['deployment', 'create', '-f', join(FIXTURE, 'blue.yml'), '--all-traffic', '--runtime', 'process', '-o', 'none']);
    const credentials = JSON.parse(await oep.ok(['endpoint', 'get-credentials', '-n', 'rollout'])) as Record<string, unknown>;
    assert.deepEqual(Object.keys(credentials).sort(), ['accessToken', 'expiryTimeUtc', 'refreshAfterTimeUtc', 'tokenType']);
    assert.equal(credentials.tokenType, 'Bearer');
    const now = Date.now() / 1000;
    assert.ok(Math.abs((credentials.expiryTimeUtc as number) - (now + 3600)) < 60);
    const uri = (await oep.ok(['endpoint', 'show', '-n', 'rollout', '--query', 'scoring_uri', '-o', 'tsv'])).trim();
    const call = (token: string) =>
      fetch(uri, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}' }).then((res) => res.status);
    assert.equal(await call(credentials.accessToken as string), 200);
    assert.equal(await oep.ok(['endpoint', 'invoke', '-n', 'rollout']), '{"deployment": "blue", "n": null}\n');
    await oep.ok(['endpoint', 'regenerate-keys', '-n', 'rollout']);
    assert.equal(await call(credentials.accessToken as string), 401);
  });
});

describe('kubernetes endpoints (compute set)', () => {
  const oep = new OepSandbox();
  after(() => oep.close());

  it('take kubernetes deployments only, and answer 502 where a managed endpoint answers 424', async () => {
    await oep.ok(['endpoint', 'create', '-f', join(FIXTURE, 'endpoint.yml'), '--set', 'compute=azureml:k8s-cluster', '-o', 'none']);
    const managed = await oep.run(['deployment', 'create', '-f', join(FIXTURE, 'blue.yml'), '--runtime', 'process']);
    assert.equal(managed.code, 2);
    assert.match(managed.stderr, /^error: Deployment blue is of type managed, but rollout is a kubernetes endpoint \(compute: azureml:k8s-cluster\)\.$/m);
    assert.deepEqual(JSON.parse(await oep.ok(['deployment', 'list', '-e', 'rollout'])), [], 'nothing was changed');

    await oep.ok(['deployment', 'create', '-f', join(FIXTURE, 'blue.yml'), '--set', 'type=kubernetes', '--all-traffic', '--runtime', 'process', '-o', 'none']);
    const uri = (await oep.ok(['endpoint', 'show', '-n', 'rollout', '--query', 'scoring_uri', '-o', 'tsv'])).trim();
    const key = (await oep.ok(['endpoint', 'get-credentials', '-n', 'rollout', '--query', 'primaryKey', '-o', 'tsv'])).trim();
    const post = (body: unknown) => fetch(uri, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: JSON.stringify(body) });
    const ok = await post({});
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as { deployment: string }).deployment, 'blue');
    const failed = await post({ fail: true });
    await failed.text();
    assert.equal(failed.status, 502);
    assert.equal(failed.headers.get('ms-azureml-model-error-statuscode'), '500');
    const mirror = await oep.run(['endpoint', 'update', '-n', 'rollout', '--mirror-traffic', 'blue=10']);
    assert.equal(mirror.code, 2);
    assert.match(mirror.stderr, /only available on managed endpoints/);
    const moved = await oep.run(['endpoint', 'update', '-n', 'rollout', '--set', 'compute=azureml:other']);
    assert.equal(moved.code, 2);
    assert.match(moved.stderr, /^error: compute of endpoint rollout cannot change from compute azureml:k8s-cluster to compute azureml:other\.$/m);
    const described = await oep.ok(['endpoint', 'update', '-n', 'rollout', '--set', 'description=on a cluster', '--query', '[description, compute]', '-o', 'tsv']);
    assert.equal(described, 'on a cluster\nazureml:k8s-cluster\n');
  });
});
