/**
 * The seed's "before running" rules that a tool can enforce: load goes to loopback, or to a
 * host the scenario names as allowed, or to any host only with an explicit confirmation flag.
 */
import { connect } from 'node:net'
import { HostRefusedError, TargetUnreachableError } from '../shared/errors.js'
import { hostRefusal } from '../shared/hosts.js'

export { isLoopbackAddress } from '../shared/hosts.js'

/** The base host is loopback (its name resolving only to loopback), allowed by the scenario, or --allow-remote was given. */
export async function checkHostAllowed (host: URL, allowedHosts: string[], allowRemote: boolean): Promise<void> {
  const why = await hostRefusal(host, { allowedHosts, allowRemote })
  if (why === null) return
  throw new HostRefusedError(
    `--host: refusing to send load to ${host.origin}: ${why.replace(`${host.origin} `, 'it ')}. ` +
    'Never load a production system without warning its owners; if this system is yours to load, pass --allow-remote.'
  )
}

/** Opens (and closes) one TCP connection to the target, so a wrong --host fails in a second. */
export async function checkReachable (host: URL, timeoutMs = 3000): Promise<void> {
  const port = Number(host.port || (host.protocol === 'https:' ? 443 : 80))
  const hostname = host.hostname.replace(/^\[|\]$/g, '')
  await new Promise<void>((resolve, reject) => {
    const socket = connect({ host: hostname, port })
    const timer = setTimeout(() => { socket.destroy(); reject(new TargetUnreachableError(`cannot reach ${host.origin}: no answer within ${timeoutMs} ms; is the target running?`)) }, timeoutMs)
    socket.once('connect', () => { clearTimeout(timer); socket.end(); resolve() })
    socket.once('error', (err: Error & { code?: string }) => {
      clearTimeout(timer)
      const why = err.code === 'ECONNREFUSED' ? 'connection refused' : err.code === 'ENOTFOUND' ? 'host name does not resolve' : err.message
      reject(new TargetUnreachableError(`cannot reach ${host.origin}: ${why}; is the target running?`))
    })
  })
}
