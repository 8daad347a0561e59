/**
 * The web UI (express + ejs): the live page of a run (`loadlens ui`, `loadlens run` without
 * --headless), the review of stored results (list with verdicts, report, re-diagnosis,
 * side-by-side compare; also `loadlens serve`), the downloads of a run's outputs, and
 * Prometheus /metrics. Pages are self-contained (styles and scripts inlined): no CDN.
 */
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import express from 'express'
import type { Request, Response, NextFunction } from 'express'
import ejs from 'ejs'
import { RunStateError, UsageError, describeError } from '../shared/errors.js'
import { redactDeep, redactText } from '../shared/redact.js'
import type { RunResult } from '../shared/types.js'
import { renderHtml, pageAssets, fmt } from '../reports/html/report.js'
import { REPORTERS } from '../reports/reporters.js'
import type { Reporter } from '../reports/reporters.js'
import { sideBySide } from '../reports/sidebyside.js'
import { inlineCode, readShipped, scriptJson, sourcePath } from '../reports/assets.js'
import { analyse } from '../app/analyse.js'
import type { RunController } from './controller.js'
import { RunMetrics } from './metrics.js'
import { ResultStore } from './results.js'
import { accessControl, isLoopbackHost, newToken } from './security.js'

export const DEFAULT_WEB_PORT = 8089
export const DEFAULT_WEB_HOST = '127.0.0.1'

export interface WebOptions {
  port?: number
  host?: string
  /** the folder of stored results to list */
  resultsDir: string
  /** runs: absent for `loadlens serve` */
  controller?: RunController
  /** required on every request when bound elsewhere than loopback (made up when not given) */
  token?: string
}

export interface WebServer {
  url: string
  port: number
  host: string
  token?: string
  metrics: RunMetrics
  close (): Promise<void>
}

/** The outputs a run or a stored result can be downloaded as: every reporter's (reports/reporters.ts). */
export const DOWNLOADS: Record<string, Reporter> = REPORTERS

const views = new Map<string, ejs.TemplateFunction>()
function view (name: string): ejs.TemplateFunction {
  let f = views.get(name)
  if (!f) {
    const rel = `views/${name}.ejs`
    f = ejs.compile(readShipped(import.meta.url, rel), { filename: sourcePath(import.meta.url, rel) })
    views.set(name, f)
  }
  return f
}

function page (name: string, data: Record<string, unknown>, nav: Array<{ href: string; label: string; on?: boolean }>): string {
  const assets = pageAssets()
  return view(name)({ ...data, nav, assets, fmt, scriptJson, inlineCode, readShipped: (rel: string) => inlineCode(readShipped(import.meta.url, rel)) })
}

function download (res: Response, result: RunResult, kind: string): void {
  const d = DOWNLOADS[kind]
  if (!d) {
    res.status(404).type('text/plain').send(`unknown output "${kind}"; expected one of: ${Object.keys(DOWNLOADS).join(', ')}\n`)
    return
  }
  res.type(d.type)
  if (kind !== 'html') res.setHeader('content-disposition', `attachment; filename="${result.meta.runId.replace(/[^\w.-]/g, '_')}${d.suffix}"`)
  res.send(d.render(redactDeep(result)))
}

export function createWebApp (o: WebOptions, bindHost: string, token: string | undefined, metrics: RunMetrics): express.Express {
  const app = express()
  app.disable('x-powered-by')
  app.set('etag', false)
  app.use(accessControl({ bindHost, token }))
  app.use(express.json({ limit: '64kb' }))
  // every JSON the page reads goes out with its secrets redacted (live state, results, errors)
  app.use((_req, res, next) => {
    const send = res.json.bind(res)
    res.json = (body: unknown) => send(redactDeep(body))
    next()
  })
  const store = new ResultStore(o.resultsDir)
  const c = o.controller
  const nav = (on: string): Array<{ href: string; label: string; on?: boolean }> => [
    ...(c ? [{ href: '/', label: 'Live', on: on === 'live' }] : []),
    { href: '/results', label: 'Results', on: on === 'results' },
    { href: '/metrics', label: 'Metrics' }
  ]
  const html = (res: Response, text: string): void => { res.type('text/html; charset=utf-8').send(text) }

  app.get('/favicon.ico', (_req, res) => { res.status(204).end() })
  app.get('/', async (_req, res) => {
    if (!c) { res.redirect('/results'); return }
    html(res, page('live', { info: await c.describe() }, nav('live')))
  })

  // -- runs (live)
  app.get('/api/scenario', async (_req, res) => {
    if (!c) { res.status(404).json({ error: 'no scenario: this server only shows stored results' }); return }
    res.json(await c.describe())
  })
  app.get('/api/live', (req, res) => {
    const since = Number(req.query.since ?? 0)
    const cur = c?.current
    if (!cur) { res.json({ state: 'idle' }); return }
    res.json(cur.snapshot(Number.isFinite(since) ? since : 0))
  })
  app.post('/api/start', async (req, res) => {
    if (!c) { res.status(404).json({ error: 'this server cannot start runs' }); return }
    const live = await c.start(req.body ?? {})
    res.json({ id: live.id, state: live.state })
  })
  app.post('/api/users', (req, res) => {
    if (!c) { res.status(404).json({ error: 'no run' }); return }
    c.setUsers(req.body?.users, req.body?.spawnRate)
    res.json({ ok: true })
  })
  app.post('/api/stop', (_req, res) => {
    if (!c) { res.status(404).json({ error: 'no run' }); return }
    c.stop()
    res.json({ ok: true })
  })
  app.get('/runs/current/:kind', (req, res) => {
    const r = c?.current?.result
    if (!r) { res.status(404).type('text/plain').send('the run has not finished yet\n'); return }
    download(res, r, String(req.params.kind))
  })

  // -- stored results
  app.get('/api/results', (_req, res) => { res.json(store.list()) })
  app.get('/results', (_req, res) => {
    html(res, page('results', { entries: store.list(), dir: o.resultsDir }, nav('results')))
  })
  app.get('/results/:file', (req, res) => {
    const file = String(req.params.file)
    const stored = store.result(file)
    if (!stored) { res.status(404).type('text/plain').send(`no result "${file}" in ${o.resultsDir}\n`); return }
    let result = stored
    let banner: string | undefined
    if (req.query.diagnose !== undefined) {
      try {
        // the diagnosis, and the checklist that rests on it, as this loadlens reads the result
        result = analyse(structuredClone(stored), { checklist: 'if-present' })
        const n = result.diagnosis!.findings.length
        banner = `Diagnosis re-computed by this loadlens: ${n} finding${n === 1 ? '' : 's'} (the stored file is unchanged).`
      } catch {
        banner = 'This loadlens could not re-compute the diagnosis; the stored one is shown.'
      }
    }
    html(res, renderHtml(result, { nav: [...nav('results'), { href: `/results/${encodeURIComponent(file)}?diagnose`, label: 'Re-diagnose' }], banner }))
  })
  app.get('/results/:file/:kind', (req, res) => {
    const file = String(req.params.file)
    const r = store.result(file)
    if (!r) { res.status(404).type('text/plain').send(`no result "${file}" in ${o.resultsDir}\n`); return }
    download(res, r, String(req.params.kind))
  })
  app.get('/compare', (req, res) => {
    const a = typeof req.query.a === 'string' ? req.query.a : ''
    const b = typeof req.query.b === 'string' ? req.query.b : ''
    const ra = store.result(a)
    const rb = store.result(b)
    if (!ra || !rb) { res.status(404).type('text/plain').send(`pick two results of ${o.resultsDir} to compare (?a=FILE&b=FILE)\n`); return }
    html(res, page('compare', { a: { file: a, r: ra, e: store.entry(a) }, b: { file: b, r: rb, e: store.entry(b) }, cmp: sideBySide(ra, rb) }, nav('results')))
  })

  // -- Prometheus
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.contentType).send(await metrics.text())
  })

  app.use((_req: Request, res: Response) => { res.status(404).type('text/plain').send('not found\n') })
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const status = err instanceof RunStateError ? 409 : err instanceof UsageError ? 400 : (err as { status?: number }).status ?? 500
    const message = redactText(describeError(err))
    if (req.path.startsWith('/api/')) res.status(status).json({ error: message })
    else res.status(status).type('text/plain').send(`loadlens: ${message}\n`)
  })
  return app
}

/** Starts the web UI; rejects with code EADDRINUSE when the port is taken. */
export async function startWebServer (o: WebOptions): Promise<WebServer> {
  const host = o.host ?? DEFAULT_WEB_HOST
  const token = isLoopbackHost(host) ? undefined : (o.token ?? newToken())
  const metrics = new RunMetrics(() => o.controller?.current)
  const app = createWebApp(o, host, token, metrics)
  const server: Server = createServer(app)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(o.port ?? DEFAULT_WEB_PORT, host, () => { server.off('error', reject); resolve() })
  })
  const port = (server.address() as AddressInfo).port
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host
  const base = `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}`
  return {
    url: token ? `${base}/?token=${token}` : base,
    port,
    host,
    token,
    metrics,
    close: () => new Promise<void>(resolve => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  }
}
