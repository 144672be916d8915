import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { jsonMessages, messageError, type JsonMessage } from '../../src/runtimes/docker/progress.js';

/** Everything jsonMessages yields for a stream made of `chunks`. */
async function messages(chunks: (string | Buffer)[]): Promise<(JsonMessage | string)[]> {
  const all: (JsonMessage | string)[] = [];
  for await (const message of jsonMessages(Readable.from(chunks))) all.push(message);
  return all;
}

describe('jsonMessages', () => {
  it('joins a line split between chunks', async () => {
    assert.deepEqual(await messages(['{"stream":"Step 1/2 : FR', 'OM python:3.11\\n"', '}\r\n']), [{ stream: 'Step 1/2 : FROM python:3.11\n' }]);
  });

  it('keeps a UTF-8 character whole when a chunk ends inside it', async () => {
    const line = Buffer.from('{"stream":"café\\n"}\n');
    const inside = line.indexOf(0xa9); // the second byte of é
    assert.deepEqual(await messages([line.subarray(0, inside), line.subarray(inside)]), [{ stream: 'café\n' }]);
  });

  it('yields every line of a chunk that holds several, in order', async () => {
    assert.deepEqual(await messages(['{"status":"Preparing","id":"a1"}\r\n{"status":"Pushed","id":"a1"}\r\n{"aux":{"Digest":"sha256:d"}}\r\n']), [
      { status: 'Preparing', id: 'a1' },
      { status: 'Pushed', id: 'a1' },
      { aux: { Digest: 'sha256:d' } },
    ]);
  });

  it('skips blank lines', async () => {
    assert.deepEqual(await messages(['\n\r\n  \n{"status":"a"}\n\n', '\n{"status":"b"}\n']), [{ status: 'a' }, { status: 'b' }]);
  });

  it('yields a last line that has no newline', async () => {
    assert.deepEqual(await messages(['{"status":"a"}\n{"status":', '"b"}']), [{ status: 'a' }, { status: 'b' }]);
  });

  it('yields a line that is not a JSON object as the line itself', async () => {
    assert.deepEqual(await messages(['not json\n{"status":"a"}\n[1]\n']), ['not json', { status: 'a' }, '[1]']);
  });

  it('yields nothing for an empty stream', async () => {
    assert.deepEqual(await messages([]), []);
  });
});

describe('messageError', () => {
  it("is the error's detail, else the error; undefined for a message that is no error", async () => {
    const [detailed, bare, progress] = await messages([
      `${JSON.stringify({ errorDetail: { message: 'denied: requested access to the resource is denied' }, error: 'denied' })}\n`,
      `${JSON.stringify({ error: "The command '/bin/sh -c pip install nope' returned a non-zero code: 1" })}\n`,
      '{"status":"Pushing","id":"a1"}\n',
    ]);
    assert.equal(messageError(detailed as JsonMessage), 'denied: requested access to the resource is denied');
    assert.equal(messageError(bare as JsonMessage), "The command '/bin/sh -c pip install nope' returned a non-zero code: 1");
    assert.equal(messageError(progress as JsonMessage), undefined);
  });
});
