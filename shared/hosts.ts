/**
 * Where load may go: loopback, a host the scenario lists in `allowedHosts`, or anywhere with
 * `--allow-remote`. A name is not trusted for what it looks like: `localhost` and
 * `*.localhost` must resolve, every address they resolve to, to loopback (a resolver may map
 * `foo.localhost` anywhere). The start of a run and every request that leaves the base origin
 * (an absolute URL in a task, a redirect) are checked with the same rule, and again at the
 * moment each connection is made: the name is resolved for that connection and every address
 * it gets is checked (a resolver that changes its answer after the first check gets nowhere).
 */
import { lookup } from 'node:dns/promises'
import { lookup as lookupCb } from 'node:dns'
import type { LookupAddress, LookupAllOptions, LookupOneOptions } from 'node:dns'
import { isIP } from 'node:net'

export function isLoopbackAddress (address: string): boolean {
  const a = address.replace(/^\[|\]$/g, '').toLowerCase()
  if (isIP(a) === 4) return a.startsWith('127.')
  if (isIP(a) === 6) return a === '::1' || a === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(a)
  return false
}

export interface HostPolicy {
  /** host names or host:port the scenario allows besides loopback */
  allowedHosts: string[]
  /** --allow-remote: anything goes */
  allowRemote: boolean
}

/** null when load may go to the URL's host, else why not (one sentence) */
export async function hostRefusal (url: URL, policy: HostPolicy): Promise<string | null> {
  if (policy.allowRemote) return null
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase()
  if (policy.allowedHosts.some(a => a.toLowerCase() === host || a.toLowerCase() === url.host.toLowerCase())) return null
  if (isIP(host)) return isLoopbackAddress(host) ? null : `${url.origin} is not loopback and not in the scenario's allowedHosts`
  if (host !== 'localhost' && !host.endsWith('.localhost')) return `${url.origin} is not loopback and not in the scenario's allowedHosts`
  let addresses: string[]
  try {
    addresses = (await lookup(host, { all: true })).map(a => a.address)
  } catch {
    return `${url.origin} does not resolve, so it cannot be shown to be loopback`
  }
  const outside = addresses.filter(a => !isLoopbackAddress(a))
  if (!addresses.length || outside.length) return `${url.origin} resolves to ${outside.join(', ') || 'nothing'}, not loopback`
  return null
}

/** Checks each origin once; later requests to it get the cached verdict at once. */
export class HostGuard {
  private readonly verdicts = new Map<string, string | null>()
  private readonly pending = new Map<string, Promise<string | null>>()

  constructor (private readonly policy: HostPolicy) {}

  /** null when allowed; a reason, or a promise of the verdict the first time an origin is seen */
  check (origin: string): string | null | Promise<string | null> {
    const known = this.verdicts.get(origin)
    if (known !== undefined) return known
    let p = this.pending.get(origin)
    if (!p) {
      p = hostRefusal(new URL(origin), this.policy).then((v) => { this.verdicts.set(origin, v); this.pending.delete(origin); return v })
      this.pending.set(origin, p)
    }
    return p
  }

  /** an origin already checked at the start of the run */
  allow (origin: string): void {
    this.verdicts.set(origin, null)
  }

  /**
   * A name lookup for net.connect and tls.connect (and undici's connect options): each
   * connection resolves its host itself and connects only when every address is allowed; else
   * the connection fails with the code LOADLENS_BLOCKED, counted as a blocked request.
   * Undefined when anything goes (--allow-remote).
   */
  get lookup (): ConnectLookup | undefined {
    if (this.policy.allowRemote) return undefined
    const allowed = new Set(this.policy.allowedHosts.map(a => a.toLowerCase()))
    return (hostname, options, callback) => {
      lookupCb(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
        if (err) { (callback as (e: Error) => void)(err); return }
        const name = hostname.toLowerCase()
        const outside = allowed.has(name) ? [] : addresses.filter(a => !isLoopbackAddress(a.address))
        if (outside.length || !addresses.length) {
          const e = Object.assign(new Error(`not connected: ${hostname} resolves to ${outside.map(a => a.address).join(', ') || 'nothing'}, not loopback`), { code: 'LOADLENS_BLOCKED' })
          ;(callback as (e: Error) => void)(e)
          return
        }
        if ((options as LookupAllOptions).all) (callback as (e: null, a: LookupAddress[]) => void)(null, addresses)
        else (callback as (e: null, a: string, f: number) => void)(null, addresses[0]!.address, addresses[0]!.family)
      })
    }
  }
}

/** net.connect's `lookup` option */
export type ConnectLookup = (hostname: string, options: LookupOneOptions | LookupAllOptions, callback: (...args: any[]) => void) => void
