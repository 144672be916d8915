/**
 * What the binary-payload tests share, on oep-server alone (test/server/binary-payloads.test.ts) and
 * end to end (test/e2e/scoring-samples.test.ts): the PNG uploaded, its pixels, and a
 * multipart/form-data body built byte by byte (so a test chooses the boundary, leaves a part's
 * Content-Type out, or carries bytes that look like delimiters).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES } from './harness.js';

/** The fixture folder of the binary-payload scripts (test/fixtures/server/binary_payload). */
export const BINARY_PAYLOAD_FIXTURE = 'binary_payload';
export const INPUT_PNG = readFileSync(join(FIXTURES, BINARY_PAYLOAD_FIXTURE, 'input.png'));
/** input.png's pixels (4 x 3, 8-bit gray): CR, LF and "--" among them, on purpose. */
export const INPUT_PIXELS = [0, 13, 10, 45, 45, 255, 128, 64, 1, 2, 200, 99];
/** The pixels of the negative the sample scripts answer for input.png. */
export const NEGATIVE_PIXELS = INPUT_PIXELS.map((value) => 255 - value);

/** One part of a form: a field, or a file when it has a file name. */
export interface FormPart {
  name: string;
  filename?: string;
  /** Left out of the part's head when not given (as some clients send a file). */
  contentType?: string;
  data: Buffer | string;
}

/** A multipart/form-data upload: the body and the Content-Type header that names its boundary. */
export function multipartUpload(boundary: string, parts: FormPart[]): { body: Buffer; headers: Record<string, string> } {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"`;
    if (part.filename !== undefined) head += `; filename="${part.filename}"`;
    head += '\r\n';
    if (part.contentType) head += `Content-Type: ${part.contentType}\r\n`;
    chunks.push(Buffer.from(`${head}\r\n`), Buffer.from(part.data), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` } };
}
