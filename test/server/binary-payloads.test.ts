/**
 * Microsoft's binary-payloads sample pattern (azureml-examples, endpoints/online/managed/binary-payloads):
 * a @rawhttp run() reads image files from a multipart/form-data upload and answers an image with
 * `resp = AMLResponse(bytes, 200); resp.mimetype = "image/png"`, or JSON about several files.
 * Our own scripts and PNG, in test/fixtures/server/binary_payload.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertHeaders, EXEC_MS, FIXTURES, generatedIds, ScoringServer, stopAllServers } from './harness.js';
import { readGrayPng } from './png.js';

const FIXTURE = 'binary_payload';
export const INPUT_PNG = readFileSync(join(FIXTURES, FIXTURE, 'input.png'));
/** input.png's pixels (4 x 3, 8-bit gray): CR, LF and "--" among them, on purpose. */
export const INPUT_PIXELS = [0, 13, 10, 45, 45, 255, 128, 64, 1, 2, 200, 99];
/** Bytes that look like multipart delimiters, to be carried through as they are. */
const TRICKY = Buffer.from('line one\r\n--not-the-boundary\r\n\r\n--\x00\xff end', 'latin1');

interface Part {
  name: string;
  filename?: string;
  contentType?: string;
  data: Buffer | string;
}

function multipart(boundary: string, parts: Part[]): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"`;
    if (part.filename !== undefined) head += `; filename="${part.filename}"`;
    head += '\r\n';
    if (part.contentType) head += `Content-Type: ${part.contentType}\r\n`;
    chunks.push(Buffer.from(`${head}\r\n`), Buffer.from(part.data), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

describe('oep-server: an image in, an image out (single-file-to-file)', () => {
  let server: ScoringServer;
  before(async () => {
    server = await ScoringServer.start({ fixture: FIXTURE, entryScript: 'single-file-to-file-score.py' });
  });
  after(stopAllServers);

  it('answers the PNG run() made, as image/png, with the headers it set after making the AMLResponse', async () => {
    const boundary = '----oepUpload7MA4YWxkTrZu0gW';
    const body = multipart(boundary, [
      { name: 'note', data: 'first file wins' },
      { name: 'file', filename: 'input.png', contentType: 'image/png', data: INPUT_PNG },
      { name: 'file', filename: 'other.bin', contentType: 'application/octet-stream', data: TRICKY },
    ]);
    const res = await server.request({
      method: 'POST',
      path: '/score',
      body,
      headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` },
    });
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
    assert.deepEqual(readGrayPng(res.body), { width: 4, height: 3, pixels: INPUT_PIXELS.map((value) => 255 - value) });
    await server.waitForStdout('oep-server: run() output is HTTP Response');
  });

  it('answers 422 text when no file was uploaded', async () => {
    const boundary = 'b0';
    const res = await server.request({
      method: 'POST',
      path: '/score',
      body: multipart(boundary, [{ name: 'note', data: 'no file' }]),
      headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` },
    });
    assert.equal(res.status, 422);
    assert.equal(res.text, 'No file uploaded');
    assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
  });
});

describe('oep-server: several files in, JSON out (multi-file-to-json)', () => {
  after(stopAllServers);

  it('gives run() request.files with each file name, type and bytes, and the form fields', async () => {
    const server = await ScoringServer.start({ fixture: FIXTURE, entryScript: 'multi-file-to-json-score.py' });
    const boundary = 'xYzZY';
    const body = multipart(boundary, [
      { name: 'file[]', filename: 'input.png', contentType: 'image/png', data: INPUT_PNG },
      { name: 'file[]', filename: 'tricky.bin', data: TRICKY },
      { name: 'caption', data: 'two files' },
      { name: 'extra', filename: 'notes.txt', contentType: 'text/plain; charset=utf-8', data: 'hello' },
    ]);
    const res = await server.request({
      method: 'POST',
      path: '/score',
      body,
      headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` },
    });
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
