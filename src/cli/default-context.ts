import { DaemonClient } from '../daemon/client.js';
import { resolveOepHome } from '../state/paths.js';
import type { CliContext } from './context.js';

const interrupt = new AbortController();
let interruptClaimed = false;

/**
 * Called by bin/ on Ctrl-C. Returns true when a running command handles the interrupt itself
 * (e.g. `get-logs --follow` ending its stream); otherwise bin/ ends the process with 130.
 */
export function interruptCli(): boolean {
  interrupt.abort();
  return interruptClaimed;
}

export function createDefaultContext(): CliContext {
  let client: DaemonClient | undefined;
  const home = resolveOepHome(process.env);
  return {
    env: process.env,
    cwd: process.cwd(),
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    home,
    get client() {
      client ??= new DaemonClient(home);
      return client;
    },
    async confirm(question) {
      // Loaded when a command asks: most never do.
      const { createInterface } = await import('node:readline/promises');
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        const answer = await rl.question(`${question} (y/n): `);
        return /^y(es)?$/i.test(answer.trim());
      } finally {
        rl.close();
      }
    },
    interrupt: interrupt.signal,
    claimInterrupt() {
      interruptClaimed = true;
    },
  };
}
