import { Option } from './commander.js';

/** commander reducer for repeatable flags such as --set and -f. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** az's --no-wait: return once the daemon has recorded the work (show says Creating, Updating or Deleting until it ends). */
export function noWaitOption(): Option {
  return new Option('--no-wait', 'return once the daemon has accepted the work; follow it with show (provisioning_state)');
}

/** --no-wait where the work is immediate anyway (endpoint create and update), for az scripts. */
export function immediateNoWaitOption(): Option {
  return new Option('--no-wait', 'accepted for az scripts: this change is immediate').hideHelp();
}

/**
 * az's `--set`: one flag takes one or more key=value pairs (`--set a=1 b=2`), and may be given
 * again; every pair lands in one list, in order. The pairs end at the next option.
 */
export function setOption(description: string): Option {
  return new Option('--set <key=value...>', `${description}; one or more key=value pairs, repeatable`).default([]);
}
