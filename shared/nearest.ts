/** "Did you mean ...?": the known word nearest to a mistyped one, by edit distance (case-insensitive). */

export function editDistance (a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) d[0]![j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1))
  }
  return d[a.length]![b.length]!
}

/** the nearest of `known` to `word` when it is close enough to be a typo (a third of its letters, at least 2), else undefined */
export function nearestWord (word: string, known: readonly string[]): string | undefined {
  const best = [...known].sort((a, b) => editDistance(word, a) - editDistance(word, b))[0]
  return best !== undefined && editDistance(word, best) <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined
}
