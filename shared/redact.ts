/**
 * Passwords never reach an output: every connection string goes through redactUrl before
 * it is printed, stored in a result or shown in a report.
 */
export function redactUrl (url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    for (const key of [...u.searchParams.keys()]) {
      if (/pass|secret|token|key/i.test(key)) u.searchParams.set(key, '***')
    }
    return u.toString()
  } catch {
    // not a URL: hide anything that looks like user:password@ or password=...
    return url
      .replace(/(\/\/[^:/@\s]+:)[^@\s]*@/g, '$1***@')
      .replace(/(password|passwd|pwd)=([^\s&;]+)/gi, '$1=***')
  }
}

/** Redacts every URL-like or password-like substring of a free text (error messages). */
export function redactText (text: string): string {
  return text
    .replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]+:)[^@\s]*@/gi, '$1***@')
    .replace(/(password|passwd|pwd)=([^\s&;]+)/gi, '$1=***')
}

/** Deep copy of an options object with every string value redacted. */
export function redactDeep<T> (value: T): T {
  if (typeof value === 'string') return redactText(value) as T
  if (Array.isArray(value)) return value.map(v => redactDeep(v)) as T
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) {
      out[k] = /password|secret|token|dsn/i.test(k) && typeof v === 'string' && !/^https?:\/\/[^@]*$/.test(v) ? '***' : redactDeep(v)
    }
    return out as T
  }
  return value
}
