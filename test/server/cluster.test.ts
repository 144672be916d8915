import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runServerPython } from './harness.js';

// The table the workers of one server share (server/oep_server/handoff.py), driven directly in a
// Python process: how many connections each worker has open, from counts that each have a single
// writer, and which worker a new connection should go to.

describe("oep-server workers' shared table", () => {
  it('counts open connections per worker and names the one with fewer for a new connection', () => {
    const out = runServerPython(`
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
