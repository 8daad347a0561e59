/**
 * Just enough SQL reading to name what a statement touches: the tables after FROM, JOIN,
 * UPDATE, INTO and DELETE FROM, and the columns its WHERE clause compares, from which an
 * index can be suggested in words. It is a reader of common statements, not a parser:
 * what it cannot read it leaves out.
 */

const IDENT = String.raw`(?:"[^"]+"|[a-zA-Z_][\w$]*)`
const QUALIFIED = String.raw`${IDENT}(?:\s*\.\s*${IDENT})?`
const KEYWORDS = new Set(['select', 'where', 'and', 'or', 'not', 'null', 'true', 'false', 'in', 'is', 'like', 'ilike', 'between', 'exists', 'any', 'all', 'on', 'as', 'lateral', 'only', 'now', 'interval', 'current_date', 'current_timestamp'])

const unquote = (s: string): string => s.replace(/\s+/g, '').replace(/"/g, '').toLowerCase()

/** tables a statement reads or writes, schema-qualified when it says so ("public.messages" or "messages") */
export function statementTables (sql: string): string[] {
  const out: string[] = []
  const re = new RegExp(String.raw`\b(?:from|join|update|into)\s+(?:only\s+)?(${QUALIFIED})`, 'gi')
  for (const m of sql.matchAll(re)) {
    const t = unquote(m[1]!)
    if (!KEYWORDS.has(t) && !out.includes(t) && !t.startsWith('(')) out.push(t)
  }
  return out
}

/** columns compared in the statement's WHERE clause, in order ("user_id", "created_at") */
export function whereColumns (sql: string): string[] {
  const where = /\bwhere\b([\s\S]*?)(?:\bgroup\s+by\b|\border\s+by\b|\blimit\b|\breturning\b|\bfor\s+update\b|\bunion\b|\)\s*$|$)/i.exec(sql)
  if (!where) return []
  const out: string[] = []
  const re = new RegExp(String.raw`(${QUALIFIED})\s*(?:=|<>|!=|<=|>=|<|>|\bin\b|\blike\b|\bilike\b|\bbetween\b|\bis\b)`, 'gi')
  for (const m of where[1]!.matchAll(re)) {
    const col = unquote(m[1]!).split('.').pop()!
    if (!KEYWORDS.has(col) && !/^\$?\d+$/.test(col) && !out.includes(col)) out.push(col)
  }
  return out
}

/** Does a table name from a statement ("messages") name this table ("public.messages")? */
export function sameTable (fromStatement: string, qualified: string): boolean {
  const a = fromStatement.toLowerCase()
  const b = qualified.toLowerCase()
  return a === b || (!a.includes('.') && b.endsWith(`.${a}`))
}
