import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export type CollectedEvent = Record<string, unknown>;

/** Every JSON line under a data-collector folder, by folder relative to it (e.g. `request/2026/05/07/13`). */
export function readEvents(root: string): Map<string, CollectedEvent[]> {
  const out = new Map<string, CollectedEvent[]>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.jsonl')) {
        const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean);
        const key = relative(root, dir);
        out.set(key, [...(out.get(key) ?? []), ...lines.map((line) => JSON.parse(line) as CollectedEvent)]);
      }
    }
  };
  if (existsSync(root)) walk(root);
  return out;
}

/** The events of one collection, whatever their time folders. */
export function collection(events: Map<string, CollectedEvent[]>, name: string): CollectedEvent[] {
  return [...events.entries()].filter(([key]) => key.split('/')[0] === name).flatMap(([, list]) => list);
}

export const COLLECTIONS = ['request', 'response', 'model_inputs', 'model_outputs'];

/** The event of a collection whose correlation id is the request's id. */
export function eventOf(events: Map<string, CollectedEvent[]>, name: string, requestId: string): CollectedEvent | undefined {
  return collection(events, name).find((event) => event.correlationid === requestId);
}
