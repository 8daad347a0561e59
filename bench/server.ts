/** The benchmark target: a minimal node:http server answering ~100 bytes of JSON with keep-alive. */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

const body = JSON.stringify({ ok: true, items: [1, 2, 3], message: 'hello from the benchmark server', n: 42 })
const server = createServer((req, res) => {
  req.resume()
  const delay = Number(process.env.BENCH_DELAY_MS ?? 0)
  const answer = (): void => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
    res.end(body)
  }
  if (delay > 0) setTimeout(answer, delay)
  else answer()
})
server.keepAliveTimeout = 60_000
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`)
})
process.on('SIGTERM', () => process.exit(0))
