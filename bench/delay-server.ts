/**
 * A benchmark target with a known delay distribution: every request is answered after a delay
 * drawn uniformly from [BENCH_DELAY_MIN_MS, BENCH_DELAY_MAX_MS] (default 10-50 ms), and the
 * server times each one itself, from the request's arrival to the end of its response, in an
 * HDR histogram. GET /__stats returns {count, p50, p99, max} of those times (ms) and resets
 * them, so each generator's run is compared with what the server saw during it.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createHistogram, percentileMs, recordUs } from '../shared/hist.js'

const min = Number(process.env.BENCH_DELAY_MIN_MS ?? 10)
const max = Number(process.env.BENCH_DELAY_MAX_MS ?? 50)
const body = JSON.stringify({ ok: true, items: [1, 2, 3], message: 'hello from the delay server' })
let hist = createHistogram()

const server = createServer((req, res) => {
  if (req.url === '/__stats') {
    const stats = { count: hist.totalCount, p50: percentileMs(hist, 50), p99: percentileMs(hist, 99), max: hist.maxValue / 1000 }
    hist.destroy()
    hist = createHistogram()
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify(stats))
    return
  }
  const t0 = process.hrtime.bigint()
  req.resume()
  res.on('finish', () => recordUs(hist, Number(process.hrtime.bigint() - t0) / 1000))
  setTimeout(() => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
    res.end(body)
  }, min + Math.random() * (max - min))
})
server.keepAliveTimeout = 60_000
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`)
})
process.on('SIGTERM', () => process.exit(0))
