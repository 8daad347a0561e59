/**
 * What to tell a user whose scenario makes a request name per URL (`/item/8123` without
 * `name`): past the bound on distinct names, requests share an "(other)" row, and the warning
 * names the pattern to give as `name`, found by putting [id] in place of the path segments
 * that look like ids (numbers, UUIDs, hex or long tokens).
 */
import type { NameOverflowInfo } from '../shared/types.js'
import type { NameOverflow } from './recorder.js'

const ID_SEGMENT = /^(\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{8,}|[A-Za-z0-9_-]{20,})$/i

/** "/item/8123/reviews" -> "/item/[id]/reviews" */
export function namePattern (name: string): string {
  const [path, query] = name.split('?')
  const p = path!.split('/').map(s => (ID_SEGMENT.test(s) ? '[id]' : s)).join('/')
  return query === undefined ? p : `${p}?…`
}

export function nameOverflowInfo (o: NameOverflow, limit: number): NameOverflowInfo {
  const patterns = [...new Set(o.examples.map(e => namePattern(e.replace(/^\S+ /, ''))))]
  const pattern = patterns.length === 1 && patterns[0] !== o.examples[0]?.replace(/^\S+ /, '') ? patterns[0] : undefined
  const message = `more than ${limit} distinct request names: ${o.names}${o.names >= 10_000 ? '+' : ''} more (${o.requests} requests) were counted under "(other)", e.g. ${o.examples.slice(0, 3).join(', ')}; ` +
    `give such requests a name${pattern ? ` (name: '${pattern}')` : ' (name: \'/path/[id]\')'} so that they share one row${limit === 1000 ? ', or raise --max-names' : ''}`
  return { limit, names: o.names, requests: o.requests, examples: o.examples, ...(pattern ? { pattern } : {}), message }
}
