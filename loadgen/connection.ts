/**
 * One keep-alive HTTP/1.1 connection to a plain-http origin: the generator's fast path.
 *
 * A virtual user sends one request at a time on its own connection (no pipelining), so the
 * client needs little of what a general-purpose one does: it writes the request head as one
 * string, reads a response that came whole in one read with a content-length itself and any
 * other with http-parser-js (autocannon's parser: plain JavaScript, which on short responses
 * costs less than crossing into undici's WASM llhttp), and hands it
 * to the same dispatch handler undici would call (onConnect, onHeaders, onData, onComplete,
 * onError), so loadgen/http.ts treats both alike. Bodies by content-length, chunked or
 * until close; HEAD, 1xx, 204 and 304 without one. Timeouts (connect, response headers,
 * body stall) are checked by one shared sweep every 100 ms instead of a timer per request.
 * A request that meets a keep-alive connection the server had just closed is sent again
 * once on a new connection when its method is idempotent and nothing came back.
 * https:// origins, and every origin with `--http-client undici`, use undici instead.
 */
import net from 'node:net'
import type { ConnectLookup } from '../shared/hosts.js'
import { createRequire } from 'node:module'
import type { Dispatcher } from 'undici'

// http-parser-js is CommonJS without an ESM entry
const { HTTPParser } = createRequire(import.meta.url)('http-parser-js') as typeof import('http-parser-js')
type Parser = InstanceType<typeof HTTPParser>

/** A failure with a code that classifyError (loadgen/http.ts) knows, the same as undici's. */
export class ConnectionError extends Error {
  constructor (message: string, readonly code: string) {
    super(message)
    this.name = 'ConnectionError'
  }
}

export interface ConnectionOptions {
  /** give up connecting after this long (ms) */
  connectTimeoutMs: number
  /** close the connection after this long idle (ms); a shorter Keep-Alive: timeout from the server wins */
  keepAliveMs: number
  /** resolves the host for each connection (the loopback rail's check of every address) */
  lookup?: ConnectLookup
}

/** What a request carries: the fields of undici's DispatchOptions that loadgen/http.ts sets. */
export interface ConnectionRequest {
  method: string
  path: string
  headers: Record<string, string>
  body: Buffer | string | null
  headersTimeout: number
  bodyTimeout: number
}

/** The handler: undici's legacy dispatch handler, with headers as strings or Buffers. */
export interface ConnectionHandler {
  onConnect (abort: (err?: Error) => void): void
  onHeaders (statusCode: number, rawHeaders: Array<Buffer | string>, resume: () => void, statusText: string): boolean
  onData (chunk: Buffer): boolean
  onComplete (trailers: string[] | null): void
  onError (err: Error): void
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'TRACE'])
const WITH_BODY = new Set(['POST', 'PUT', 'PATCH'])
/** the characters a request target may hold, as undici allows */
const INVALID_PATH = /[^\u0021-\u00ff]/
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const INVALID_VALUE = /[\r\n\0]/
const SWEEP_MS = 100
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1')
/**
 * Every connection reads into this one buffer (net's `onread`: no stream machinery, no
 * allocation per read); a read is parsed before the next one, and body bytes are copied out.
 */
const readBuffer = Buffer.allocUnsafe(64 * 1024)

interface Pending {
  readonly req: ConnectionRequest
  readonly handler: ConnectionHandler
  retried: boolean
}

/** Every open connection, swept for deadlines and idle timeouts by one interval. */
const live = new Set<HttpConnection>()
let sweeper: NodeJS.Timeout | null = null

function watch (c: HttpConnection): void {
  live.add(c)
  if (sweeper === null) {
    sweeper = setInterval(sweep, SWEEP_MS)
    sweeper.unref()
  }
}

function unwatch (c: HttpConnection): void {
  live.delete(c)
  if (live.size === 0 && sweeper !== null) {
    clearInterval(sweeper)
    sweeper = null
  }
}

function sweep (): void {
  const now = performance.now()
  for (const c of live) c.sweep(now)
}

export class HttpConnection {
  private socket: net.Socket | null = null
  private parser: Parser | null = null
  private current: Pending | null = null
  private readonly queue: Pending[] = []
  /** responses this socket has carried: a reused socket may have been closed by the server */
  private served = 0
  /** bytes of the current response seen so far */
  private received = 0
  private informational = false
  private keepAlive = true
  /** when the current phase times out (performance.now() ms), 0 when none */
  private deadline = 0
  private deadlineCode = ''
  private idleSince = 0
  private idleLimitMs: number
  private lastHint = ''
  private closing: Array<() => void> | null = null
  private destroyed = false
  private readonly hostHeader: string

  constructor (private readonly origin: URL, private readonly o: ConnectionOptions) {
    this.hostHeader = origin.host
    this.idleLimitMs = o.keepAliveMs
  }

  dispatch (req: ConnectionRequest, handler: ConnectionHandler): boolean {
    if (this.destroyed || this.closing) {
      handler.onError(new ConnectionError('the connection is closed', 'UND_ERR_CLOSED'))
      return false
    }
    this.queue.push({ req, handler, retried: false })
    if (this.current === null) this.next()
    return true
  }

  /** Closes once the requests queued so far are done. */
  close (): Promise<void> {
    if (this.destroyed) return Promise.resolve()
    return new Promise<void>((resolve) => {
      ;(this.closing ??= []).push(resolve)
      if (this.current === null && this.queue.length === 0) this.finishClose()
    })
  }

  /** Drops the connection at once; requests in flight or queued fail. */
  destroy (): Promise<void> {
    if (!this.destroyed) {
      this.destroyed = true
      const err = new ConnectionError('the connection was destroyed', 'UND_ERR_DESTROYED')
      const pending = this.current ? [this.current, ...this.queue] : [...this.queue]
      this.current = null
      this.queue.length = 0
      this.dropSocket()
      unwatch(this)
      for (const p of pending) p.handler.onError(err)
      for (const r of this.closing ?? []) r()
      this.closing = null
    }
    return Promise.resolve()
  }

  /** Called by the shared sweep: times out the current phase, closes an idle socket. */
  sweep (now: number): void {
    if (this.current !== null) {
      if (this.deadline !== 0 && now >= this.deadline) {
        const code = this.deadlineCode
        const p = this.current
        const message = code === 'UND_ERR_CONNECT_TIMEOUT'
          ? 'connect timeout'
          : code === 'UND_ERR_HEADERS_TIMEOUT' ? `headers timeout (${p.req.headersTimeout} ms)` : `body timeout (${p.req.bodyTimeout} ms)`
        this.fail(new ConnectionError(message, code), false)
      }
    } else if (this.socket === null) {
      if (this.queue.length === 0) unwatch(this)
    } else if (now - this.idleSince >= this.idleLimitMs) {
      this.dropSocket()
      if (this.queue.length === 0) unwatch(this)
    }
  }

  private next (): void {
    const p = this.queue.shift()
    if (p === undefined) {
      if (this.closing) this.finishClose()
      return
    }
    this.current = p
    this.received = 0
    this.informational = false
    p.handler.onConnect((err?: Error) => {
      if (this.current === p) this.fail(err ?? new ConnectionError('request aborted', 'UND_ERR_ABORTED'), false)
    })
    // onConnect may have aborted it (a user stopping)
    if (this.current !== p) return
    let head: string
    try {
      head = this.head(p.req)
    } catch (err) {
      this.current = null
      p.handler.onError(err as Error)
      this.next()
      return
    }
    if (this.socket === null) this.connect()
    else this.setDeadline(p.req.headersTimeout, 'UND_ERR_HEADERS_TIMEOUT')
    const socket = this.socket!
    const body = p.req.body
    if (body === null) {
      socket.write(head, 'latin1')
    } else {
      socket.cork()
      socket.write(head, 'latin1')
      socket.write(body)
      socket.uncork()
    }
  }

  private head (req: ConnectionRequest): string {
    if (INVALID_PATH.test(req.path)) throw new ConnectionError(`invalid request path ${JSON.stringify(req.path)}`, 'UND_ERR_INVALID_ARG')
    // built each time: a user's headers object (u.http.headers) changes between requests
    let head = `${req.method} ${req.path} HTTP/1.1\r\n${headerBlock(req.headers, this.hostHeader)}`
    const body = req.body
    if (body !== null) head += `content-length: ${typeof body === 'string' ? Buffer.byteLength(body) : body.length}\r\n`
    else if (WITH_BODY.has(req.method)) head += 'content-length: 0\r\n'
    return head + '\r\n'
  }

  private connect (): void {
    const host = this.origin.hostname.replace(/^\[|\]$/g, '')
    const port = Number(this.origin.port || 80)
    const socket = net.connect({
      host,
      port,
      ...(this.o.lookup && net.isIP(host) === 0 ? { lookup: this.o.lookup } : {}),
      onread: { buffer: readBuffer, callback: (n: number, buf: Buffer) => { if (this.socket === socket) this.onData(buf.subarray(0, n)); return true } }
    })
    socket.setNoDelay(true)
    this.socket = socket
    this.served = 0
    this.parser = this.newParser()
    this.setDeadline(this.o.connectTimeoutMs, 'UND_ERR_CONNECT_TIMEOUT')
    socket.once('connect', () => {
      if (this.socket === socket && this.current !== null) this.setDeadline(this.current.req.headersTimeout, 'UND_ERR_HEADERS_TIMEOUT')
    })
    socket.on('error', (err: Error) => { if (this.socket === socket) this.onSocketGone(err) })
    socket.on('close', () => { if (this.socket === socket) this.onSocketGone(null) })
    watch(this)
  }

  private newParser (): Parser {
    const parser = new HTTPParser(HTTPParser.RESPONSE)
    parser[HTTPParser.kOnHeadersComplete] = (first: HeaderInfo | number, ...rest: unknown[]) => {
      const p = this.current
      if (p === null) return 0
      // an info object, or its fields as arguments when another module switched the parser to node 0.11 mode
      const info: HeaderInfo = typeof first === 'number'
        ? { headers: rest[1] as string[], statusCode: rest[4] as number, statusMessage: rest[5] as string, shouldKeepAlive: rest[7] as boolean }
        : first
      const status = info.statusCode
      // 1xx (100 Continue, 103 Early Hints): the real response follows
      if (status < 200 && status !== 101) {
        this.informational = true
        return 0
      }
      this.keepAlive = info.shouldKeepAlive
      const headers = info.headers
      for (let i = 0; i < headers.length; i += 2) {
        if (headers[i]!.length === 10 && headers[i]!.toLowerCase() === 'keep-alive') this.keepAliveHint(headers[i + 1]!)
      }
      this.setDeadline(p.req.bodyTimeout, 'UND_ERR_BODY_TIMEOUT')
      p.handler.onHeaders(status, headers, noop, info.statusMessage)
      // a HEAD response announces a body it does not send; 204 and 304 have none whatever
      // their content-length says (http-parser-js would wait for it)
      return p.req.method === 'HEAD' || status === 204 || status === 304 ? 1 : 0
    }
    parser[HTTPParser.kOnBody] = (chunk: Buffer, start: number, length: number) => {
      // a copy: the read buffer is reused
      this.current?.handler.onData(Buffer.from(chunk.subarray(start, start + length)))
    }
    parser[HTTPParser.kOnMessageComplete] = () => {
      if (this.informational) {
        this.informational = false
        return
      }
      this.complete()
    }
    return parser
  }

  /** The current response ended: hand it over, send the next request. */
  private complete (): void {
    const p = this.current
    if (p === null) return
    this.current = null
    this.deadline = 0
    this.served++
    this.idleSince = performance.now()
    if (!this.keepAlive) this.dropSocket()
    p.handler.onComplete(null)
    if (this.current === null) this.next()
  }

  /** Keep-Alive: timeout=N: close a second before the server would */
  private keepAliveHint (value: string): void {
    if (value === this.lastHint) return
    this.lastHint = value
    const m = /timeout=(\d+)/i.exec(value)
    if (m) this.idleLimitMs = Math.min(this.o.keepAliveMs, Math.max(0, Number(m[1]) * 1000 - 1000))
  }

  private onData (chunk: Buffer): void {
    const p = this.current
    if (p === null) {
      // bytes nobody asked for: the connection cannot be trusted
      this.dropSocket()
      return
    }
    const fresh = this.received === 0
    this.received += chunk.length
    // the common case: a whole response with a content-length in one read
    if (fresh && this.quick(p, chunk)) return
    if (this.deadlineCode === 'UND_ERR_BODY_TIMEOUT') this.setDeadline(p.req.bodyTimeout, 'UND_ERR_BODY_TIMEOUT')
    const ret = this.parser!.execute(chunk)
    if (ret instanceof Error) {
      const code = (ret as Error & { code?: string }).code ?? 'HPE_INVALID'
      this.fail(new ConnectionError(`the response is not valid HTTP (${ret.message})`, code), false)
    }
  }

  /**
   * Reads a response that came whole in one read: HTTP/1.1, status 200-599, a content-length
   * and exactly that many body bytes, plain `name: value` header lines. Anything else (chunked,
   * split across reads, 1xx, 204, 304, HTTP/1.0, folded or odd lines) returns false before
   * anything is handed over, and http-parser-js reads it from the start.
   */
  private quick (p: Pending, chunk: Buffer): boolean {
    const n = chunk.length
    if (n < 16 || chunk[0] !== 0x48 || chunk[5] !== 0x31 || chunk[6] !== 0x2e || chunk[7] !== 0x31 || chunk[8] !== 0x20) return false
    const end = chunk.indexOf(CRLFCRLF)
    if (end < 0) return false
    const head = chunk.toString('latin1', 0, end)
    if (!head.startsWith('HTTP/1.1 ')) return false
    const status = Number(head.slice(9, 12))
    const afterStatus = head.charCodeAt(12)
    if (!(status >= 200 && status <= 599) || status === 204 || status === 304 || (afterStatus !== 32 && afterStatus !== 13)) return false
    let lineEnd = head.indexOf('\r\n')
    if (lineEnd < 0) return false
    const statusText = head.slice(13, lineEnd)
    const headers: string[] = []
    let length = -1
    let keepAlive = true
    let hint: string | null = null
    while (lineEnd < end) {
      const start = lineEnd + 2
      let stop = head.indexOf('\r\n', start)
      if (stop < 0) stop = end
      const colon = head.indexOf(':', start)
      // an empty name, a name with a space, a line with no colon or a folded line: the parser decides
      if (colon <= start || colon >= stop) return false
      const name = head.slice(start, colon)
      if (name.includes(' ') || name.includes('\t')) return false
      const value = head.slice(colon + 1, stop).trim()
      headers.push(name, value)
      switch (name.length) {
        case 14:
          if (name.toLowerCase() === 'content-length') {
            if (length !== -1 || !/^\d+$/.test(value)) return false
            length = Number(value)
          }
          break
        case 17:
          if (name.toLowerCase() === 'transfer-encoding') return false
          break
        case 10:
          if (name.toLowerCase() === 'connection') keepAlive = value === 'keep-alive' || !/(^|,)\s*close\s*(,|$)/i.test(value)
          else if (name.toLowerCase() === 'keep-alive') hint = value
          break
      }
      lineEnd = stop
    }
    const bodyStart = end + 4
    const bodyLength = p.req.method === 'HEAD' ? 0 : length
    if (length < 0 || n !== bodyStart + bodyLength) return false
    this.keepAlive = keepAlive
    if (hint !== null) this.keepAliveHint(hint)
    p.handler.onHeaders(status, headers, noop, statusText)
    // a copy: the read buffer is reused
    if (bodyLength > 0) p.handler.onData(Buffer.from(chunk.subarray(bodyStart, n)))
    this.complete()
    return true
  }

  /** The socket closed or failed. */
  private onSocketGone (err: Error | null): void {
    const p = this.current
    const parser = this.parser
    this.socket = null
    this.parser = null
    if (p !== null && err === null && parser !== null) {
      // a body that runs until the connection closes ends here (its message completes)
      const ret = parser.finish()
      if (this.current !== p) return
      if (ret instanceof Error) err = ret
    }
    if (p === null) {
      if (this.queue.length === 0 && !this.closing) unwatch(this)
      return
    }
    // a keep-alive connection the server closed as the request went out: send it again once
    const wasReused = this.served > 0
    if (wasReused && this.received === 0 && !p.retried && IDEMPOTENT.has(p.req.method)) {
      p.retried = true
      this.current = null
      this.queue.unshift(p)
      this.next()
      return
    }
    const e = err ?? new ConnectionError('other side closed', 'UND_ERR_SOCKET')
    this.fail(e, true)
  }

  /** Ends the current request with an error and drops the socket. */
  private fail (err: Error, socketGone: boolean): void {
    const p = this.current
    if (p === null) return
    this.current = null
    this.deadline = 0
    if (!socketGone) this.dropSocket()
    p.handler.onError(err)
    if (this.current === null) this.next()
  }

  private setDeadline (ms: number, code: string): void {
    this.deadline = ms > 0 ? performance.now() + ms : 0
    this.deadlineCode = code
  }

  private dropSocket (): void {
    const socket = this.socket
    this.socket = null
    this.parser = null
    if (socket !== null) socket.destroy()
  }

  private finishClose (): void {
    this.destroyed = true
    this.dropSocket()
    unwatch(this)
    const waiters = this.closing ?? []
    this.closing = null
    for (const r of waiters) r()
  }
}

function noop (): void {}

interface HeaderInfo { statusCode: number; statusMessage: string; headers: string[]; shouldKeepAlive: boolean }

/** The host line and the user's headers, checked as undici checks them. */
function headerBlock (headers: Record<string, string>, host: string): string {
  let block = ''
  let hasHost = false
  for (const name in headers) {
    const value = headers[name]
    if (value === undefined) continue
    if (!TOKEN.test(name)) throw new ConnectionError(`invalid header name ${JSON.stringify(name)}`, 'UND_ERR_INVALID_ARG')
    const v = String(value)
    if (INVALID_VALUE.test(v)) throw new ConnectionError(`invalid value of header ${name}`, 'UND_ERR_INVALID_ARG')
    const lower = name.toLowerCase()
    if (lower === 'host') hasHost = true
    // the client frames the body itself
    if (lower === 'content-length' || lower === 'transfer-encoding') continue
    block += `${name}: ${v}\r\n`
  }
  return hasHost ? block : `host: ${host}\r\n${block}`
}

/** the interface both this connection and undici's Client offer to loadgen/http.ts */
export type Dispatching = Pick<HttpConnection, 'close' | 'destroy'> & {
  dispatch (opts: ConnectionRequest, handler: ConnectionHandler & Dispatcher.DispatchHandler): boolean
}
