/**
 * The seed's "before running" rules that a tool can enforce: load goes to loopback, or to a
 * host the scenario names as allowed, or to any host only with an explicit confirmation flag.
 */
import { connect } from 'node:net'
import { isIP } from 'node:net'
import { UsageError, HarnessError } from '../shared/errors.js'

export function isLoopback (hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase()
  if (h === 'localhost' || h.endsWith('.localhost')) return true
  if (isIP(h) === 4) return h.startsWith('127.')
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1' || h.startsWith('::ffff:127.')
  return false
}

export function checkHostAllowed (host: URL, allowedHosts: string[], allowRemote: boolean): void {
  if (isLoopback(host.hostname)) return
  const h = host.hostname.toLowerCase()
  if (allowedHosts.some(a => a.toLowerCase() === h || a.toLowerCase() === host.host.toLowerCase())) return
  if (allowRemote) return
  throw new UsageError(
    `--host: refusing to send load to ${host.origin}: it is not loopback and not in the scenario's allowedHosts. ` +
    'Never load a production system without warning its owners; if this system is yours to load, pass --allow-remote.'
  )
}

/** Opens (and closes) one TCP connection to the target, so a wrong --host fails in a second. */
export async function checkReachable (host: URL, timeoutMs = 3000): Promise<void> {
  const port = Number(host.port || (host.protocol === 'https:' ? 443 : 80))
  const hostname = host.hostname.replace(/^\[|\]$/g, '')
  await new Promise<void>((resolve, reject) => {
    const socket = connect({ host: hostname, port })
    const timer = setTimeout(() => { socket.destroy(); reject(new HarnessError(`cannot reach ${host.origin}: no answer within ${timeoutMs} ms; is the target running?`)) }, timeoutMs)
    socket.once('connect', () => { clearTimeout(timer); socket.end(); resolve() })
    socket.once('error', (err: Error & { code?: string }) => {
      clearTimeout(timer)
      const why = err.code === 'ECONNREFUSED' ? 'connection refused' : err.code === 'ENOTFOUND' ? 'host name does not resolve' : err.message
      reject(new HarnessError(`cannot reach ${host.origin}: ${why}; is the target running?`))
    })
  })
}
