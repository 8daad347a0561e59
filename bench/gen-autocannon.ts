/** Reference generator: autocannon, in its own process. Prints one JSON line. */
// @ts-expect-error autocannon ships no types
import autocannon from 'autocannon'

const [url, connections, seconds] = [process.argv[2]!, Number(process.argv[3] ?? 50), Number(process.argv[4] ?? 10)]
const cpu0 = process.cpuUsage()
const result = await autocannon({ url, connections, duration: seconds, pipelining: 1 })
const cpu = process.cpuUsage(cpu0)
process.stdout.write(JSON.stringify({
  tool: 'autocannon',
  requests: result.requests.total,
  seconds,
  rps: result.requests.total / seconds,
  errors: result.errors + result.non2xx,
  p50: result.latency.p50,
  p99: result.latency.p99,
  cpuUs: cpu.user + cpu.system,
  rssMB: process.memoryUsage.rss() / 1e6
}) + '\n')
