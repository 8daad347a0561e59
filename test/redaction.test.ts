/**
 * Secrets never reach an output: a real run with a secret in every flag that takes a URL
 * (the usual forms: user:password, an empty user, an @ inside the password, a token in the
 * query string, a DSN's key as its user), then every output is searched for them: the result
 * JSON, the HTML report, the CSV files, the JUnit XML, the Markdown summary, the terminal
 * (stdout and stderr, probe messages included), the live web UI's JSON and /metrics.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redactDeep, redactText } from '../shared/redact.js'
import { freePort } from '../shared/ports.js'
import { json, sleep, startServer } from './helpers/server.js'
import type { TestServer } from './helpers/server.js'
import { startCli } from './helpers/cli.js'

let s: TestServer
beforeAll(async () => {
  s = await startServer((req, res) => {
    if (req.url?.startsWith('/metrics')) { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('process_resident_memory_bytes 1000\n'); return }
    json(res, 200, { items: [1, 2] })
  }, { record: false })
})
afterAll(async () => { await s.close() })

const SECRETS = ['pgS3cr3tOne', 'redisS3cr3tTwo', 'brokerS3cr3tThree', 'tokenS3cr3tFour', 'dsnkeyS3cr3tFive0123456789abcdef', 'monitorS3cr3tSix', 'alertsS3cr3tSeven', 'flowerS3cr3tEight', 'hostS3cr3tNine']

describe('redaction', () => {
  it('keeps every password and token out of every output of a real run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loadlens-redact-'))
    const port = new URL(s.url).port
    const web = await freePort()
    const { child, done } = startCli(['run', 'scenarios/example/scenario.ts', '--host', s.url.replace('http://', `http://tester:${SECRETS[8]}@`), '-u', '2', '-r', '10', '-t', '4s',
      '--web-port', String(web),
      '--pg', `postgres://postgres:${SECRETS[0]}@127.0.0.1:5432/postgres`,
      '--redis', `redis://:${SECRETS[1]}@127.0.0.1:6379/0`,
      '--celery-broker', `redis://worker:p@ss-${SECRETS[2]}@127.0.0.1:6379/5`,
      '--celery-flower', `http://flower:${SECRETS[7]}@127.0.0.1:${port}/flower`,
      '--target-metrics', `http://127.0.0.1:${port}/metrics?token=${SECRETS[3]}`,
      '--error-tracker-dsn', `https://${SECRETS[4]}@127.0.0.1:${port}/1`,
      '--monitoring-url', `http://admin:${SECRETS[5]}@127.0.0.1:${port}/metrics`,
      '--alert-rules-url', `http://127.0.0.1:${port}/api/v1/rules?password=${SECRETS[6]}`,
      '--json', join(dir, 'r.json'), '--csv', join(dir, 'r'), '--junit', join(dir, 'r.xml'), '--md', join(dir, 'r.md')])
    let live = ''
    let metrics = ''
    for (let i = 0; i < 40 && !live.includes('"running"'); i++) {
      await sleep(200)
      try {
        live = await (await fetch(`http://127.0.0.1:${web}/api/live`)).text()
        metrics = await (await fetch(`http://127.0.0.1:${web}/metrics`)).text()
      } catch { /* not up yet */ }
    }
    const r = await done
    expect(live).toContain('"running"')
    expect(metrics).toContain('loadlens_requests_total')
    const texts: Record<string, string> = { stdout: r.stdout, stderr: r.stderr, live, metrics }
    for (const f of readdirSync(dir)) texts[f] = readFileSync(join(dir, f), 'utf8')
    expect(Object.keys(texts)).toEqual(expect.arrayContaining(['r.json', 'r.html', 'r_stats.csv', 'r.xml', 'r.md']))
    for (const [name, text] of Object.entries(texts)) {
      for (const secret of SECRETS) expect(text.includes(secret), `${secret} in ${name}`).toBe(false)
    }
    // the URLs are still there, their secrets masked
    const result = JSON.parse(texts['r.json']!)
    expect(result.meta.options.pg).toBe('postgres://postgres:***@127.0.0.1:5432/postgres')
    expect(result.meta.options.redis).toBe('redis://:***@127.0.0.1:6379/0')
    expect(result.meta.host).toBe(`http://tester:***@127.0.0.1:${port}`)
    expect(result.totals.overall.requests).toBeGreaterThan(5)
    expect(result.meta.options.celeryBroker).toBe('redis://worker:***@127.0.0.1:6379/5')
    // ... and nothing that is not a secret was masked: every row keeps its key
    const keys: string[] = result.totals.entries.map((e: { key: string }) => e.key)
    expect(keys.length).toBeGreaterThan(1)
    expect(keys.every(k => /^(GET|POST|PUT|DELETE|FLOW) \S/.test(k)), keys.join(', ')).toBe(true)
  }, 60_000)

  it('masks every URL form and secret pair in free text', () => {
    expect(redactText('redis://:pw@host:6379/0')).toBe('redis://:***@host:6379/0')
    expect(redactText('postgres://u:p@ss@host/db')).toBe('postgres://u:***@host/db')
    expect(redactText('DATABASE_URL=postgres://a:b@c/d REDIS_URL=redis://:zz@r')).toBe('DATABASE_URL=postgres://a:***@c/d REDIS_URL=redis://:***@r')
    expect(redactText('http://h/m?token=abc&x=1&sslpassword=q')).toBe('http://h/m?token=***&x=1&sslpassword=***')
    expect(redactText('host=db password=s3cret dbname=x')).toBe('host=db password=*** dbname=x')
    expect(redactText('https://0123456789abcdef0123456789abcdef@o1.ingest.example.com/1')).toBe('https://***@o1.ingest.example.com/1')
    // a user name alone is no secret
    expect(redactText('postgres://app@127.0.0.1/db')).toBe('postgres://app@127.0.0.1/db')
    // libpq's spaces around =, quoted values with escaped quotes, API keys and signatures in a query
    expect(redactText('host=db password = s3cret dbname=x')).toBe('host=db password = *** dbname=x')
    expect(redactText("password='a\\'b c' x=1")).toBe('password=*** x=1')
    expect(redactText('https://maps.example/api?key=AIzaSyXX&sig=abc&z=1')).toBe('https://maps.example/api?key=***&sig=***&z=1')
    expect(redactText('access_key=AKIA123 secret_access_key=zzz region=eu')).toBe('access_key=*** secret_access_key=*** region=eu')
    // secrets in JSON text, headers and command lines (a target's command line, a log line)
    expect(redactText('{"password":"hunter2","user":"x","api_key": "k"}')).toBe('{"password":"***","user":"x","api_key": "***"}')
    expect(redactText('Authorization: Bearer eyJhbGciOi.xx.yy')).toBe('Authorization: Bearer ***')
    expect(redactText('curl -H "X-Api-Key: sk-12345" http://h')).toBe('curl -H "X-Api-Key: ***" http://h')
    expect(redactText('redis-server --requirepass s3cr3t --port 1')).toBe('redis-server --requirepass *** --port 1')
    expect(redactText('app --password=hunter2 --token abc --verbose')).toBe('app --password=*** --token *** --verbose')
    expect(redactText('amqp://guest:guest@h//')).toBe('amqp://guest:***@h//')
    // ... and nothing that only looks near one
    expect(redactText('monkey=1 turkey=2 pool=fixed GET /items')).toBe('monkey=1 turkey=2 pool=fixed GET /items')
  })

  it('masks fields named like a secret, and only those', () => {
    const out = redactDeep({ key: 'GET /items', apiKey: 'k1', secret_key: 'k2', password: 'p', auth: 'a', nested: [{ token: 't', name: 'token' }], url: 'redis://:pw@h/0', hist: 'HISTFAKE:pw@', entries: { 'GET http://u:pw@h/x': 1, 'GET /a': 2 } })
    expect(out).toEqual({ key: 'GET /items', apiKey: '***', secret_key: '***', password: '***', auth: '***', nested: [{ token: '***', name: 'token' }], url: 'redis://:***@h/0', hist: 'HISTFAKE:pw@', entries: { 'GET http://u:***@h/x': 1, 'GET /a': 2 } })
  })
})
