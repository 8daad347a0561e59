/**
 * Secrets never reach an output. Every output goes through these functions: the result JSON
 * and every report rendered from it (reports are rendered from the redacted result), the
 * terminal, the web UI's JSON, /metrics, probe messages and error messages.
 *
 * What counts as a secret:
 *  - the password of a URL's userinfo, whatever the user (also none: `redis://:pw@host`) and
 *    whatever the password holds (`@`, `:`): userinfo ends at the authority's last `@`;
 *  - a token used as a URL's user with no password (`https://<key>@sentry.example/1`);
 *  - values of query parameters and of `key=value` pairs named like a secret (password,
 *    passwd, pwd, secret, token, key, apikey, auth, signature, sig, credential);
 *  - in an object, the value of a field named like a secret.
 */

const MASK = '***'
/**
 * names of fields that hold secrets (ends of camelCase or snake_case names); a bare `key` is
 * not one of them: results use it for their rows' keys ("GET /items")
 */
const SECRET_FIELD = /(password|passwd|pwd|secret|token|dsn|credentials?|authorization|(api|access|private|secret|signing)[-_]?key)$|^(auth|pass)$/i
/** scheme://userinfo@ : userinfo runs to the authority's last @ (greedy, no / ? # or space in it) */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^/?#\s@]*(?:@[^/?#\s@]*)*)@(?=[^/?#\s@]*(?:[/?#\s]|$))/gi
/** name=value in a query string or a libpq-style DSN */
const PAIR = /([?&;\s]|^)([a-z0-9_.-]*(?:pass(?:word|wd)?|pwd|secret|token|api[-_]?key|auth|signature|credential)[a-z0-9_.-]*)=("[^"]*"|'[^']*'|[^\s&;]*)/gi
/** a user part that is a token rather than a name: long and mostly hex or base64-ish */
const TOKEN_USER = /^[A-Za-z0-9_-]{16,}$/

function maskUserinfo (scheme: string, userinfo: string): string {
  const colon = userinfo.indexOf(':')
  if (colon >= 0) return `${scheme}${userinfo.slice(0, colon)}:${MASK}@`
  return TOKEN_USER.test(userinfo) ? `${scheme}${MASK}@` : `${scheme}${userinfo}@`
}

/** Redacts every secret in a free text: URLs, query strings, DSNs, error messages, log lines. */
export function redactText (text: string): string {
  if (!text) return text
  return text
    .replace(URL_USERINFO, (_m, scheme: string, userinfo: string) => maskUserinfo(scheme, userinfo))
    .replace(PAIR, (_m, lead: string, name: string) => `${lead}${name}=${MASK}`)
}

/** A connection string with its password (and token parameters) hidden. */
export function redactUrl (url: string): string {
  return redactText(url)
}

/** fields that hold encoded data, never text: left as they are (fast, and nothing to find in them) */
const OPAQUE_FIELD = new Set(['hist', 'points'])

/** Deep copy with every string redacted and every field named like a secret masked. */
export function redactDeep<T> (value: T): T {
  if (typeof value === 'string') return redactText(value) as T
  if (Array.isArray(value)) return value.map(v => redactDeep(v)) as T
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) {
      if (OPAQUE_FIELD.has(k)) { out[k] = v; continue }
      // a URL keeps its host (only its secrets go); any other secret field is masked whole
      out[k] = SECRET_FIELD.test(k) && typeof v === 'string' && !/^[a-z][a-z0-9+.-]*:\/\//i.test(v) ? (v ? MASK : v) : redactDeep(v)
    }
    return out as T
  }
  return value
}
