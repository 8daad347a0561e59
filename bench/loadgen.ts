/**
 * `npm run bench -- loadgen`: the generator against autocannon (and undici alone) at 50
 * connections, no think time, pinned; and 5,000 users at 1 s think time in one thread.
 */
import { hasTaskset, median, runJson, startBenchServer, verdict } from './helpers.js'

export async function loadgen (): Promise<void> {
  console.log('\n## loadgen: the generator against autocannon (50 connections, no think time, 10 s each, 5 rounds back to back)')
  console.log(hasTaskset ? 'server pinned to CPU 1, generators to CPU 0 (taskset)' : 'taskset not available: processes are not pinned')
  const server = await startBenchServer()
  try {
    const rows: Array<Record<string, any>> = []
    for (let i = 0; i < 5; i++) {
      rows.push(await runJson('./gen-autocannon.js', [server.url, '50', '10'], 0))
      rows.push(await runJson('./gen-undici.js', [server.url, '50', '10'], 0))
      rows.push(await runJson('./gen-loadlens.js', [server.url, '50', '10', '0', '50'], 0))
    }
    const med = (tool: string, k: string): number => median(rows.filter(r => r.tool === tool).map(r => r[k] as number))
    const cpuPerReq = (tool: string): number => {
      const r = rows.filter(x => x.tool === tool)
      return r.reduce((a, x) => a + x.cpuUs, 0) / r.reduce((a, x) => a + x.requests, 0)
    }
    const ac = med('autocannon', 'rps')
    const un = med('undici', 'rps')
    const ll = med('loadlens', 'rps')
    const per = (tool: string): string => rows.filter(r => r.tool === tool).map(r => (r.rps as number).toFixed(0)).join(', ')
    console.log(`autocannon  ${ac.toFixed(0)} req/s (runs: ${per('autocannon')}), ${cpuPerReq('autocannon').toFixed(1)} us CPU per request`)
    console.log(`undici only ${un.toFixed(0)} req/s (runs: ${per('undici')}), ${cpuPerReq('undici').toFixed(1)} us CPU per request (what loadlens uses for https:// and with --http-client undici)`)
    console.log(`loadlens    ${ll.toFixed(0)} req/s (runs: ${per('loadlens')}), ${cpuPerReq('loadlens').toFixed(1)} us CPU per request`)
    console.log(`ratio ${(ll / ac).toFixed(2)}x of autocannon's requests/s (target >= 1.0x: ${verdict(ll / ac >= 1)}); CPU per request ${(cpuPerReq('loadlens') / cpuPerReq('autocannon')).toFixed(2)}x autocannon's`)
    console.log(`undici alone reaches ${(un / ac).toFixed(2)}x of autocannon; loadlens (its own HTTP/1.1 connection for http://, the whole harness included) reaches ${(ll / un).toFixed(2)}x of undici alone`)

    console.log('\n## loadgen: 5,000 users, 1 s think time, spawn 1000/s, 30 s, one thread')
    const big = await runJson('./gen-loadlens.js', [server.url, '5000', '30', '1', '1000'], 0)
    const intended = 5000 / (1 + big.p50 / 1000)
    const held = big.steadyRps / intended
    console.log(`steady ${big.steadyRps.toFixed(0)} req/s of ${intended.toFixed(0)} intended = ${(held * 100).toFixed(1)}% (target >= 95%: ${verdict(held >= 0.95)})`)
    console.log(`p50 ${big.p50} ms, p99 ${big.p99} ms, busiest second ELU ${big.maxElu}`)
    console.log(`peak RSS ${big.peakRssMB.toFixed(0)} MB (target < 300 MB: ${verdict(big.peakRssMB < 300)})`)
  } finally {
    server.stop()
  }
}
