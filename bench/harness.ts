import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const OEP_BIN = join(REPO_ROOT, 'bin', 'oep.js');

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Wall time of one command, in ms. Fails loudly when the command fails. */
export function timeCommand(command: string, args: string[], env: NodeJS.ProcessEnv = {}): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, { env: { ...process.env, ...env }, encoding: 'utf8' });
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  return elapsed;
}

/** A temporary OEP_HOME; `oep(args)` runs the CLI there. */
export class BenchHome {
  readonly home = mkdtempSync(join(tmpdir(), 'oep-bench-'));

  oep(args: string[], env: NodeJS.ProcessEnv = {}): number {
    return timeCommand(process.execPath, [OEP_BIN, ...args], { OEP_HOME: this.home, NO_COLOR: '1', ...env });
  }

  close(): void {
    spawnSync(process.execPath, [OEP_BIN, 'daemon', 'stop'], { env: { ...process.env, OEP_HOME: this.home } });
    rmSync(this.home, { recursive: true, force: true });
  }
}

export function fmt(ms: number): string {
  return `${ms.toFixed(1)} ms`;
}
