/**
 * When the keeper starts the daemon again after a crash, and when it stops trying (a crash loop),
 * in the manner of systemd's Restart=on-failure with StartLimitBurst / StartLimitIntervalSec: the
 * first crash is restarted at once (the endpoints' clients are waiting), the next ones after a
 * growing delay, and a burst of crashes within the window ends it, said in the log and in
 * `oep daemon status`, rather than spinning for ever.
 */
export interface RestartPolicy {
  /** This many crashes within windowMs: give up. */
  maxCrashes: number;
  windowMs: number;
  /** Delay before the n-th restart within the window (n = 1, 2, ...): 0, base, 2 base, 4 base ... capped. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = { maxCrashes: 5, windowMs: 60_000, baseDelayMs: 500, maxDelayMs: 8_000 };

export type RestartDecision = { restart: true; delayMs: number } | { restart: false; crashes: number; windowMs: number };

/**
 * `crashes`: when each crash happened (ms), this one included. Crashes older than the window
 * no longer count, so a daemon that crashes once a day is restarted at once every time.
 */
export function decideRestart(crashes: readonly number[], now: number, policy: RestartPolicy = DEFAULT_RESTART_POLICY): RestartDecision {
  const recent = crashes.filter((at) => now - at < policy.windowMs).length;
  if (recent >= policy.maxCrashes) return { restart: false, crashes: recent, windowMs: policy.windowMs };
  const delayMs = recent <= 1 ? 0 : Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (recent - 2));
  return { restart: true, delayMs };
}

/** How a child process ended, in words for the log and `daemon status`. */
export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal) return `killed by ${signal}`;
  return `exit code ${code ?? 'unknown'}`;
}
