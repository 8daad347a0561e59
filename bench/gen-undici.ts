/**
 * undici alone, without loadlens (what loadlens uses for https:// origins and with
 * `--http-client undici`). N connections (one
 * undici Client each, as loadlens's users have), each sending GET / as soon as the previous
 * response ended, with a minimal dispatch handler. Prints one JSON line.
 */
import { Client } from 'undici'
import type { Dispatcher } from 'undici'

const url = process.argv[2]!
const connections = Number(process.argv[3] ?? 50)
const seconds = Number(process.argv[4] ?? 10)

class Handler implements Dispatcher.DispatchHandler {
  constructor (private readonly done: () => void) {}
  onConnect (): void {}
  onHeaders (): boolean { return true }
  onData (): boolean { return true }
  onComplete (): void { this.done() }
  onError (): void { failures++; this.done() }
}

let requests = 0
let failures = 0
let stop = false
const origin = new URL(url).origin
async function loop (): Promise<void> {
  const c = new Client(origin, { pipelining: 1, keepAliveTimeout: 4000 })
  while (!stop) {
    await new Promise<void>(resolve => c.dispatch({ path: '/', method: 'GET', headers: {}, headersTimeout: 30_000, bodyTimeout: 30_000 }, new Handler(resolve)))
    requests++
  }
  await c.close()
}
const cpu0 = process.cpuUsage()
setTimeout(() => { stop = true }, seconds * 1000)
await Promise.all(Array.from({ length: connections }, loop))
const cpu = process.cpuUsage(cpu0)
process.stdout.write(JSON.stringify({ tool: 'undici', requests, failures, seconds, rps: requests / seconds, cpuUs: cpu.user + cpu.system }) + '\n')
process.exit(0)
