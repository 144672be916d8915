import { Option } from 'commander';

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
