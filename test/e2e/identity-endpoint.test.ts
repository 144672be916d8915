import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { killDaemon } from './docker-harness.js';
import { OepSandbox } from './harness.js';

/**
 * Endpoint identities as `az ml online-endpoint show` prints them: system-assigned without an
 * identity block, user-assigned with their ids; fixed after create; bad blocks refused with the
 * file, line and key before anything is created.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const UAI = '/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/reader';

describe('endpoint identities in show', () => {
  const oep = new OepSandbox();
  after(() => oep.close());
  const file = (name: string, text: string): string => {
    const path = join(oep.home, name);
    writeFileSync(path, text);
    return path;
  };

  it('without identity: system-assigned with a principal_id and tenant_id that stay across a daemon crash', async () => {
    await oep.ok(['endpoint', 'create', '-f', file('sai.yml', 'name: sai-ep\nauth_mode: key\n'), '-o', 'none']);
    const identity = JSON.parse(await oep.ok(['endpoint', 'show', '-n', 'sai-ep', '--query', 'identity'])) as Record<string, string>;
    assert.deepEqual(Object.keys(identity).sort(), ['principal_id', 'tenant_id', 'type']);
    assert.equal(identity.type, 'system_assigned');
    assert.match(identity.principal_id!, UUID);
    assert.match(identity.tenant_id!, UUID);
    assert.equal((await oep.ok(['endpoint', 'show', '-n', 'sai-ep', '--query', 'identity.principal_id', '-o', 'tsv'])).trim(), identity.principal_id);
    await killDaemon(oep);
    assert.deepEqual(JSON.parse(await oep.ok(['endpoint', 'show', '-n', 'sai-ep', '--query', 'identity'])), identity);
  });

  it('user-assigned: each identity keeps its resource_id and gets a client_id and principal_id; the same identity on another endpoint has the same ids', async () => {
    const yaml = `name: NAME\nidentity:\n  type: user_assigned\n  user_assigned_identities:\n    - resource_id: ${UAI}\n`;
    await oep.ok(['endpoint', 'create', '-f', file('uai1.yml', yaml.replace('NAME', 'uai-one')), '-o', 'none']);
    await oep.ok(['endpoint', 'create', '-f', file('uai2.yml', yaml.replace('NAME', 'uai-two')), '-o', 'none']);
    const one = JSON.parse(await oep.ok(['endpoint', 'show', '-n', 'uai-one', '--query', 'identity'])) as { type: string; tenant_id: string; user_assigned_identities: Record<string, string>[] };
    const two = JSON.parse(await oep.ok(['endpoint', 'show', '-n', 'uai-two', '--query', 'identity']));
    assert.equal(one.type, 'user_assigned');
    assert.equal(one.user_assigned_identities.length, 1);
    const [item] = one.user_assigned_identities;
    assert.equal(item!.resource_id, UAI);
    assert.match(item!.client_id!, UUID);
    assert.match(item!.principal_id!, UUID);
    assert.deepEqual(two, one);
  });

  it('identity cannot change on update: exit 2, the message says why, nothing changed', async () => {
    const before = await oep.ok(['endpoint', 'show', '-n', 'sai-ep']);
    const result = await oep.run(['endpoint', 'update', '-f', file('sai-to-uai.yml', `name: sai-ep\nidentity:\n  type: user_assigned\n  user_assigned_identities:\n    - resource_id: ${UAI}\n`)]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /error: identity of endpoint sai-ep cannot change after it is created \(it is system-assigned\)\./);
    assert.match(result.stderr, /\(OEP_ERR_SPEC_INVALID\)/);
    assert.equal(await oep.ok(['endpoint', 'show', '-n', 'sai-ep']), before);
    // The same file as at create (and one that leaves identity out) still updates.
    await oep.ok(['endpoint', 'update', '-f', file('sai-again.yml', 'name: sai-ep\ndescription: again\n'), '-o', 'none']);
  });

  it('a resource_id that is not an ARM id, and user_assigned without identities: file, line and key, exit 2, nothing created', async () => {
    const path = file('bad.yml', 'name: bad-ep\nidentity:\n  type: user_assigned\n  user_assigned_identities:\n    - resource_id: reader\n');
    const result = await oep.run(['endpoint', 'create', '-f', path]);
    assert.equal(result.code, 2, result.stderr);
    assert.ok(result.stderr.includes(`${path}:5:20 identity.user_assigned_identities[0].resource_id: "reader" is not the ARM id of a user-assigned identity.`), result.stderr);
    const empty = file('empty.yml', 'name: bad-ep\nidentity:\n  type: user_assigned\n');
    const second = await oep.run(['endpoint', 'create', '-f', empty]);
    assert.equal(second.code, 2, second.stderr);
    assert.ok(second.stderr.includes(`${empty}:3:9 identity.type: A user_assigned identity needs user_assigned_identities with the resource_id of each identity.`), second.stderr);
    assert.equal((await oep.run(['endpoint', 'show', '-n', 'bad-ep'])).code, 2);
  });
});
