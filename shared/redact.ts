/**
 * Secrets never reach an output. Every output goes through these functions: the result JSON
 * and every report rendered from it (reports are rendered from the redacted result), the
 * journal, the terminal, the web UI's JSON and pages, /metrics, probe messages, target command
 * lines, log lines and error messages.
 *
 * What counts as a secret:
 *  - the password of a URL's userinfo, whatever the user (also none: `redis://:pw@host`) and
 *    whatever the password holds (`@`, `:`): userinfo ends at the authority's last `@`;
 *  - a token used as a URL's user with no password (`https://<key>@sentry.example/1`);
 *  - values of query parameters, `key=value` pairs (also `key = value`, libpq's form),
 *    `"key": "value"` (JSON text) and `--flag value` / `--flag=value` options named like a
 *    secret (password, passwd, pwd, pass, secret, token, key, apikey, access_key, auth,
 *    requirepass, masterauth, signature, sig, credential);
 *  - the credentials of an `Authorization:` header and the value of a header named like a
 *    secret (`X-Api-Key: ...`);
 *  - in an object, the value of a field named like a secret, and any secret in a field's name.
 */

const MASK = '***'
/**
 * names of fields that hold secrets (ends of camelCase or snake_case names); a bare `key` is
 * not one of them: results use it for their rows' keys ("GET /items")
 */
const SECRET_FIELD = /(password|passwd|pwd|secret|token|dsn|credentials?|authorization|(api|access|private|secret|signing)[-_]?key)$|^(auth|pass)$/i
/** scheme://userinfo@ : userinfo runs to the authority's last @ (greedy, no / ? # or space in it) */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^/?#\s@]*(?:@[^/?#\s@]*)*)@(?=[^/?#\s@]*(?:[/?#\s]|$))/gi
/** a name that holds a secret, in a pair, a JSON text, an option or a header */
const SECRET_NAME = String.raw`[a-z0-9_.-]*(?:pass(?:word|wd)?|pwd|secret|token|api[-_]?key|access[-_]?key|auth|signature|credential|requirepass)[a-z0-9_.-]*|key|sig|apikey`
/** a value: quoted (escaped quotes inside) or up to a separator */
const VALUE = String.raw`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\s&;,"')}\]]*`
/** name=value in a query string, a libpq-style DSN, an env line (spaces around = allowed) */
const PAIR = new RegExp(String.raw`([?&;\s,({"']|^)(${SECRET_NAME})(\s*=\s*)(${VALUE})`, 'gi')
/** "name": "value" in JSON text */
const JSON_PAIR = new RegExp(String.raw`("(?:${SECRET_NAME})"\s*:\s*)("(?:[^"\\]|\\.)*"|[^\s,}\]]+)`, 'gi')
/** --name value / --name=value on a command line (a value that is another option is left alone) */
const OPTION = new RegExp(String.raw`((?:^|\s)--?(?:${SECRET_NAME})(?:\s+|=))(?!-)(${VALUE})`, 'gi')
/** Authorization: <scheme> <credentials>, and headers named like a secret */
const HEADER = new RegExp(String.raw`((?:^|[\s"'{,])(?:proxy-)?authorization\s*:\s*(?:(?:bearer|basic|token|digest|negotiate)\s+)?)([^\s"',}]+)|((?:^|[\s"'{,])x-[a-z0-9-]*(?:key|token|secret|auth)[a-z0-9-]*\s*:\s*)([^\s"',}]+)`, 'gi')
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
  // each pattern runs only on a text holding the character it cannot match without: most texts
  // (numbers, names, paths) skip them all, and a pattern never run is never compiled (the
  // first run of these long patterns costs milliseconds)
  let out = text
  if (out.includes('@')) out = out.replace(URL_USERINFO, (_m, scheme: string, userinfo: string) => maskUserinfo(scheme, userinfo))
  if (out.includes(':')) out = out.replace(HEADER, (_m, authName: string | undefined, _auth: string | undefined, hdrName: string | undefined) => `${authName ?? hdrName}${MASK}`)
  if (out.includes('"')) out = out.replace(JSON_PAIR, (_m, name: string, value: string) => `${name}${value.startsWith('"') ? `"${MASK}"` : MASK}`)
  if (out.includes('-')) out = out.replace(OPTION, (_m, name: string, value: string) => value ? `${name}${MASK}` : name)
  if (out.includes('=')) out = out.replace(PAIR, (_m, lead: string, name: string, eq: string, value: string) => `${lead}${name}${eq}${value ? MASK : ''}`)
  return out
}

/** A connection string with its password (and token parameters) hidden. */
export function redactUrl (url: string): string {
  return redactText(url)
}

/** a text that may hold a secret at all (the quick test before the patterns) */
const MAYBE_SECRET = /[@=:]|-[-a-z]/i

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
      // a field's name may hold a secret too (a row keyed by a URL with credentials)
      const key = MAYBE_SECRET.test(k) ? redactText(k) : k
      // a URL keeps its host (only its secrets go); any other secret field is masked whole
      out[key] = SECRET_FIELD.test(k) && typeof v === 'string' && !/^[a-z][a-z0-9+.-]*:\/\//i.test(v) ? (v ? MASK : v) : redactDeep(v)
    }
    return out as T
  }
  return value
}
