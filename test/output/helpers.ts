/** Joins lines the way the formatters end their output: every line, the last too, ends in "\n". */
export function lines(...text: string[]): string {
  return text.map((line) => line + '\n').join('');
}
