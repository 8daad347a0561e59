/**
 * Who may use the web UI. The page can send load to any host the scenario allows, so:
 * - bound to loopback (the default), only requests whose Host header names loopback are
 *   served (no DNS rebinding);
 * - bound elsewhere (--web-host), a token is required on every request (header
 *   x-loadlens-token, ?token=, or the cookie set from ?token=), /metrics excepted;
 * - requests that change state (POST) must be JSON from the page's own origin, so a web page
 *   elsewhere cannot start load through the user's browser.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { NextFunction, Request, Response } from 'express'

export const TOKEN_HEADER = 'x-loadlens-token'
const COOKIE = 'loadlens_token'

export function isLoopbackHost (host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase()
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) || h === '::ffff:127.0.0.1'
}

export function newToken (): string {
  return randomBytes(18).toString('base64url')
}

function same (a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

function cookieToken (req: Request): string | undefined {
  const raw = req.headers.cookie ?? ''
  for (const part of raw.split(';')) {
    const [k, ...v] = part.trim().split('=')
    if (k === COOKIE) return decodeURIComponent(v.join('='))
  }
  return undefined
}

/** The Host header without its port: "127.0.0.1:8089" -> "127.0.0.1", "[::1]:8089" -> "::1" */
function hostOf (header: string | undefined): string {
  if (!header) return ''
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(header)
  if (m) return m[1]!
  return header.replace(/:\d+$/, '')
}

export interface AccessOptions {
  /** the address the server is bound to */
  bindHost: string
  /** required when bound elsewhere than loopback */
  token?: string
}

export function accessControl (o: AccessOptions) {
  const loopback = isLoopbackHost(o.bindHost)
  return (req: Request, res: Response, next: NextFunction): void => {
    if (loopback && !isLoopbackHost(hostOf(req.headers.host))) {
      res.status(403).type('text/plain').send('loadlens: this UI only answers on loopback addresses\n')
      return
    }
    if (o.token && req.path !== '/metrics') {
      const given = (req.headers[TOKEN_HEADER] as string | undefined) ?? (typeof req.query.token === 'string' ? req.query.token : undefined) ?? cookieToken(req)
      if (!given || !same(given, o.token)) {
        res.status(401).type('text/plain').send('loadlens: a token is required (open the URL printed when the UI started, with ?token=...)\n')
        return
      }
      if (typeof req.query.token === 'string') res.setHeader('set-cookie', `${COOKIE}=${encodeURIComponent(o.token)}; HttpOnly; SameSite=Strict; Path=/`)
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const origin = req.headers.origin
      if (origin && origin !== 'null') {
        let ok = false
        try { ok = new URL(origin).host === req.headers.host } catch { ok = false }
        if (!ok) {
          res.status(403).json({ error: 'cross-origin requests are refused' })
          return
        }
      }
      if (!req.is('application/json')) {
        res.status(415).json({ error: 'expected a JSON body (content-type: application/json)' })
        return
      }
    }
    next()
  }
}
