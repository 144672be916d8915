#!/usr/bin/env node
// The only place the process ends: main() returns the exit code. Ctrl-C and SIGTERM end a
// command at once (130 / 143; the daemon carries on with what it was given) unless the running
// command stops cleanly by itself (get-logs --follow).
let cli;
try {
  cli = await import('../dist/src/cli/main.js');
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes('/dist/src/cli/main.js')) throw error;
  process.stderr.write(
    'error: oep is not built yet (dist/ is missing).\n' +
      'hint: run "npm ci" (it builds), or "npm run build", in the oep folder, then try again.\n(OEP_ERR_NOT_BUILT)\n',
  );
  process.exit(1);
}
const { interruptCli, main } = cli;

// A reader that stops early (oep ... | head): end quietly, as other command-line tools do, rather
// than with an unhandled EPIPE.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]]) {
  process.on(signal, () => {
    if (!interruptCli()) process.exit(code);
  });
}
process.exitCode = await main(process.argv.slice(2));
