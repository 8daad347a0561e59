/** Plain-text tables for the terminal: columns padded, numbers right-aligned. */
export interface Column<R> {
  title: string
  value: (row: R) => string | number
  align?: 'left' | 'right'
  /** cut values longer than this (names) */
  max?: number
}

export function formatNumber (n: number, digits = 0): string {
  if (!Number.isFinite(n)) return '-'
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

/** "12", "1.5", "0.42": few digits for small values, none for large */
export function formatMs (ms: number): string {
  if (ms === 0) return '0'
  if (ms < 10) return ms.toFixed(2)
  if (ms < 100) return ms.toFixed(1)
  return formatNumber(Math.round(ms))
}

function cut (s: string, max?: number): string {
  if (!max || s.length <= max) return s
  return s.slice(0, max - 1) + '…'
}

export function formatTable<R> (rows: R[], columns: Array<Column<R>>, separatorBefore?: Set<number>): string {
  const cells = rows.map(r => columns.map(c => cut(String(c.value(r)), c.max)))
  const widths = columns.map((c, i) => Math.max(c.title.length, ...cells.map(row => row[i]!.length)))
  const line = (values: string[]): string => values.map((v, i) => {
    const right = (columns[i]!.align ?? (i === 0 || i === 1 ? 'left' : 'right')) === 'right'
    return right ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)
  }).join('  ').trimEnd()
  const rule = widths.map(w => '-'.repeat(w)).join('  ')
  const out = [line(columns.map(c => c.title)), rule]
  cells.forEach((row, i) => {
    if (separatorBefore?.has(i)) out.push(rule)
    out.push(line(row))
  })
  return out.join('\n')
}
