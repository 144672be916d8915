import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command } from '../../commander.js';
import { writeFileAtomic } from '../../../state/atomic-write.js';
import type { CliContext } from '../../context.js';
import type { RunCommand } from '../../run-command.js';

/** The page `--open` hands the browser: in OEP_HOME (0700), 0600, replaced at every --open. */
export const DASHBOARD_OPEN_FILE = 'dashboard-open.html';

export interface DashboardOptions {
  /** An endpoint: its page's URL instead of the overview's. */
  name?: string;
  /** --open: also open it in the default browser. */
  open: boolean;
}

/** Prints the dashboard's URL (it carries the daemon's token) and opens it on request. */
export async function runDashboard(ctx: CliContext, options: DashboardOptions): Promise<void> {
  const { url } = await ctx.client.call('dashboard.url', options.name === undefined ? {} : { endpoint: options.name });
  ctx.stdout.write(`${url}\n`);
  if (options.open) {
    // The URL carries the token: a browser started with it in its arguments would show it to
    // every local user (ps, /proc/<pid>/cmdline). The browser gets a file of the user's own
    // instead, which sends it on to the URL.
    const page = join(ctx.home, DASHBOARD_OPEN_FILE);
    await writeFileAtomic(page, redirectPage(url), 0o600);
    const target = pathToFileURL(page).href;
    const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
    const child = spawn(opener, [target], { detached: true, stdio: 'ignore' });
    child.once('error', () => void ctx.stderr.write(`could not run ${opener}; open the URL above yourself\n`));
    child.unref();
  }
}

/** `oep dashboard [-n E] [--open]`: the daemon's dashboard URL (with its token), opened in a browser on request. */
export function dashboardCommand(ctx: CliContext, run: RunCommand<DashboardOptions> = runDashboard): Command {
  return new Command('dashboard')
    .description("Print the URL of the local dashboard the daemon serves on 127.0.0.1 (traffic split, request rate, latency, errors, replicas, compare summary; updates live). The URL carries the daemon's token: keep it private.")
    .option('-n, --name <name>', "an endpoint: its page's URL")
    .option('--open', 'also open it in the default browser')
    .action(async (flags: { name?: string; open?: boolean }) => {
      await run(ctx, { name: flags.name, open: flags.open === true });
    });
}

/** A page that goes straight on to `url` (and says where, should scripts and refreshes be off). */
export function redirectPage(url: string): string {
  const attribute = url.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  const script = JSON.stringify(url).replace(/</g, '\\u003c');
  return [
    '<!doctype html>',
    '<meta charset="utf-8">',
    '<meta name="referrer" content="no-referrer">',
    `<meta http-equiv="refresh" content="0; url=${attribute}">`,
    '<title>oep dashboard</title>',
    `<script>location.replace(${script});</script>`,
    `<p><a href="${attribute}">Open the oep dashboard</a></p>`,
    '',
  ].join('\n');
}
