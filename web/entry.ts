/**
 * The library entry points behind `loadlens ui`, `loadlens serve`, and `loadlens run` with its
 * live UI (without --headless) or its --metrics-port.
 */
import type { AddressInfo } from 'node:net'
import type { Writable } from 'node:stream'
import { describeError, SettingError, PortTakenError } from '../shared/errors.js'
import { loadScenario } from '../scenarios/load.js'
import { prepareRun } from '../app/run.js'
import type { RunTestOptions, RunTestOutcome } from '../app/run.js'
import { DEFAULT_OUT_DIR } from '../app/outputs.js'
import type { RunController } from './controller.js'
import type { MetricsSource } from './live.js'
import type { WebServer } from './server.js'

// express, prom-client and the UI's pages are loaded only when a server is started: a
// headless run does not pay for them
const webServer = (): Promise<typeof import('./server.js')> => import('./server.js')
const runController = async (): Promise<typeof RunController> => (await import('./controller.js')).RunController

export interface WebFlags {
  /** serve the live UI during the run (default for `run` without --headless) */
  ui?: boolean
  webPort?: number
  webHost?: string
  /** headless: serve /metrics on this port */
  metricsPort?: number
}

function portTaken (err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'EADDRINUSE' || (err as NodeJS.ErrnoException)?.code === 'EACCES'
}

/** An address that cannot be listened on is the user's mistake: one line naming the flag. */
function badAddress (err: unknown, host: string): never {
  const code = (err as NodeJS.ErrnoException)?.code
  if (code && ['EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN', 'EINVAL', 'EAFNOSUPPORT'].includes(code)) {
    throw new SettingError(`--web-host: cannot listen on "${host}" (${code}); give an address of this machine, e.g. 127.0.0.1 or 0.0.0.0`)
  }
  throw err
}

/** A server for /metrics alone (headless runs). */
export async function startMetricsServer (port: number, host: string, source: () => MetricsSource | undefined): Promise<{ url: string; close (): Promise<void> }> {
  const [{ RunMetrics }, { createServer }] = await Promise.all([import('./metrics.js'), import('node:http')])
  const metrics = new RunMetrics(source)
  const server = createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/metrics' || req.url?.startsWith('/metrics?'))) {
      metrics.text().then(text => {
        res.setHeader('content-type', metrics.contentType)
        res.end(text)
      }, (err) => {
        res.statusCode = 500
        res.end(`loadlens: ${describeError(err)}\n`)
      })
      return
    }
    res.statusCode = 404
    res.end('not found: loadlens serves /metrics here\n')
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => { server.off('error', reject); resolve() })
  }).catch((err) => {
    if (portTaken(err)) throw new PortTakenError(`--metrics-port: port ${port} on ${host} is taken (${(err as NodeJS.ErrnoException).code})`)
    badAddress(err, host)
  })
  const bound = (server.address() as AddressInfo).port
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}/metrics`,
    close: () => new Promise<void>(resolve => { server.closeAllConnections(); server.close(() => resolve()) })
  }
}

/**
 * `loadlens run`: the run, with the live UI on --web-port (default 8089) unless headless,
 * and /metrics on --metrics-port. A taken UI port is one line, and the run goes on headless.
 */
export async function runTestServed (o: RunTestOptions, w: WebFlags): Promise<RunTestOutcome> {
  if (!w.ui && w.metricsPort === undefined) {
    const { runTest } = await import('../app/run.js')
    return runTest(o)
  }
  const out: Writable = o.stdout ?? process.stdout
  const say = (line: string): void => { if (!o.quiet) out.write(`${line}\n`) }
  const plan = typeof o.scenario === 'string' ? await loadScenario(o.scenario) : o.scenario
  const opts: RunTestOptions = { ...o, scenario: plan }
  const prep = await prepareRun(opts)
  const [{ DEFAULT_WEB_HOST, DEFAULT_WEB_PORT, startWebServer }, Controller] = await Promise.all([webServer(), runController()])
  const controller = new Controller(opts, false)
  const host = w.webHost ?? DEFAULT_WEB_HOST
  let web: WebServer | undefined
  let metricsServer: { url: string; close (): Promise<void> } | undefined
  try {
    if (w.metricsPort !== undefined) {
      metricsServer = await startMetricsServer(w.metricsPort, host, () => controller.current)
      say(`Prometheus metrics: ${metricsServer.url}`)
    }
    if (w.ui) {
      const port = w.webPort ?? DEFAULT_WEB_PORT
      try {
        web = await startWebServer({ port, host, resultsDir: o.outDir ?? DEFAULT_OUT_DIR, controller })
        say(`Live UI: ${web.url} (metrics at /metrics; the run starts now)`)
      } catch (err) {
        if (!portTaken(err)) badAddress(err, host)
        say(`loadlens: the web UI port ${port} on ${host} is taken (${(err as NodeJS.ErrnoException).code}); going on headless (--web-port to choose another, --headless to skip it)`)
      }
    }
    return await controller.runAttached(opts, prep)
  } finally {
    await web?.close()
    await metricsServer?.close()
  }
}

export interface UiOptions extends RunTestOptions {
  webPort?: number
  webHost?: string
}

/** `loadlens ui <scenario>`: the web UI, from which runs are started, steered and reviewed. */
export async function startUi (o: UiOptions): Promise<{ web: WebServer; controller: RunController }> {
  const plan = typeof o.scenario === 'string' ? await loadScenario(o.scenario) : o.scenario
  const [{ DEFAULT_WEB_HOST, DEFAULT_WEB_PORT, startWebServer }, Controller] = await Promise.all([webServer(), runController()])
  const controller = new Controller({ ...o, scenario: plan }, true)
  const host = o.webHost ?? DEFAULT_WEB_HOST
  const port = o.webPort ?? DEFAULT_WEB_PORT
  try {
    const web = await startWebServer({ port, host, resultsDir: o.outDir ?? DEFAULT_OUT_DIR, controller })
    return { web, controller }
  } catch (err) {
    if (portTaken(err)) throw new PortTakenError(`--web-port: port ${port} on ${host} is taken (${(err as NodeJS.ErrnoException).code}); choose another with --web-port`)
    badAddress(err, host)
  }
}

/** `loadlens serve [DIR]`: the stored results of a folder (list, reports, re-diagnosis, compare). */
export async function serveResults (dir: string, o: { webPort?: number; webHost?: string } = {}): Promise<WebServer> {
  const { DEFAULT_WEB_HOST, DEFAULT_WEB_PORT, startWebServer } = await webServer()
  const host = o.webHost ?? DEFAULT_WEB_HOST
  const port = o.webPort ?? DEFAULT_WEB_PORT
  try {
    return await startWebServer({ port, host, resultsDir: dir })
  } catch (err) {
    if (portTaken(err)) throw new PortTakenError(`--web-port: port ${port} on ${host} is taken (${(err as NodeJS.ErrnoException).code}); choose another with --web-port`)
    badAddress(err, host)
  }
}
