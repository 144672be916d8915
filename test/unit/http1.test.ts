import assert from 'node:assert/strict';
import { STATUS_CODES } from 'node:http';
import { describe, it } from 'node:test';
import type { IncomingMessage } from 'node:http';
import { declaredLength } from '../../src/router/body.js';
import { ChunkedDecoder, hasBareLineFeed, hasNoBody, httpDate, MAX_HEAD_BYTES, parseRequestHead, parseResponseHead, replicaRefusesHeaders, serializeRequest, serializeResponse } from '../../src/router/http1.js';

/** Header text is latin1 on the wire: one byte per character. */
const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

/** An RFC 7231 IMF-fixdate, as Node's http server writes `Date`. */
const IMF_FIXDATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/** The head lines of a serialized message (the blank line and what follows it left out). */
function headLines(message: Buffer): string[] {
  const text = message.toString('latin1');
  return text.slice(0, text.indexOf('\r\n\r\n')).split('\r\n');
}

/** A parsed head with its header map as a plain object, so the parser may use a null-prototype map. */
function plain<T extends { headers: object }>(head: T | null | undefined): T | null | undefined {
  return head ? { ...head, headers: { ...head.headers } } : head;
}

function bodyOf(message: Buffer): Buffer {
  return message.subarray(message.indexOf('\r\n\r\n') + 4);
}

describe('http1: parseRequestHead', () => {
  it('parses a complete head: method, target, lower-case names, trimmed values, and its size', () => {
    const head = 'POST /score?x=1&y=%20 HTTP/1.1\r\nHost: 127.0.0.1:5001\r\nAuthorization:Bearer p\r\nContent-Type: \t application/json \t\r\nX-Empty:\r\nContent-Length: 2\r\n\r\n';
    const parsed = plain(parseRequestHead(bytes(head + '{}')));
    assert.deepEqual(parsed, {
      method: 'POST',
      url: '/score?x=1&y=%20',
      headers: { host: '127.0.0.1:5001', authorization: 'Bearer p', 'content-type': 'application/json', 'x-empty': '', 'content-length': '2' },
      size: Buffer.byteLength(head),
    });
  });

  it('takes any token as the method', () => {
    assert.deepEqual(plain(parseRequestHead(bytes('GET / HTTP/1.1\r\nHost: a\r\n\r\n'))), { method: 'GET', url: '/', headers: { host: 'a' }, size: 27 });
    assert.equal(parseRequestHead(bytes('M-SEARCH /x HTTP/1.1\r\nHost: a\r\n\r\n'))?.method, 'M-SEARCH');
    assert.equal(parseRequestHead(bytes("x!#$%&'*+-.^_`|~9 / HTTP/1.1\r\nHost: a\r\n\r\n"))?.method, "x!#$%&'*+-.^_`|~9");
  });

  it('keeps obs-text bytes of a value as latin1 characters', () => {
    assert.equal(parseRequestHead(bytes('GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf\xe9\r\n\r\n'))?.headers['x-name'], 'caf\xe9');
  });

  it('is undefined while the head is incomplete, whatever piece of it has come', () => {
    const head = 'GET /score HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\r\n';
    for (let end = 0; end < head.length; end++) assert.equal(parseRequestHead(bytes(head.slice(0, end))), undefined, `after ${end} bytes`);
    assert.equal(parseRequestHead(bytes(head))?.size, head.length);
  });

  it('leaves a head to Node (null) for everything the lean path does not take', () => {
    const cases: Record<string, string> = {
      'HTTP/1.0': 'GET / HTTP/1.0\r\nHost: a\r\n\r\n',
      'HTTP/2.0 in the request line': 'GET / HTTP/2.0\r\nHost: a\r\n\r\n',
      'a lower-case protocol': 'GET / http/1.1\r\nHost: a\r\n\r\n',
      'a method that is not a token': 'GE(T / HTTP/1.1\r\nHost: a\r\n\r\n',
      'an empty method': ' / HTTP/1.1\r\nHost: a\r\n\r\n',
      'no target': 'GET HTTP/1.1\r\nHost: a\r\n\r\n',
      'a target not starting with /': 'GET score HTTP/1.1\r\nHost: a\r\n\r\n',
      'an absolute-form target': 'GET http://a/score HTTP/1.1\r\nHost: a\r\n\r\n',
      'an asterisk-form target': 'OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n',
      'a space inside the target': 'GET /a b HTTP/1.1\r\nHost: a\r\n\r\n',
      'two spaces after the method': 'GET  / HTTP/1.1\r\nHost: a\r\n\r\n',
      'a repeated header name': 'GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nX-A: 2\r\n\r\n',
      'a repeated header name in another case': 'GET / HTTP/1.1\r\nHost: a\r\nx-a: 1\r\nX-A: 2\r\n\r\n',
      'an obs-fold line (starts with a space)': 'GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n  continued\r\n\r\n',
      'an obs-fold line with a colon': 'GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n Y: 2\r\n\r\n',
      'an obs-fold line (starts with a tab)': 'GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n\tcontinued\r\n\r\n',
      'a NUL in a value': 'GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x00c\r\n\r\n',
      'an escape in a value': 'GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x1bc\r\n\r\n',
      'a DEL in a value': 'GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x7fc\r\n\r\n',
      'a bare LF inside a value': 'GET / HTTP/1.1\r\nHost: a\r\nX-A: b\nX-B: c\r\n\r\n',
      'a bare CR inside a value': 'GET / HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n',
      'a header line without a colon': 'GET / HTTP/1.1\r\nHost: a\r\nX-A\r\n\r\n',
      'an empty header name': 'GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n',
      'a space before the colon': 'GET / HTTP/1.1\r\nHost : a\r\n\r\n',
      'a header name that is not a token': 'GET / HTTP/1.1\r\nHo(st: a\r\n\r\n',
    };
    for (const [what, head] of Object.entries(cases)) assert.equal(parseRequestHead(bytes(head)), null, what);
  });

  it('keeps a horizontal tab inside a value (the one control a value may hold)', () => {
    assert.equal(parseRequestHead(bytes('GET / HTTP/1.1\r\nHost: a\r\nX-A: b\tc\r\n\r\n'))?.headers['x-a'], 'b\tc');
  });

  it(
    'leaves a value with a control character at either end to Node too (Node answers such a head 400)',
    () => {
      for (const value of ['\x0bb', 'b\x0b', '\x0cb', 'b\x0c', 'b\r', 'b\n']) {
        assert.equal(parseRequestHead(bytes(`GET / HTTP/1.1\r\nHost: a\r\nX-A: ${value}\r\n\r\n`)), null, JSON.stringify(value));
      }
    },
  );

  it(
    'trims only spaces and tabs around a value, as Node does (an obs-text NBSP at the end is part of the value)',
    () => {
      assert.equal(parseRequestHead(bytes('GET / HTTP/1.1\r\nHost: a\r\nX-A: \xa0b\xa0\r\n\r\n'))?.headers['x-a'], '\xa0b\xa0');
    },
  );

  it('takes only the first head of two pipelined requests, its size pointing at the second', () => {
    const first = 'GET /a HTTP/1.1\r\nHost: a\r\n\r\n';
    const parsed = parseRequestHead(bytes(first + 'GET /b HTTP/1.1\r\nHost: a\r\n\r\n'));
    assert.equal(parsed?.url, '/a');
    assert.equal(parsed?.size, first.length);
  });

  it('knows Node\'s head limit', () => {
    assert.equal(MAX_HEAD_BYTES, 16 * 1024);
  });
});

describe('http1: parseResponseHead', () => {
  it('parses the status, lower-case names and trimmed values, and the head\'s size', () => {
    const head = 'HTTP/1.1 201 Created\r\nContent-Type:  application/json \r\nContent-Length: 2\r\n\r\n';
    assert.deepEqual(plain(parseResponseHead(bytes(head + '{}'))), { status: 201, http10: false, headers: { 'content-type': 'application/json', 'content-length': '2' }, size: head.length });
  });

  it('takes HTTP/1.0 answers and a status line without a reason', () => {
    assert.equal(parseResponseHead(bytes('HTTP/1.0 404 Not Found\r\n\r\n'))?.status, 404);
    assert.equal(parseResponseHead(bytes('HTTP/1.0 404 Not Found\r\n\r\n'))?.http10, true);
    assert.deepEqual(plain(parseResponseHead(bytes('HTTP/1.1 204\r\n\r\n'))), { status: 204, http10: false, headers: {}, size: 16 });
  });

  it('turns repeated headers into arrays, in order', () => {
    const parsed = parseResponseHead(bytes('HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nX-One: 1\r\nset-cookie: b=2\r\nSET-COOKIE: c=3\r\n\r\n'));
    assert.deepEqual({ ...parsed?.headers }, { 'set-cookie': ['a=1', 'b=2', 'c=3'], 'x-one': '1' });
  });

  it(
    'keeps headers named like members of Object.prototype as plain headers',
    () => {
      const parsed = parseResponseHead(bytes('HTTP/1.1 200 OK\r\nConstructor: x\r\nToString: t\r\n__proto__: y\r\n\r\n'));
      const names: string[] = [];
      for (const name in parsed!.headers) names.push(name);
      assert.deepEqual(names, ['constructor', 'tostring', '__proto__']);
      assert.equal(parsed!.headers.constructor, 'x');
      assert.equal(parsed!.headers.tostring, 't');
      assert.equal(Object.getOwnPropertyDescriptor(parsed!.headers, '__proto__')?.value, 'y');
    },
  );

  it('is undefined while incomplete, whatever piece of it has come', () => {
    const head = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';
    for (let end = 0; end < head.length; end++) assert.equal(parseResponseHead(bytes(head.slice(0, end))), undefined, `after ${end} bytes`);
  });

  it('throws on an answer that is not HTTP/1.x or has no valid status', () => {
    assert.throws(() => parseResponseHead(bytes('SSH-2.0-OpenSSH\r\n\r\n')), /not HTTP\/1\.x/);
    assert.throws(() => parseResponseHead(bytes('HTTP/2 200\r\n\r\n')), /not HTTP\/1\.x/);
    assert.throws(() => parseResponseHead(bytes('HTTP/1.1 abc Bad\r\n\r\n')), /no valid status/);
    assert.throws(() => parseResponseHead(bytes('HTTP/1.1 099 Low\r\n\r\n')), /no valid status/);
  });

  it('throws on an incomplete head that has grown far past any real one', () => {
    assert.throws(() => parseResponseHead(Buffer.alloc(MAX_HEAD_BYTES * 4 + 1, 'a')), /too large/);
  });
});

describe('http1: hasNoBody', () => {
  it('is true for HEAD, 1xx, 204 and 304, whatever the headers', () => {
    assert.equal(hasNoBody('HEAD', 200), true);
    for (const status of [100, 101, 103, 204, 304]) assert.equal(hasNoBody('GET', status), true, String(status));
    for (const status of [200, 201, 404, 500]) assert.equal(hasNoBody('POST', status), false, String(status));
  });
});

describe('http1: ChunkedDecoder', () => {
  const body = '5\r\nhello\r\n6;name=value;quoted="a;b"\r\n world\r\n0\r\nX-Trailer: 1\r\nX-Other: 2\r\n\r\n';

  it('decodes a chunked body in one piece: extensions skipped, trailers read, nothing extra', () => {
    const decoder = new ChunkedDecoder();
    assert.equal(decoder.push(bytes(body)), true);
    assert.equal(Buffer.concat(decoder.chunks).toString(), 'hello world');
    assert.equal(decoder.bytes, 11);
    assert.equal(decoder.extra, undefined);
  });

  it('decodes the same body fed byte by byte: true only on its very last byte', () => {
    const decoder = new ChunkedDecoder();
    const input = bytes(body);
    for (let i = 0; i < input.length; i++) {
      const done = decoder.push(input.subarray(i, i + 1));
      assert.equal(done, i === input.length - 1, `after byte ${i}`);
    }
    assert.equal(Buffer.concat(decoder.chunks).toString(), 'hello world');
    assert.equal(decoder.bytes, 11);
    assert.equal(decoder.extra, undefined);
  });

  it('decodes it fed in every two-piece split', () => {
    const input = bytes(body);
    for (let cut = 1; cut < input.length; cut++) {
      const decoder = new ChunkedDecoder();
      assert.equal(decoder.push(input.subarray(0, cut)), false, `first piece of ${cut}`);
      assert.equal(decoder.push(input.subarray(cut)), true, `second piece after ${cut}`);
      assert.equal(Buffer.concat(decoder.chunks).toString(), 'hello world', `cut at ${cut}`);
    }
  });

  it('keeps binary data, upper-case hex sizes and a last chunk without trailers', () => {
    const data = Buffer.from([0, 13, 10, 13, 10, 255, 48]);
    const decoder = new ChunkedDecoder();
    const input = Buffer.concat([bytes('7\r\n'), data, bytes('\r\n1A\r\n'), Buffer.alloc(26, 0x61), bytes('\r\n0\r\n\r\n')]);
    assert.equal(decoder.push(input), true);
    assert.deepEqual(Buffer.concat(decoder.chunks), Buffer.concat([data, Buffer.alloc(26, 0x61)]));
    assert.equal(decoder.bytes, 33);
  });

  it('hands back the bytes after the end in `extra`', () => {
    const decoder = new ChunkedDecoder();
    assert.equal(decoder.push(bytes('2\r\nok\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n')), true);
    assert.equal(decoder.extra?.toString('latin1'), 'HTTP/1.1 200 OK\r\n');
    const split = new ChunkedDecoder();
    assert.equal(split.push(bytes('2\r\nok\r\n0\r\n\r')), false);
    assert.equal(split.push(bytes('\nabc')), true);
    assert.equal(split.extra?.toString('latin1'), 'abc');
  });

  it('throws on a chunk size that is not hex, negative or too large, and on a chunk not ending with CRLF', () => {
    for (const line of ['zz', '', ';ext', '-1', 'ffffffffffffffffff']) {
      assert.throws(() => new ChunkedDecoder().push(bytes(`${line}\r\nhello\r\n0\r\n\r\n`)), /chunk size is not valid/, JSON.stringify(line));
    }
    assert.throws(() => new ChunkedDecoder().push(bytes('5\r\nhelloX\r\n0\r\n\r\n')), /does not end with CRLF/);
    assert.throws(() => new ChunkedDecoder().push(Buffer.alloc(5000, 0x31)), /too long/);
  });

  it(
    'throws on a chunk size with anything but hex digits before the extensions',
    () => {
      for (const line of ['5x', '0x5', '+5', '5 5']) {
        assert.throws(() => new ChunkedDecoder().push(bytes(`${line}\r\nhello\r\n0\r\n\r\n`)), /chunk size is not valid/, JSON.stringify(line));
      }
    },
  );
});

describe('http1: serializeResponse', () => {
  it('writes the status line with Node\'s reason, the headers in order, Date, keep-alive, then the body', () => {
    const message = serializeResponse(200, undefined, { 'x-request-id': 'abc', 'content-type': 'application/json', 'content-length': 2 }, Buffer.from('{}'), 30);
    const lines = headLines(message);
    assert.equal(lines[0], 'HTTP/1.1 200 OK');
    assert.deepEqual(lines.slice(1, 4), ['x-request-id: abc', 'content-type: application/json', 'content-length: 2']);
    assert.match(lines[4]!, /^Date: /);
    assert.match(lines[4]!.slice('Date: '.length), IMF_FIXDATE);
    assert.deepEqual(lines.slice(5), ['Connection: keep-alive', 'Keep-Alive: timeout=30']);
    assert.equal(bodyOf(message).toString(), '{}');
  });

  it('takes its reason from Node\'s STATUS_CODES, a given reason, or "unknown"', () => {
    for (const status of [201, 404, 408, 424, 429, 503]) assert.equal(headLines(serializeResponse(status, undefined, {}, Buffer.alloc(0), 5))[0], `HTTP/1.1 ${status} ${STATUS_CODES[status]}`);
    assert.equal(headLines(serializeResponse(413, 'Request Entity Too Large', {}, Buffer.alloc(0), 5))[0], 'HTTP/1.1 413 Request Entity Too Large');
    assert.equal(headLines(serializeResponse(599, undefined, {}, Buffer.alloc(0), 5))[0], 'HTTP/1.1 599 unknown');
  });

  it('writes an array value as repeated lines', () => {
    const lines = headLines(serializeResponse(200, undefined, { 'set-cookie': ['a=1', 'b=2'], 'x-after': 'z' }, Buffer.alloc(0), undefined));
    assert.deepEqual(lines.slice(1, 4), ['set-cookie: a=1', 'set-cookie: b=2', 'x-after: z']);
  });

  it('keeps a given date instead of adding one', () => {
    const lines = headLines(serializeResponse(200, undefined, { date: 'Mon, 01 Jan 2024 00:00:00 GMT' }, Buffer.alloc(0), 5));
    assert.deepEqual(
      lines.filter((line) => /^date:/i.test(line)),
      ['date: Mon, 01 Jan 2024 00:00:00 GMT'],
    );
  });

  it('ends with Connection: close, and no Keep-Alive, without a keep-alive time', () => {
    const message = serializeResponse(500, undefined, { 'content-length': 1 }, Buffer.from('x'), undefined);
    const lines = headLines(message);
    assert.equal(lines.at(-1), 'Connection: close');
    assert.equal(lines.filter((line) => /^keep-alive:/i.test(line)).length, 0);
    assert.equal(message.toString('latin1').split('\r\n\r\n').length, 2);
    assert.equal(bodyOf(message).toString(), 'x');
  });

  it('writes header text as latin1 and the body bytes as they are', () => {
    const body = Buffer.from([0, 255, 13, 10, 13, 10, 1]);
    const message = serializeResponse(200, undefined, { 'x-name': 'caf\xe9' }, body, 5);
    assert.ok(message.includes(Buffer.from([0x63, 0x61, 0x66, 0xe9, 13, 10])), 'é is the single byte 0xe9');
    assert.deepEqual(message.subarray(message.length - body.length), body);
    assert.equal(message.length, message.indexOf('\r\n\r\n') + 4 + body.length);
  });
});

describe('http1: httpDate', () => {
  it('is the current time as an IMF-fixdate', () => {
    const before = Math.floor(Date.now() / 1000) * 1000;
    const date = httpDate();
    const after = Date.now();
    assert.match(date, IMF_FIXDATE);
    const parsed = Date.parse(date);
    assert.ok(parsed >= before && parsed <= after, `${date} is now`);
  });
});

describe('http1: serializeRequest', () => {
  it('writes the request line, host first, the headers in order, content-length and the body', () => {
    const message = serializeRequest('POST', '/score?x=1', '127.0.0.1:5001', { 'content-type': 'application/json', 'x-multi': ['1', '2'], 'x-request-id': 'r' }, Buffer.from('{"a":1}'));
    assert.deepEqual(headLines(message), [
      'POST /score?x=1 HTTP/1.1',
      'host: 127.0.0.1:5001',
      'content-type: application/json',
      'x-multi: 1',
      'x-multi: 2',
      'x-request-id: r',
      'content-length: 7',
    ]);
    assert.equal(bodyOf(message).toString(), '{"a":1}');
  });

  it('writes no content-length without a body, and content-length: 0 for an empty one', () => {
    const none = serializeRequest('GET', '/swagger.json', 'h:1', { accept: '*/*' }, undefined);
    assert.equal(none.toString('latin1'), 'GET /swagger.json HTTP/1.1\r\nhost: h:1\r\naccept: */*\r\n\r\n');
    const empty = serializeRequest('POST', '/score', 'h:1', {}, Buffer.alloc(0));
    assert.equal(empty.toString('latin1'), 'POST /score HTTP/1.1\r\nhost: h:1\r\ncontent-length: 0\r\n\r\n');
  });

  it('appends binary body bytes as they are, after latin1 header text', () => {
    const body = Buffer.from([0xff, 0, 0x0d, 0x0a]);
    const message = serializeRequest('PUT', '/score', 'h:1', { 'x-name': 'caf\xe9' }, body);
    assert.ok(message.includes(Buffer.from([0x66, 0xe9, 13, 10])));
    assert.deepEqual(message.subarray(message.length - 4), body);
    assert.equal(headLines(message).at(-1), 'content-length: 4');
  });
});

describe('heads refused at once (test/faults/hostile-heads.test.ts runs them end to end)', () => {
  it('a head with a bare LF is left to Node (which answers 400) before it is complete, not waited for', () => {
    assert.equal(parseRequestHead(bytes('GET /score HTTP/1.1\nHost: x\n')), null);
    assert.equal(parseRequestHead(bytes('GET /score HTTP/1.1\r\nHost: x\nX-A: b\r\n')), null);
    assert.equal(parseRequestHead(bytes('\n')), null);
    // Still coming, every line ended by CRLF so far: wait for the rest.
    assert.equal(parseRequestHead(bytes('GET /score HTTP/1.1\r\nHost: x\r\n')), undefined);
    assert.equal(parseRequestHead(bytes('GET /score HTTP/1.1\r')), undefined);
    assert.equal(hasBareLineFeed(bytes('a\r\nb\r\n')), false);
    assert.equal(hasBareLineFeed(bytes('a\r\nb\n')), true);
  });

  it('a Content-Length of 2^53 or more is larger than any limit, not unknown', () => {
    const request = (length: string, chunked = false): IncomingMessage =>
      ({ headers: { 'content-length': length, ...(chunked && { 'transfer-encoding': 'chunked' }) } }) as unknown as IncomingMessage;
    assert.equal(declaredLength(request('9007199254740991')), 9007199254740991);
    assert.equal(declaredLength(request('9007199254740992')), Number.POSITIVE_INFINITY);
    assert.equal(declaredLength(request('18446744073709551615')), Number.POSITIVE_INFINITY);
    assert.equal(declaredLength(request('12')), 12);
    assert.equal(declaredLength(request('x')), undefined);
    assert.equal(declaredLength(request('9007199254740992', true)), undefined);
  });

  it("header lines the replica's server refuses: one over 8,190 bytes with its CRLF, or more than 100 fields", () => {
    const line = (valueBytes: number): [string, string] => ['x-big', 'a'.repeat(valueBytes)];
    // "x-big: " + value + CRLF: 5 + 2 + value + 2 bytes.
    assert.equal(replicaRefusesHeaders([line(8190 - 9)]), undefined);
    assert.equal(replicaRefusesHeaders([line(8190 - 8)]), 'the header x-big is 8191 bytes long; the scoring server takes header lines of up to 8190 bytes');
    const fields = (count: number): [string, string][] => Array.from({ length: count }, (_, i) => [`x-${i}`, 'v']);
    assert.equal(replicaRefusesHeaders(fields(100)), undefined);
    assert.equal(replicaRefusesHeaders(fields(101)), 'the request has 101 header fields; the scoring server takes up to 100');
  });
});
