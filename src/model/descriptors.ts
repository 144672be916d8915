/**
 * File descriptors, pure: reading the limit, and telling "out of descriptors" apart. Shared by the
 * router (its connection budget, src/router/connection-budget.ts) and the supervisor (a probe or
 * start that fails for want of a descriptor is the daemon's problem, never the replica's).
 */

/** Whether an error is the process (EMFILE) or the system (ENFILE) being out of file descriptors. */
export function isOutOfDescriptors(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code ?? (error as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  if (code === 'EMFILE' || code === 'ENFILE') return true;
  // A failure reported as text (a start's message, a spawn error relayed as a string).
  const message = error instanceof Error ? error.message : typeof error === 'string' ? error : '';
  return /\bE[MN]FILE\b/.test(message);
}

/** The soft and hard "Max open files" of a /proc/<pid>/limits text (undefined: unlimited or absent). */
export function parseOpenFilesLimit(text: string): { soft: number | undefined; hard: number | undefined } {
  const line = text.split('\n').find((each) => each.startsWith('Max open files'));
  const [soft, hard] = line ? line.slice('Max open files'.length).trim().split(/\s+/) : [];
  const number = (value: string | undefined): number | undefined => (value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined);
  return { soft: number(soft), hard: number(hard) };
}
