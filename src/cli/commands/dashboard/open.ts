import { spawn } from 'node:child_process';
import { Command } from 'commander';
import type { CliContext } from '../../context.js';

/** `oep dashboard [-n E] [--open]`: the daemon's dashboard URL (with its token), opened in a browser on request. */
export function dashboardCommand(ctx: CliContext): Command {
  return new Command('dashboard')
    .description("Print the URL of the local dashboard the daemon serves on 127.0.0.1 (traffic split, request rate, latency, errors, replicas, compare summary; updates live). The URL carries the daemon's token: keep it private.")
    .option('-n, --name <name>', "an endpoint: its page's URL")
    .option('--open', 'also open it in the default browser')
    .action(async (flags: { name?: string; open?: boolean }) => {
      const { url } = await ctx.client.call('dashboard.url', flags.name === undefined ? {} : { endpoint: flags.name });
      ctx.stdout.write(`${url}\n`);
      if (flags.open) {
        const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
        const child = spawn(opener, [url], { detached: true, stdio: 'ignore' });
        child.once('error', () => void ctx.stderr.write(`could not run ${opener}; open the URL above yourself\n`));
        child.unref();
      }
    });
}
