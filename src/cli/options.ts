/** commander reducer for repeatable flags such as --set and -f. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
