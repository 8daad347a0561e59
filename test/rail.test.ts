/**
 * The loopback rail holds for every request at the moment it is sent, not only for --host:
 * inside a network namespace with only loopback (`unshare -n`, from which no packet can
 * leave), a loopback target that redirects to 10.0.0.1 and a task with an absolute URL to it
 * make requests that fail as "blocked" without a connection being tried (in this namespace
 * a tried connection would fail as ENETUNREACH instead), and `foo.localhost`, a name that
 * does not resolve to loopback here, is refused before any load.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BIN, ROOT } from './helpers/cli.js'

// root (or CAP_SYS_ADMIN) is needed for a network namespace; CI runs as root
const canUnshare = spawnSync('unshare', ['-n', 'true']).status === 0
const hasLocust = spawnSync('/usr/bin/python3', ['-c', 'import locust']).status === 0

function inNamespace (script: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('unshare', ['-n', 'sh', '-c', `ip link set lo up && ${script}`], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe('the loopback rail, in a network namespace with only loopback', () => {
  it.skipIf(!canUnshare)('redirects and absolute URLs to a host outside loopback are not sent; foo.localhost is refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'loadlens-rail-'))
    writeFileSync(join(dir, 'server.mjs'), `
import { createServer } from 'node:http'
const s = createServer((req, res) => {
  if (req.url === '/r') { res.writeHead(302, { location: 'http://10.0.0.1/elsewhere' }); res.end(); return }
  if (req.url === '/local-r') { res.writeHead(302, { location: '/ok' }); res.end(); return }
  res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"ok":true}')
})
s.listen(0, '127.0.0.1', () => console.log(s.address().port))
`)
    writeFileSync(join(dir, 'scenario.ts'), `
import { defineScenario, constant } from 'loadlens'
export default defineScenario({
  name: 'rail',
  users: { U: { wait: constant(0.05), tasks: {
    redirect: async (u) => { await u.http.get('/r') },
    local: async (u) => { await u.http.get('/local-r') },
    absolute: async (u) => { await u.http.get('http://10.0.0.1/abs', { name: 'absolute' }) }
  } } },
  profiles: { p: { users: 2, spawnRate: 10, runTime: '2s' } }
})
`)
    const out = join(dir, 'r.json')
    const port = join(dir, 'port')
    const r = inNamespace(`node ${join(dir, 'server.mjs')} > ${port} & SERVER=$!; for i in $(seq 1 100); do [ -s ${port} ] && break; sleep 0.1; done; ` +
      `node ${BIN} run ${join(dir, 'scenario.ts')} --profile p --host http://127.0.0.1:$(cat ${port}) --json ${out} --no-html -q --no-host-probe; echo exit=$?; ` +
      `node ${BIN} run ${join(dir, 'scenario.ts')} --profile p --host http://foo.localhost:$(cat ${port}) -q; echo exit2=$?; kill $SERVER`)
    expect(r.stdout, r.stderr).toMatch(/exit=[01]\b/)
    const result = JSON.parse(readFileSync(out, 'utf8'))
    const errors = result.errors as Array<{ name: string; kind: string; status?: number; message: string; count: number }>
    const redirect = errors.find(e => e.name === '/r')!
    expect(redirect.kind).toBe('blocked')
    expect(redirect.status).toBe(302)
    expect(redirect.message).toBe('redirect to http://10.0.0.1 not followed: http://10.0.0.1 is not loopback and not in the scenario\'s allowedHosts')
    const absolute = errors.find(e => e.name === 'absolute')!
    expect(absolute.kind).toBe('blocked')
    expect(absolute.message).toMatch(/^not sent: http:\/\/10\.0\.0\.1 is not loopback/)
    // nothing was tried: a connection from this namespace would have failed as unreachable
    expect(errors.some(e => /ENETUNREACH|EHOSTUNREACH|connect/i.test(e.message))).toBe(false)
    // a redirect on loopback is still followed
    expect(errors.some(e => e.name === '/local-r')).toBe(false)
    expect(result.totals.entries.find((e: any) => e.name === '/local-r').requests).toBeGreaterThan(5)
    // a *.localhost name that does not resolve to loopback is refused before any load
    expect(r.stdout).toMatch(/exit2=2/)
    expect(r.stderr).toMatch(/--host: refusing to send load to http:\/\/foo\.localhost:\d+: it does not resolve, so it cannot be shown to be loopback/)
  }, 90_000)

  it.skipIf(!canUnshare)('a name is checked at every connection, with the resolver\'s answer of that moment; redirects to such a name or to a file: URL are not followed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'loadlens-rail-dns-'))
    // the namespace's own /etc/hosts (a mount namespace too): good.localhost on loopback, evil.localhost outside
    const hosts = join(dir, 'hosts')
    writeFileSync(hosts, '127.0.0.1 localhost\n127.0.0.1 good.localhost\n10.0.0.1 evil.localhost\n')
    writeFileSync(join(dir, 'server.mjs'), `
import { createServer } from 'node:http'
import { writeFileSync } from 'node:fs'
let oks = 0
const s = createServer((req, res) => {
  // after the tenth /ok the test moves the name (the marker file tells it when)
  if (req.url === '/ok' && ++oks === 10) writeFileSync(${JSON.stringify(join(dir, 'ten-ok'))}, 'x')
  // every response closes its connection: each request connects (and resolves) anew
  if (req.url === '/r-evil') { res.writeHead(302, { location: 'http://evil.localhost:' + s.address().port + '/x', connection: 'close' }); res.end(); return }
  if (req.url === '/r-file') { res.writeHead(302, { location: 'file:///etc/passwd', connection: 'close' }); res.end(); return }
  res.writeHead(200, { 'content-type': 'application/json', connection: 'close' }); res.end('{"ok":true}')
})
s.listen(0, '127.0.0.1', () => console.log(s.address().port))
`)
    writeFileSync(join(dir, 'scenario.ts'), `
import { defineScenario, constant } from 'loadlens'
export default defineScenario({
  name: 'rail-dns',
  users: { U: { wait: constant(0.05), tasks: {
    ok: async (u) => { await u.http.get('/ok') },
    evil: async (u) => { await u.http.get('/r-evil') },
    file: async (u) => { await u.http.get('/r-file') }
  } } },
  profiles: { p: { users: 2, spawnRate: 10, runTime: '4s' } }
})
`)
    const out = join(dir, 'r.json')
    const port = join(dir, 'port')
    const r = spawnSync('unshare', ['-n', '-m', 'sh', '-c', `ip link set lo up && mount --bind ${hosts} /etc/hosts && ` +
      `node ${join(dir, 'server.mjs')} > ${port} & SERVER=$!; for i in $(seq 1 100); do [ -s ${port} ] && break; sleep 0.1; done; ` +
      // once the run has had ten /ok answered, the resolver maps good.localhost outside loopback (the file rewritten in place)
      `(for i in $(seq 1 300); do [ -e ${join(dir, 'ten-ok')} ] && break; sleep 0.1; done; printf '127.0.0.1 localhost\\n10.0.0.1 good.localhost\\n10.0.0.1 evil.localhost\\n' > ${hosts}) & ` +
      `node ${BIN} run ${join(dir, 'scenario.ts')} --profile p --host http://good.localhost:$(cat ${port}) --json ${out} --no-html -q --no-host-probe; echo exit=$?; ` +
      `node ${BIN} run ${join(dir, 'scenario.ts')} --profile p --host http://evil.localhost:$(cat ${port}) -q; echo exit2=$?; kill $SERVER`], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 })
    expect(r.stdout, r.stderr).toMatch(/exit=\d/)
    const result = JSON.parse(readFileSync(out, 'utf8'))
    const errors = result.errors as Array<{ name: string; kind: string; message: string; count: number }>
    const entry = (n: string): { requests: number; failures: number } => result.totals.entries.find((e: any) => e.name === n)
    // before the change the name led to loopback: requests went through
    expect(entry('/ok').requests - entry('/ok').failures).toBeGreaterThan(5)
    // after it, each new connection resolved the name again, found 10.0.0.1 and did not connect
    const moved = errors.find(e => e.name === '/ok')
    expect(moved, JSON.stringify(errors)).toBeDefined()
    expect(moved!.kind).toBe('blocked')
    expect(moved!.message).toMatch(/^not connected: good\.localhost resolves to 10\.0\.0\.1, not loopback/)
    // a redirect to a name outside loopback, and to a file: URL, is not followed
    // (after the change the request to good.localhost itself is not connected either: a group of its own)
    const evil = errors.find(e => e.name === '/r-evil' && e.message.startsWith('redirect'))!
    expect(evil, JSON.stringify(errors)).toBeDefined()
    expect(evil.kind).toBe('blocked')
    expect(evil.message).toMatch(/^redirect to http:\/\/evil\.localhost:\d+ not followed: http:\/\/evil\.localhost:\d+ resolves to 10\.0\.0\.1, not loopback/)
    const file = errors.find(e => e.name === '/r-file' && e.message.startsWith('redirect'))!
    expect(file.kind).toBe('blocked')
    expect(file.message).toBe('redirect to a file: URL not followed: only http: and https: are')
    // nothing was tried: a connection from this namespace would have failed as unreachable
    expect(errors.some(e => /ENETUNREACH|EHOSTUNREACH/i.test(e.message))).toBe(false)
    // a name that resolves outside loopback is refused before any load
    expect(r.stdout).toMatch(/exit2=2/)
    expect(r.stderr).toMatch(/--host: refusing to send load to http:\/\/evil\.localhost:\d+: it resolves to 10\.0\.0\.1, not loopback/)
  }, 90_000)

  it.skipIf(!canUnshare || !hasLocust)('a locustfile\'s absolute URLs and redirects to a host outside loopback are not sent; a non-loopback host is refused before Locust starts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'loadlens-rail-locust-'))
    writeFileSync(join(dir, 'server.mjs'), `
import { createServer } from 'node:http'
const s = createServer((req, res) => {
  if (req.url === '/r') { res.writeHead(302, { location: 'http://10.0.0.1/elsewhere' }); res.end(); return }
  res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"ok":true}')
})
s.listen(0, '127.0.0.1', () => console.log(s.address().port))
`)
    writeFileSync(join(dir, 'locustfile.py'), `
from locust import HttpUser, task, constant
from locust.contrib.fasthttp import FastHttpUser

class Requests(HttpUser):
    wait_time = constant(0.05)
    @task
    def absolute(self):
        self.client.get("http://10.0.0.1/abs", name="absolute")
    @task
    def redirect(self):
        self.client.get("/r")
    @task
    def ok(self):
        self.client.get("/ok")

class Fast(FastHttpUser):
    wait_time = constant(0.05)
    @task
    def absolute(self):
        self.client.get("http://10.0.0.1/fast-abs", name="fast absolute")
`)
    const out = join(dir, 'r.json')
    const port = join(dir, 'port')
    const r = inNamespace(`node ${join(dir, 'server.mjs')} > ${port} & SERVER=$!; for i in $(seq 1 100); do [ -s ${port} ] && break; sleep 0.1; done; ` +
      `node ${BIN} locust ${join(dir, 'locustfile.py')} -u 4 -r 4 -t 3s --host http://127.0.0.1:$(cat ${port}) --json ${out} --no-html -q --no-host-probe --headless; echo exit=$?; ` +
      `node ${BIN} locust ${join(dir, 'locustfile.py')} -t 3s --host http://10.0.0.1:8000 -q --headless; echo exit2=$?; kill $SERVER`)
    expect(r.stdout, r.stderr).toMatch(/exit=\d/)
    const result = JSON.parse(readFileSync(out, 'utf8'))
    const errors = result.errors as Array<{ name: string; kind: string; message: string; count: number }>
    for (const name of ['absolute', '/r', 'fast absolute']) {
      const e = errors.find(x => x.name === name)
      expect(e, name).toBeDefined()
      expect(e!.kind, `${name}: ${e!.message}`).toBe('blocked')
      expect(e!.message).toMatch(/loadlens: not sent: 10\.0\.0\.1 is not loopback/)
    }
    // nothing was tried: a connection from this namespace would have failed as unreachable
    expect(errors.some(e => /unreachable|ENETUNREACH|Errno 101/i.test(e.message))).toBe(false)
    expect(result.totals.entries.find((e: any) => e.name === '/ok').failures).toBe(0)
    // a host outside loopback: refused before Locust starts
    expect(r.stdout).toMatch(/exit2=2/)
    expect(r.stderr).toMatch(/refusing to send load to http:\/\/10\.0\.0\.1:8000/)
  }, 90_000)
})

