#!/usr/bin/env node
// The only place the process ends: main() returns the exit code; Ctrl-C ends with 130 unless the
// running command stops cleanly by itself (get-logs --follow).
import { interruptCli, main } from '../dist/src/cli/main.js';

process.on('SIGINT', () => {
  if (!interruptCli()) process.exit(130);
});
process.exitCode = await main(process.argv.slice(2));
