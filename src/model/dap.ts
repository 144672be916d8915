/**
 * The Debug Adapter Protocol's framing, as debuggers (VS Code) and debugpy speak it over TCP: each
 * JSON message is preceded by a `Content-Length: N` header and an empty line. Enough for oep's
 * debug gate to read a client's first request and the replica's answer to the token it sends.
 */
export interface DapMessage {
  seq: number;
  type: 'request' | 'response' | 'event';
  command?: string;
  event?: string;
  request_seq?: number;
  success?: boolean;
  message?: string;
  arguments?: Record<string, unknown>;
  body?: Record<string, unknown>;
}

/** A header larger than this is not DAP: the reader gives up rather than buffer without end. */
const MAX_HEADER_BYTES = 1024;
/** A message larger than this is not one a debugger sends (breakpoints, evaluations are small). */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export class DapFramingError extends Error {}

/** Reads DAP messages out of a byte stream; what follows the last complete message stays in `rest`. */
export class DapReader {
  private buffer: Buffer = Buffer.alloc(0);

  /** Adds bytes; returns the messages they complete. */
  push(chunk: Buffer): DapMessage[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const messages: DapMessage[] = [];
    for (;;) {
      const headerEnd = this.buffer.indexOf('\r\n\r\n');
      if (headerEnd < 0) {
        if (this.buffer.length > MAX_HEADER_BYTES) throw new DapFramingError('not the Debug Adapter Protocol (no Content-Length header)');
        return messages;
      }
      const header = this.buffer.subarray(0, headerEnd).toString('latin1');
      const length = Number(/(?:^|\r\n)Content-Length:\s*(\d+)\s*(?:\r\n|$)/i.exec(header)?.[1]);
      if (!Number.isSafeInteger(length) || length > MAX_MESSAGE_BYTES) throw new DapFramingError('not the Debug Adapter Protocol (a bad Content-Length header)');
      const end = headerEnd + 4 + length;
      if (this.buffer.length < end) return messages;
      const text = this.buffer.subarray(headerEnd + 4, end).toString('utf8');
      this.buffer = this.buffer.subarray(end);
      let message: DapMessage;
      try {
        message = JSON.parse(text) as DapMessage;
      } catch {
        throw new DapFramingError('not the Debug Adapter Protocol (a message that is not JSON)');
      }
      messages.push(message);
    }
  }

  /** The bytes after the last complete message (the start of the next one). */
  get rest(): Buffer {
    return this.buffer;
  }
}

/** One message, framed. */
export function encodeDap(message: DapMessage): Buffer {
  const payload = Buffer.from(JSON.stringify(message), 'utf8');
  return Buffer.concat([Buffer.from(`Content-Length: ${payload.length}\r\n\r\n`, 'ascii'), payload]);
}

/**
 * What debugpy's own adapter does to a debugger's requests before pydevd sees them, and the gate
 * does in its place (debugpy's adapter runs inside the replica, where it leaves them as they are):
 * `continue` and `pause` apply to every thread (threadId "*"). pydevd stops every thread at a
 * breakpoint; VS Code continues the one it shows, and the others (the request's connection thread
 * among them) would stay stopped (debugpy issue #2011).
 */
export function asDebugpyAdapterSends(message: DapMessage): DapMessage {
  if (message.type !== 'request' || (message.command !== 'continue' && message.command !== 'pause')) return message;
  return { ...message, arguments: { ...message.arguments, threadId: '*' } };
}

/** The failed response to `request` that a debugger shows as an error (VS Code: a message box). */
export function dapRefusal(request: DapMessage | undefined, message: string): DapMessage {
  return { seq: 1, type: 'response', request_seq: request?.seq ?? 0, command: request?.command ?? 'initialize', success: false, message, body: { error: { id: 1, format: message, showUser: true } } };
}
