/** The client a task uses (u.http), against a real server. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import busboy from 'busboy'
import { startLoad } from '../loadgen/runner.js'
import { file } from '../scenarios/define.js'
import { json, startServer } from './helpers/server.js'
import type { TestServer } from './helpers/server.js'
import { plan } from './helpers/scenario.js'
import type { HttpClientKind } from '../loadgen/http.js'

let s: TestServer
const uploads: Array<{ fields: Record<string, string>; files: Array<{ name: string; filename: string; mime: string; data: Buffer }> }> = []

beforeAll(async () => {
  s = await startServer((req, res) => {
    if (req.url === '/upload') {
      const bb = busboy({ headers: req.headers })
      const got = { fields: {} as Record<string, string>, files: [] as typeof uploads[0]['files'] }
      bb.on('field', (name, value) => { got.fields[name] = value })
      bb.on('file', (name, stream, info) => {
        const chunks: Buffer[] = []
        stream.on('data', (c: Buffer) => chunks.push(c))
        stream.on('end', () => got.files.push({ name, filename: info.filename ?? '', mime: info.mimeType, data: Buffer.concat(chunks) }))
      })
      bb.on('close', () => { uploads.push(got); json(res, 201, { job: 'j1' }) })
      bb.end(req.body)
      return
    }
    if (req.url === '/old') { res.statusCode = 302; res.setHeader('location', '/new'); res.end(); return }
    if (req.url?.startsWith('/echo')) {
      json(res, 200, { method: req.method, url: req.url, headers: req.headers, body: req.body.toString() })
      return
    }
    json(res, 200, { ok: true })
  })
})
afterAll(async () => { await s.close() })

async function once (task: (u: any) => Promise<void>, httpClient?: HttpClientKind) {
  const p = plan({ users: { U: { headers: { 'x-default': 'yes' }, tasks: { t: async (u: any) => { await task(u); u.stop() } } } } })
  const out = await startLoad({ plan: p, host: s.url, model: { kind: 'closed', stages: [{ durationS: 2, users: 1, spawnRate: 10 }] }, durationS: 2, stopTimeoutS: 2, settings: { httpClient } })
  // an expect() that fails inside the task is recorded as an exception: none may be
  expect(out.exceptions).toEqual([])
  return out
}

describe('u.http', () => {
  it.each(['loadlens', 'undici'] as const)('sends JSON bodies, query strings and headers, and reads JSON back (%s client)', async (httpClient) => {
    let echoed: any
    await once(async (u) => {
      u.http.headers.authorization = 'Bearer t'
      const r = await u.http.post('/echo', { json: { a: 1 }, query: { q: 'x y', n: 2 }, headers: { 'x-extra': '1' } })
      echoed = r.json()
      expect(r.ok).toBe(true)
      expect(r.header('content-type')).toMatch(/json/)
    }, httpClient)
    expect(echoed.method).toBe('POST')
    expect(echoed.url).toBe('/echo?q=x+y&n=2')
    expect(JSON.parse(echoed.body)).toEqual({ a: 1 })
    expect(echoed.headers['content-type']).toBe('application/json')
    expect(echoed.headers.authorization).toBe('Bearer t')
    expect(echoed.headers['x-default']).toBe('yes')
    expect(echoed.headers['x-extra']).toBe('1')
    // which client sent it: undici announces keep-alive, loadlens's connection relies on HTTP/1.1's default
    expect(echoed.headers.connection).toBe(httpClient === 'undici' ? 'keep-alive' : undefined)
  })

  it.each(['loadlens', 'undici'] as const)('uploads files as multipart/form-data (%s client)', async (httpClient) => {
    const wav = Buffer.from('RIFF$\u0000\u0000\u0000WAVEfmt ', 'latin1')
    uploads.length = 0
    await once(async (u) => {
      const r = await u.http.post('/upload', { form: { user_id: 42, note: 'Dobrý den', audio: file(wav, 'voice.wav', 'audio/wav') } })
      expect(r.status).toBe(201)
    }, httpClient)
    expect(uploads).toHaveLength(1)
    expect(uploads[0]!.fields).toEqual({ user_id: '42', note: 'Dobrý den' })
    expect(uploads[0]!.files[0]).toMatchObject({ name: 'audio', filename: 'voice.wav', mime: 'audio/wav' })
    expect(uploads[0]!.files[0]!.data.equals(wav)).toBe(true)
  })

  it('counts requests with a name under one row, and follows redirects as one request', async () => {
    const out = await once(async (u) => {
      await u.http.get('/users/123/stats', { name: '/users/[id]/stats' })
      await u.http.get('/users/456/stats', { name: '/users/[id]/stats' })
      await u.http.get('/users/1/stats?x=1')
      const r = await u.http.get('/old')
      expect(r.status).toBe(200)
      await u.http.put('/echo', { body: 'raw' })
      await u.http.patch('/echo')
      await u.http.delete('/echo', { expect: 204 })
    })
    const rows = Object.fromEntries(out.totals.entries.map(e => [e.key, e.requests]))
    expect(rows['GET /users/[id]/stats']).toBe(2)
    expect(rows['GET /users/1/stats']).toBe(1)
    expect(rows['GET /old']).toBe(1)
    expect(rows['PUT /echo']).toBe(1)
    expect(rows['PATCH /echo']).toBe(1)
    // DELETE answered 200 but the request expected 204
    expect(out.errors.find(e => e.type === 'DELETE')).toMatchObject({ kind: 'http', status: 200 })
  })

  it('records a measured flow as a row of its own', async () => {
    const out = await once(async (u) => {
      await u.measure('two calls', async () => {
        await u.http.get('/a')
        await u.http.get('/b')
      })
      await u.measure('fails', async () => false).catch(() => {})
    })
    const flow = out.totals.entries.find(e => e.key === 'FLOW two calls')!
    expect(flow.requests).toBe(1)
    expect(flow.failures).toBe(0)
    expect(out.totals.overall.requests).toBe(2)
    expect(out.totals.entries.find(e => e.key === 'FLOW fails')!.failures).toBe(1)
  })
})
