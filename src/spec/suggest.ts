/**
 * The candidate closest to `word` by edit distance, when it is close enough to be a likely typo.
 * Spellings are compared in snake_case so `instanceCount` and `instance-count` find `instance_count`.
 */
export function suggestNearest(word: string, candidates: readonly string[]): string | undefined {
  const wanted = toComparable(word);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(wanted, toComparable(candidate));
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  // Up to a third of the word may differ (at least 2 edits): "enviroment" -> "environment", not "id" -> "kind".
  return bestDistance <= Math.max(2, Math.floor(wanted.length / 3)) && bestDistance < wanted.length ? best : undefined;
}

function toComparable(word: string): string {
  return word
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/-/g, '_')
    .toLowerCase();
}

/** Levenshtein distance. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}
