/**
 * Keyspace lookups loadlens itself causes on a Redis server, so that the Redis probe can
 * leave them out of the hit rate. Redis counts keyspace_hits and keyspace_misses for the
 * whole server: when a Celery broker lives on the cache's server, the Celery probe's reads
 * (LLEN of a queue) and the workers' replies to its broadcasts (one SMEMBERS of the reply
 * binding each) would count as cache lookups.
 *
 * One ledger per probe session: probes that cause lookups add them (hits and misses by
 * outcome) under the server's key, host:port; the Redis probe watching that server subtracts
 * what was added between two of its samples from its INFO deltas (clamped at 0).
 */

export interface LookupCount {
  hits: number
  misses: number
}

/** The key of a Redis server: host:port of its URL (localhost as 127.0.0.1, port 6379 by default; the db does not matter). */
export function redisServerKey (url: string): string {
  try {
    const u = new URL(url)
    let host = u.hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1')
    if (host === 'localhost' || host === '') host = '127.0.0.1'
    return `${host}:${u.port || '6379'}`
  } catch {
    return url
  }
}

export class LookupLedger {
  private readonly servers = new Map<string, LookupCount>()
  private readonly brokers = new Set<string>()

  /** a Celery broker lives on `server`: its INFO counters include the broker's traffic */
  markBroker (server: string): void {
    this.brokers.add(server)
  }

  isBroker (server: string): boolean {
    return this.brokers.has(server)
  }

  /** records lookups made on `server` (a redisServerKey) */
  add (server: string, hits: number, misses: number): void {
    if (hits <= 0 && misses <= 0) return
    const c = this.servers.get(server) ?? { hits: 0, misses: 0 }
    c.hits += Math.max(0, hits)
    c.misses += Math.max(0, misses)
    this.servers.set(server, c)
  }

  /** every lookup recorded on `server` so far (counters that only grow) */
  total (server: string): LookupCount {
    const c = this.servers.get(server)
    return c ? { ...c } : { hits: 0, misses: 0 }
  }
}
