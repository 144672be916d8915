/**
 * Microsoft's binary-payloads sample pattern (azureml-examples, endpoints/online/managed/binary-payloads):
 * a @rawhttp run() reads image files from a multipart/form-data upload and answers an image with
 * `resp = AMLResponse(bytes, 200); resp.mimetype = "image/png"`, or JSON about several files.
 * Our own scripts and PNG, in test/fixtures/server/binary_payload.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BINARY_PAYLOAD_FIXTURE as FIXTURE, INPUT_PNG, multipartUpload, NEGATIVE_PIXELS } from './binary-payload-support.js';
import { assertHeaders, EXEC_MS, generatedIds, ScoringServer, stopAllServers } from './harness.js';
import { readGrayPng } from './png.js';

/** Bytes that look like multipart delimiters, to be carried through as they are. */
const TRICKY = Buffer.from('line one\r\n--not-the-boundary\r\n\r\n--\x00\xff end', 'latin1');

describe('oep-server: an image in, an image out (single-file-to-file)', () => {
  let server: ScoringServer;
  before(async () => {
    server = await ScoringServer.start({ fixture: FIXTURE, entryScript: 'single-file-to-file-score.py' });
  });
  after(stopAllServers);

  it('answers the PNG run() made, as image/png, with the headers it set after making the AMLResponse', async () => {
    const upload = multipartUpload('----oepUpload7MA4YWxkTrZu0gW', [
      { name: 'note', data: 'first file wins' },
      { name: 'file', filename: 'input.png', contentType: 'image/png', data: INPUT_PNG },
      { name: 'file', filename: 'other.bin', contentType: 'application/octet-stream', data: TRICKY },
    ]);
    const res = await server.request({ method: 'POST', path: '/score', ...upload });
    assert.equal(res.status, 200, res.text);
    assertHeaders(res, {
      'content-type': 'image/png',
      'content-length': String(res.body.length),
      'x-image-size': '4x3',
      // werkzeug quotes a parameter value that is not a token
      'content-disposition': 'inline; filename="negative of input.png"',
      'x-ms-run-function-failed': 'False',
      'x-ms-run-fn-exec-ms': EXEC_MS,
      ...generatedIds(),
    });
    assert.deepEqual(readGrayPng(res.body), { width: 4, height: 3, pixels: NEGATIVE_PIXELS });
    await server.waitForStdout('oep-server: run() output is HTTP Response');
  });

  it('answers 422 text when no file was uploaded', async () => {
    const res = await server.request({ method: 'POST', path: '/score', ...multipartUpload('b0', [{ name: 'note', data: 'no file' }]) });
    assert.equal(res.status, 422);
    assert.equal(res.text, 'No file uploaded');
    assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
  });
});

describe('oep-server: several files in, JSON out (multi-file-to-json)', () => {
  after(stopAllServers);

  it('gives run() request.files with each file name, type and bytes, and the form fields', async () => {
    const server = await ScoringServer.start({ fixture: FIXTURE, entryScript: 'multi-file-to-json-score.py' });
    const upload = multipartUpload('xYzZY', [
      { name: 'file[]', filename: 'input.png', contentType: 'image/png', data: INPUT_PNG },
      { name: 'file[]', filename: 'tricky.bin', data: TRICKY },
      { name: 'caption', data: 'two files' },
      { name: 'extra', filename: 'notes.txt', contentType: 'text/plain; charset=utf-8', data: 'hello' },
    ]);
    const res = await server.request({ method: 'POST', path: '/score', ...upload });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(res.text), {
      response: [
        { filename: 'input.png', mimetype: 'image/png', content_type: 'image/png', bytes: INPUT_PNG.length, size: [4, 3] },
        // a part without Content-Type: werkzeug's FileStorage has mimetype "" and content_type None
        { filename: 'tricky.bin', mimetype: '', content_type: null, bytes: TRICKY.length },
      ],
      first: 'input.png',
      fields: ['extra', 'file[]'],
      form: { caption: 'two files' },
    });
  });
});
