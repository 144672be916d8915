/**
 * Reading the small grayscale PNGs of the binary-payload tests (test/fixtures/server/binary_payload):
 * the chunks, the size, and the pixels of unfiltered 8-bit rows, so a test can say which image came back.
 */
import assert from 'node:assert/strict';
import { inflateSync } from 'node:zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export interface GrayImage {
  width: number;
  height: number;
  pixels: number[];
}

function chunks(data: Buffer): { kind: string; body: Buffer }[] {
  assert.deepEqual(data.subarray(0, 8), SIGNATURE, 'a PNG signature');
  const found: { kind: string; body: Buffer }[] = [];
  let offset = 8;
  while (offset < data.length) {
    const length = data.readUInt32BE(offset);
    found.push({ kind: data.subarray(offset + 4, offset + 8).toString('latin1'), body: data.subarray(offset + 8, offset + 8 + length) });
    offset += 12 + length;
  }
  return found;
}

/** The image of an 8-bit grayscale PNG whose rows are unfiltered; fails the test for anything else. */
export function readGrayPng(data: Buffer): GrayImage {
  const all = chunks(data);
  const header = all.find((chunk) => chunk.kind === 'IHDR');
  assert.ok(header, 'an IHDR chunk');
  const width = header.body.readUInt32BE(0);
  const height = header.body.readUInt32BE(4);
  assert.deepEqual([...header.body.subarray(8, 13)], [8, 0, 0, 0, 0], '8-bit grayscale, not interlaced');
  const packed = inflateSync(Buffer.concat(all.filter((chunk) => chunk.kind === 'IDAT').map((chunk) => chunk.body)));
  const pixels: number[] = [];
  for (let row = 0; row < height; row++) {
    const start = row * (width + 1);
    assert.equal(packed[start], 0, `row ${row} unfiltered`);
    pixels.push(...packed.subarray(start + 1, start + 1 + width));
  }
  return { width, height, pixels };
}
