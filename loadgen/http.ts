/**
 * The HTTP client a virtual user sees (`u.http`). One keep-alive connection per user and
 * origin, like a Locust user's own session: loadlens's own HTTP/1.1 connection for http://
 * origins (loadgen/connection.ts, the fast path), an undici Client for https:// or with
 * `httpClient: 'undici'`; both are driven through the same low-level dispatch with a small
 * handler, so the hot path allocates little.
 * Every request is timed and recorded; nothing a target does (refusals, resets, garbage,
 * stalls) escapes as an exception: the response says what went wrong.
 */
import { nearestWord } from '../shared/nearest.js'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import type { Client as UndiciClient, Dispatcher } from 'undici'
import { ScenarioMistake, StopSignal } from '../shared/errors.js'
import type { FailureKind } from '../shared/types.js'
import type { HttpClient, HttpResponse, RequestOptions } from '../scenarios/define.js'
import { parseDuration } from '../shared/duration.js'
import { encodeMultipart } from './multipart.js'
import { HttpConnection } from './connection.js'
import type { Dispatching } from './connection.js'
import type { FailureInfo, Recorder } from './recorder.js'
import type { HostGuard } from '../shared/hosts.js'

/** What a request needs from the run. */
export interface HttpRuntime {
  readonly recorder: Recorder
  readonly base: URL
  /** where requests may go besides the base origin (checked before anything is sent there) */
  readonly guard?: HostGuard
  readonly timeoutMs: number
  readonly insecure?: boolean
  /** 'loadlens' (default): its own HTTP/1.1 connection for http:// origins; 'undici': undici everywhere */
  readonly httpClient?: HttpClientKind
}

export { HTTP_CLIENTS } from '../shared/settings.js'
export type { HttpClientKind } from '../shared/settings.js'
import type { HttpClientKind } from '../shared/settings.js'

/** What a request needs from its virtual user. */
export interface RequestOwner {
  /** false once the user is stopping (except in onStop) */
  mayRequest (): boolean
  /** open model: the intended start of the iteration, for the first request only */
  takeIntendedStart (): number | undefined
  readonly inflight: InflightList
}

/**
 * A user's requests in flight (usually 0 or 1). An array instead of a Set: a Set that goes
 * from one entry to none reallocates its table on every request.
 */
export class InflightList {
  private readonly items: PendingRequest[] = []

  add (r: PendingRequest): void {
    this.items.push(r)
  }

  delete (r: PendingRequest): void {
    const items = this.items
    const i = items.lastIndexOf(r)
    if (i < 0) return
    const last = items.pop()!
    if (i < items.length) items[i] = last
  }

  get size (): number {
    return this.items.length
  }

  /** a copy, safe to walk while requests finish */
  list (): PendingRequest[] {
    return this.items.slice()
  }
}

/** What a request brought back: the PendingRequest itself, once finished (no copy on the hot path). */
interface RawResult {
  readonly status: number
  readonly rawHeaders: RawHeaders | null
  readonly first: Buffer | null
  readonly chunks: Buffer[] | null
  readonly bytes: number
  readonly error: (Error & { code?: string }) | null
}

/** One request in flight: an undici (legacy) dispatch handler that buffers the response. */
export class PendingRequest implements Dispatcher.DispatchHandler, RawResult {
  private abortFn: ((err?: Error) => void) | null = null
  status = 0
  rawHeaders: RawHeaders | null = null
  /** the body: most responses come in one chunk, kept without an array */
  first: Buffer | null = null
  chunks: Buffer[] | null = null
  bytes = 0
  error: (Error & { code?: string }) | null = null
  private finished = false
  /** aborted by the harness at a hard stop */
  stopped = false

  constructor (private readonly owner: RequestOwner, private readonly resolve: (r: RawResult) => void) {
    owner.inflight.add(this)
  }

  onConnect (abort: (err?: Error) => void): void {
    this.abortFn = abort
    if (this.stopped) abort(new StopSignal())
  }

  onHeaders (statusCode: number, rawHeaders: RawHeaders): boolean {
    this.status = statusCode
    this.rawHeaders = rawHeaders
    return true
  }

  onData (chunk: Buffer): boolean {
    if (this.first === null) this.first = chunk
    else if (this.chunks === null) this.chunks = [this.first, chunk]
    else this.chunks.push(chunk)
    this.bytes += chunk.length
    return true
  }

  onComplete (): void {
    this.finish(null)
  }

  onError (err: Error): void {
    this.finish(err)
  }

  abort (): void {
    this.stopped = true
    this.abortFn?.(new StopSignal())
  }

  private finish (error: Error | null): void {
    if (this.finished) return
    this.finished = true
    this.owner.inflight.delete(this)
    if (error) {
      this.status = 0
      this.error = error
    }
    this.resolve(this)
  }
}

/** response headers as name, value pairs: Buffers from undici, strings from loadlens's connection */
type RawHeaders = Array<Buffer | string>

function str (x: Buffer | string, encoding: BufferEncoding): string {
  return typeof x === 'string' ? x : x.toString(encoding)
}

const EMPTY = Buffer.alloc(0)
const NO_OPTIONS: RequestOptions = Object.freeze({})

class Response implements HttpResponse {
  private textCache?: string
  constructor (
    readonly status: number,
    readonly ok: boolean,
    readonly durationMs: number,
    readonly body: Buffer,
    private readonly rawHeaders: RawHeaders | null,
    readonly failure?: string,
    readonly error?: { kind: string; message: string }
  ) {}

  header (name: string): string | undefined {
    const raw = this.rawHeaders
    if (!raw) return undefined
    const lower = name.toLowerCase()
    for (let i = 0; i < raw.length; i += 2) {
      if (str(raw[i]!, 'latin1').toLowerCase() === lower) return str(raw[i + 1]!, 'utf8')
    }
    return undefined
  }

  headers (): Record<string, string> {
    const out: Record<string, string> = {}
    const raw = this.rawHeaders ?? []
    for (let i = 0; i < raw.length; i += 2) {
      const k = str(raw[i]!, 'latin1').toLowerCase()
      const v = str(raw[i + 1]!, 'utf8')
      out[k] = out[k] === undefined ? v : `${out[k]}, ${v}`
    }
    return out
  }

  text (): string {
    this.textCache ??= this.body.toString('utf8')
    return this.textCache
  }

  json<T = any> (): T {
    if (this.status === 0) throw new Error(`no response to parse as JSON (${this.error?.message ?? 'request failed'})`)
    try {
      return JSON.parse(this.text()) as T
    } catch {
      const snippet = this.text().slice(0, 80)
      throw new Error(`response (HTTP ${this.status}) is not JSON: ${JSON.stringify(snippet)}`)
    }
  }
}

/** Maps a transport error to a failure kind and a short message. */
export function classifyError (err: Error & { code?: string }, timeoutMs: number): { kind: FailureKind; message: string } {
  const code = err.code ?? (err.cause as { code?: string } | undefined)?.code ?? ''
  switch (code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
      return { kind: 'timeout', message: `timeout after ${timeoutMs} ms (no response headers)` }
    case 'UND_ERR_BODY_TIMEOUT':
      return { kind: 'timeout', message: `timeout after ${timeoutMs} ms (response body stalled)` }
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return { kind: 'timeout', message: 'timeout while connecting' }
    case 'ECONNREFUSED':
      return { kind: 'refused', message: 'connection refused (ECONNREFUSED)' }
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return { kind: 'reset', message: `connection closed by the server (${code})` }
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { kind: 'dns', message: `host name did not resolve (${code})` }
    case 'LOADLENS_BLOCKED':
      return { kind: 'blocked', message: err.message }
    default:
      return { kind: 'other', message: code ? `${code}: ${err.message}` : err.message }
  }
}

/** the options a request takes (RequestOptions); any other key is a typo that would change nothing silently */
const REQUEST_OPTIONS = ['json', 'form', 'body', 'query', 'headers', 'name', 'expect', 'check', 'timeout', 'followRedirects']
const KNOWN_OPTION = new Set(REQUEST_OPTIONS)

/** the bundled CLI's folder (scripts/bundle.mjs): its frames are loadlens's, whatever their file names */
const BUNDLE_DIR = fileURLToPath(new URL('../bundle/', import.meta.url))

/** where in the scenario a call was made: the first stack frame outside loadlens's load generator */
function callSite (stack: string | undefined): string {
  for (const line of (stack ?? '').split('\n').slice(1)) {
    const m = /\(?((?:file:\/\/)?\/[^()\s]+):(\d+):(\d+)\)?\s*$/.exec(line.trim())
    if (!m) continue
    const file = m[1]!.replace(/^file:\/\//, '')
    if (/\/loadgen\/|\/node_modules\/|^node:/.test(file) || file.startsWith(BUNDLE_DIR)) continue
    return `${file}:${m[2]}:${m[3]}`
  }
  return 'the scenario'
}

/** A request option that does not exist: the run stops with the key, the nearest known one and where it was written. */
function checkOptions (method: string, options: RequestOptions): void {
  for (const key in options) {
    if (KNOWN_OPTION.has(key)) continue
    const nearest = nearestWord(key, REQUEST_OPTIONS)
    const hint = nearest ? ` (did you mean "${nearest}"?)` : ''
    throw new ScenarioMistake(`${callSite(new Error().stack)}: u.http.${method.toLowerCase()}(): unknown request option "${key}"${hint}; the options are ${REQUEST_OPTIONS.join(', ')}`)
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308])
/** what a request that was not sent "received" */
const NOT_SENT: RawResult = { status: 0, rawHeaders: null, first: null, chunks: null, bytes: 0, error: null }
const MAX_REDIRECTS = 10

/** undici, loaded the first time an origin needs it (https://, or --http-client undici): a run on loadlens's own connection does not pay for it */
let undiciClass: typeof UndiciClient | null = null
function undiciClient (): typeof UndiciClient {
  undiciClass ??= (createRequire(import.meta.url)('undici') as typeof import('undici')).Client
  return undiciClass
}

export class UserHttp implements HttpClient {
  readonly headers: Record<string, string>
  private readonly clients = new Map<string, Dispatching>()
  private readonly basePath: string
  private readonly baseOrigin: string
  private baseClient: Dispatching | null = null

  constructor (private readonly runtime: HttpRuntime, private readonly owner: RequestOwner, headers: Record<string, string> = {}) {
    this.headers = { ...headers }
    this.basePath = runtime.base.pathname.replace(/\/+$/, '')
    this.baseOrigin = runtime.base.origin
  }

  get (path: string, options?: RequestOptions): Promise<HttpResponse> { return this.perform('GET', path, options ?? NO_OPTIONS) }
  delete (path: string, options?: RequestOptions): Promise<HttpResponse> { return this.perform('DELETE', path, options ?? NO_OPTIONS) }
  head (path: string, options?: RequestOptions): Promise<HttpResponse> { return this.perform('HEAD', path, options ?? NO_OPTIONS) }
  post (path: string, options?: RequestOptions): Promise<HttpResponse> { return this.perform('POST', path, options ?? NO_OPTIONS) }
  put (path: string, options?: RequestOptions): Promise<HttpResponse> { return this.perform('PUT', path, options ?? NO_OPTIONS) }
  patch (path: string, options?: RequestOptions): Promise<HttpResponse> { return this.perform('PATCH', path, options ?? NO_OPTIONS) }

  private client (origin: string): Dispatching {
    if (origin === this.baseOrigin && this.baseClient !== null) return this.baseClient
    let c = this.clients.get(origin)
    if (!c) {
      const connectTimeout = Math.min(this.runtime.timeoutMs, 10_000)
      // every connection resolves its host name itself and checks each address (the rail at connect time)
      const lookup = this.runtime.guard?.lookup
      c = this.runtime.httpClient !== 'undici' && origin.startsWith('http:')
        ? new HttpConnection(new URL(origin), { connectTimeoutMs: connectTimeout, keepAliveMs: 4_000, lookup })
        : new (undiciClient())(origin, {
          keepAliveTimeout: 4_000,
          connectTimeout,
          pipelining: 1,
          connect: this.runtime.insecure || lookup ? { ...(this.runtime.insecure ? { rejectUnauthorized: false } : {}), ...(lookup ? { lookup } : {}) } : undefined
        })
      this.clients.set(origin, c)
      if (origin === this.baseOrigin) this.baseClient = c
    }
    return c
  }

  private send (origin: string, path: string, method: string, headers: Record<string, string>, body: Buffer | string | null, timeoutMs: number): Promise<RawResult> {
    return new Promise<RawResult>((resolve) => {
      const handler = new PendingRequest(this.owner, resolve)
      try {
        this.client(origin).dispatch({ path, method, headers, body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs }, handler)
      } catch (err) {
        handler.onError(err as Error)
      }
    })
  }

  private target (path: string, query?: RequestOptions['query']): { origin: string; path: string } {
    let origin: string
    let p: string
    if (path.charCodeAt(0) !== 47 /* / */ && /^https?:\/\//i.test(path)) {
      const u = new URL(path)
      origin = u.origin
      p = u.pathname + u.search
    } else {
      origin = this.baseOrigin
      p = this.basePath + (path.startsWith('/') ? path : `/${path}`)
    }
    if (query) {
      const qs = new URLSearchParams()
      for (const [k, v] of Object.entries(query)) qs.append(k, String(v))
      const s = qs.toString()
      if (s) p += (p.includes('?') ? '&' : '?') + s
    }
    return { origin, path: p }
  }

  request (method: string, path: string, options?: RequestOptions): Promise<HttpResponse> {
    return this.perform(method.toUpperCase(), path, options ?? NO_OPTIONS)
  }

  private async perform (method: string, path: string, options: RequestOptions): Promise<HttpResponse> {
    const owner = this.owner
    if (!owner.mayRequest()) throw new StopSignal()
    if (options !== NO_OPTIONS) checkOptions(method, options)
    const name = options.name ?? (path.includes('?') ? path.slice(0, path.indexOf('?')) : path)
    const timeoutMs = options.timeout === undefined ? this.runtime.timeoutMs : parseDuration(options.timeout, `timeout of request "${name}"`) * 1000
    let headers = this.headers
    let body: Buffer | string | null = null
    if (options.json !== undefined) {
      body = JSON.stringify(options.json)
      headers = { ...headers, 'content-type': 'application/json' }
    } else if (options.form !== undefined) {
      const mp = encodeMultipart(options.form)
      body = mp.body
      headers = { ...headers, 'content-type': mp.contentType }
    } else if (options.body !== undefined) {
      body = typeof options.body === 'string' ? options.body : Buffer.from(options.body)
    }
    if (options.headers) headers = { ...headers, ...options.headers }
    let origin = this.baseOrigin
    let p: string
    // the common case (a path on the host, no query object) builds no intermediate object
    if (options.query === undefined && path.charCodeAt(0) === 47 /* / */) p = this.basePath === '' ? path : this.basePath + path
    else ({ origin, path: p } = this.target(path, options.query))

    const start = owner.takeIntendedStart() ?? performance.now()
    // load goes only where it may: an absolute URL is checked before anything is sent
    let blocked = origin === this.baseOrigin ? null : await this.refusal(origin)
    let raw: RawResult = blocked === null ? await this.send(origin, p, method, headers, body, timeoutMs) : NOT_SENT
    if (options.followRedirects !== false && blocked === null) {
      for (let hops = 0; hops < MAX_REDIRECTS && REDIRECTS.has(raw.status); hops++) {
        const location = new Response(raw.status, true, 0, EMPTY, raw.rawHeaders).header('location')
        if (!location) break
        let next: URL
        try {
          next = new URL(location, `${origin}${p}`)
        } catch {
          blocked = `redirect to ${JSON.stringify(location.slice(0, 100))} not followed: not a URL`
          break
        }
        if (next.protocol !== 'http:' && next.protocol !== 'https:') {
          blocked = `redirect to a ${next.protocol} URL not followed: only http: and https: are`
          break
        }
        // and so is each redirect: one to a host that is not allowed is not followed
        const why = next.origin === this.baseOrigin ? null : await this.refusal(next.origin)
        if (why !== null) {
          blocked = `redirect to ${next.origin} not followed: ${why}`
          break
        }
        origin = next.origin
        p = next.pathname + next.search
        if (raw.status === 303 || ((raw.status === 301 || raw.status === 302) && method === 'POST')) {
          method = 'GET'
          body = null
        }
        raw = await this.send(origin, p, method, headers, body, timeoutMs)
      }
    }
    const durationMs = performance.now() - start
    if (raw.error && (raw.error as Error).name === 'StopSignal') throw new StopSignal()

    const data = raw.chunks !== null ? Buffer.concat(raw.chunks, raw.bytes) : raw.first ?? EMPTY
    let failure: FailureInfo | undefined
    let error: { kind: string; message: string } | undefined
    if (blocked !== null) {
      const message = blocked.startsWith('redirect') ? blocked : `not sent: ${blocked}`
      failure = { kind: 'blocked', ...(raw.status ? { status: raw.status } : {}), message }
      error = { kind: 'blocked', message }
    } else if (raw.error) {
      const c = classifyError(raw.error, timeoutMs)
      error = c
      failure = { kind: c.kind, message: c.message }
    } else {
      const expect = options.expect
      const accepted = expect === undefined ? raw.status < 400 : Array.isArray(expect) ? expect.includes(raw.status) : expect === raw.status
      if (!accepted) failure = { kind: 'http', status: raw.status, message: `HTTP ${raw.status}` }
    }
    let res = new Response(raw.status, failure === undefined, durationMs, data, raw.rawHeaders, failure?.message, error)
    if (failure === undefined && options.check) {
      let verdict: ReturnType<NonNullable<RequestOptions['check']>>
      try {
        verdict = options.check(res)
      } catch (err) {
        verdict = `check threw: ${err instanceof Error ? err.message : String(err)}`
      }
      if (verdict === false || typeof verdict === 'string') {
        failure = { kind: 'check', status: raw.status, message: `check failed${typeof verdict === 'string' ? `: ${verdict}` : ''}` }
        res = new Response(raw.status, false, durationMs, data, raw.rawHeaders, failure.message)
      }
    }
    this.runtime.recorder.record(method, name, durationMs * 1000, raw.bytes, failure)
    return res
  }

  /** why load may not go to an origin (null: it may) */
  private refusal (origin: string): string | null | Promise<string | null> {
    return this.runtime.guard ? this.runtime.guard.check(origin) : null
  }

  /** Closes the user's connections; `force` drops them at once. */
  async close (force = false): Promise<void> {
    const all = [...this.clients.values()]
    this.clients.clear()
    this.baseClient = null
    await Promise.all(all.map(c => (force ? c.destroy() : c.close()).catch(() => {})))
  }
}
