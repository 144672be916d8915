#!/usr/bin/env node
// The only place the process ends: main() returns the exit code. Ctrl-C and SIGTERM end a
// command at once (130 / 143; the daemon carries on with what it was given) unless the running
// command stops cleanly by itself (get-logs --follow).
//
// CommonJS (bin/package.json), not an ES module: with the daemon up, `oep endpoint list` and the
// other read-only verbs run in the resident CLI it keeps (src/cli/resident/) and this process only
// forwards the command line; a CommonJS start loads none of Node's ES module machinery (about
// 3 ms of the ~40 that command takes, bench/cli-latency). The rest of oep is ES modules, imported
// below when the command runs here.
'use strict';

const NOT_BUILT =
  'error: oep is not built yet (dist/ is missing).\n' +
  'hint: run "npm ci" (it builds), or "npm run build", in the oep folder, then try again.\n(OEP_ERR_NOT_BUILT)\n';

let resident;
try {
  resident = require('../dist/src/cli/resident/client.cjs');
} catch (error) {
  if (error?.code !== 'MODULE_NOT_FOUND' || !String(error.message).includes('/dist/src/cli/')) throw error;
  process.stderr.write(NOT_BUILT);
  process.exit(1);
}
let cli;

for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]]) {
  process.on(signal, () => {
    if (!cli?.interruptCli()) process.exit(code);
  });
}

async function run(argv) {
  const answered = await resident.runResident(argv);
  if (answered !== undefined) return answered;
  // A reader that stops early (oep ... | head): end quietly, as other command-line tools do, rather
  // than with an unhandled EPIPE. (Not before: making process.stdout costs the resident path 1 ms.)
  process.stdout.on('error', resident.quietOnEpipe);
  try {
    cli = await import('../dist/src/cli/main.js');
  } catch (error) {
    // A build that stopped half-way, or a dist/ older than bin/: as good as none.
    if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes('/dist/src/cli/')) throw error;
    process.stderr.write(NOT_BUILT);
    return 1;
  }
  return cli.main(argv);
}

run(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
