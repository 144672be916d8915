import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { OepError } from '../errors.js';
import { writeFileAtomic } from './atomic-write.js';
import { emptyState, type OepState } from './types.js';

/**
 * The daemon's desired state on disk. Only the daemon writes it, one mutation at a time
 * (see `mutate`), and every write replaces the file atomically.
 */
export class StateStore {
  private state: OepState = emptyState();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly file: string) {}

  async load(): Promise<OepState> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        this.state = emptyState();
        return this.state;
      }
      throw error;
    }
    try {
      const parsed = JSON.parse(text) as OepState;
      if (parsed.version !== 1 || typeof parsed.endpoints !== 'object') throw new Error('unknown state version');
      this.state = parsed;
    } catch (error) {
      throw new OepError('OEP_ERR_INTERNAL', `The state file ${this.file} is unreadable: ${(error as Error).message}`, {
        hint: 'Move the file away to start from an empty state (running endpoints will be forgotten).',
      });
    }
    return this.state;
  }

  /** A deep copy, so readers can never change the stored state by accident. */
  snapshot(): OepState {
    return structuredClone(this.state);
  }

  /**
   * Runs `change` on a copy of the state and saves the result; mutations run one after the
   * other, so two commands at once cannot interleave their writes. A change that throws
   * leaves the state untouched.
   */
  mutate<T>(change: (draft: OepState) => T | Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      const draft = structuredClone(this.state);
      const result = await change(draft);
      await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
      await writeFileAtomic(this.file, `${JSON.stringify(draft, null, 2)}\n`);
      this.state = draft;
      return result;
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }
}
