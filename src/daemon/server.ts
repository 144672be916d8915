import { createServer, type Server } from 'node:http';
import { chmod } from 'node:fs/promises';
import { isOepError, OepError } from '../errors.js';
import type { ProgressEvent } from '../model/progress.js';
import type { MethodName, ParamsOf, ResultOf } from './api.js';
import { RPC_PATH, type Frame, type RpcRequest } from './protocol.js';

/** What a method may do while it runs: send progress events or log text to the caller. */
export interface CallContext {
  emit: (event: ProgressEvent) => void;
  log: (text: string) => void;
  /** Says the work is recorded and carries on whether or not the caller waits (--no-wait). */
  accept: (value?: unknown) => void;
  /** Aborted when the caller goes away (e.g. Ctrl-C on `get-logs --follow`). */
  signal: AbortSignal;
}

export type Handler<M extends MethodName> = (params: ParamsOf<M>, context: CallContext) => Promise<ResultOf<M>>;

/** Every method of the API (src/daemon/api.ts), implemented. */
export type Handlers = { [M in MethodName]: Handler<M> };

/** Serves the control API on a unix socket readable and writable by the owning user only. */
export async function startControlServer(socketPath: string, handlers: Handlers, log: (line: string) => void): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== RPC_PATH) {
      res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      const write = (frame: Frame): void => {
        if (!res.writableEnded) res.write(`${JSON.stringify(frame)}\n`);
      };
      const abort = new AbortController();
      res.once('close', () => abort.abort());
      let call: RpcRequest;
      try {
        call = JSON.parse(Buffer.concat(chunks).toString('utf8')) as RpcRequest;
      } catch {
        write({ error: new OepError('OEP_ERR_INTERNAL', 'The daemon received a malformed request.').toJSON() });
        res.end();
        return;
      }
      // Own methods only: "toString" or "__proto__" is an unknown method like any other.
      const handler = Object.hasOwn(handlers, call.method) ? (handlers[call.method as MethodName] as Handler<MethodName>) : undefined;
      if (!handler) {
        write({ error: new OepError('OEP_ERR_INTERNAL', `The daemon has no method "${call.method}"; the CLI and daemon versions may differ (run: oep daemon stop).`).toJSON() });
        res.end();
        return;
      }
      // The one place where a request's JSON becomes typed parameters: the CLI that sent it is
      // built from the same API table (a CLI of another version gets "no method" above or the
      // daemon's own validation errors).
      handler((call.params ?? {}) as ParamsOf<MethodName>, {
        emit: (event) => write({ event }),
        log: (text) => write({ log: text }),
        accept: (value) => write({ accepted: value ?? null }),
        signal: abort.signal,
      })
        .then((result) => write({ result: result ?? null }))
        .catch((error: unknown) => {
          if (!isOepError(error)) log(`internal error in ${call.method}: ${(error as Error).stack ?? String(error)}`);
          const serialized = isOepError(error)
            ? error.toJSON()
            : new OepError('OEP_ERR_INTERNAL', `Internal error in the daemon: ${(error as Error).message}`).toJSON();
          write({ error: serialized });
        })
        .finally(() => res.end());
    });
  });
  const previous = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => resolve());
    });
  } finally {
    process.umask(previous);
  }
  await chmod(socketPath, 0o600);
  return server;
}
