import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PYTHON, REPO_ROOT } from './harness.js';

// The table the workers of one server share (server/oep_server/handoff.py), driven directly in a
// Python process: how many connections each worker has open, from counts that each have a single
// writer, and which worker a new connection should go to.
const SERVER_DIR = join(REPO_ROOT, 'server');

function runPython(body: string): string {
  const script = `import sys\nsys.path.insert(0, ${JSON.stringify(SERVER_DIR)})\n${body}`;
  const result = spawnSync(PYTHON, ['-c', script], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
  assert.equal(result.status, 0, `python failed:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

describe("oep-server workers' shared table", () => {
  it('counts open connections per worker and names the one with fewer for a new connection', () => {
    const out = runPython(`
from oep_server.handoff import Cluster

cluster = Cluster(3)
assert cluster.find_fewer_connections(0) is None, "nobody serving yet"
cluster.publish(0, 0)
cluster.publish(1, 0)  # worker 2 is still starting (-1): never chosen
cluster.count_kept(0)
assert [cluster.connections_open(slot) for slot in range(3)] == [1, 0, 0]
assert cluster.find_fewer_connections(0) == 1
cluster.count_sent(0, 1)  # worker 0 passed its next connection to worker 1
assert [cluster.connections_open(slot) for slot in range(3)] == [1, 1, 0]
assert cluster.find_fewer_connections(0) is None and cluster.find_fewer_connections(1) is None
cluster.count_kept(1)
assert cluster.find_fewer_connections(1) == 0
cluster.count_closed(1)
cluster.count_closed(1)
assert cluster.connections_open(1) == 0 and cluster.find_fewer_connections(0) == 1
cluster.publish(1, 3)  # busy: still has fewer connections, and still chosen for one
assert cluster.find_fewer_connections(0) == 1
cluster.count_sent(1, 0)
cluster.count_kept(0)
assert cluster.connections_open(0) == 3
cluster.forget_connections(0)  # a new worker in slot 0: its predecessor's connections closed with it
assert cluster.connections_open(0) == 0
print("ok")
`);
    assert.equal(out, 'ok\n');
  });
});
