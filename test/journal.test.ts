/**
 * Nothing measured is lost when loadlens is killed: while a run goes on, each second lands in
 * its journal (<run id>.journal.jsonl in the output folder), flushed to disk; after `kill -9`
 * `loadlens recover <journal>` (or `loadlens report <journal>`) rebuilds the result, the
 * diagnosis and the reports from it. A run that ends normally removes its journal.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { json, sleep, startServer } from './helpers/server.js'
import type { TestServer } from './helpers/server.js'
import { runCli, startCli } from './helpers/cli.js'
import { Journal, recoverJournal } from '../app/journal.js'
import { Recorder } from '../loadgen/recorder.js'
import { writeOutputsSafely } from '../app/outputs.js'

let s: TestServer
/** requests the server answered */
let served = 0
beforeAll(async () => { s = await startServer((_req, res) => { served++; json(res, 200, { items: [1, 2] }) }, { record: false }) })
afterAll(async () => { await s.close() })

const EXAMPLE = 'scenarios/example/scenario.ts'
const JOURNAL_SECRET = 'journal-secret-4242'

describe('the run journal', () => {
  it('after kill -9, recover rebuilds the result, its diagnosis and its reports from the journal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loadlens-journal-'))
    // a password in the host: the journal outlives the run, so it must not hold it either
    const { child, done } = startCli(['run', EXAMPLE, '--host', s.url.replace('http://', `http://tester:${JOURNAL_SECRET}@`), '-u', '4', '-r', '20', '-t', '5m', '--out-dir', dir, '--headless', '-q'])
    // wait until a few seconds are on disk
    let journal = ''
    for (let i = 0; i < 100 && !journal; i++) {
      await sleep(100)
      journal = readdirSync(dir).find(f => f.endsWith('.journal.jsonl')) ?? ''
    }
    expect(journal).not.toBe('')
    await sleep(4200)
    child.kill('SIGKILL')
    await done
    const answered = served
    const journalText = readFileSync(join(dir, journal), 'utf8')
    expect(journalText).not.toContain(JOURNAL_SECRET)
    expect(journalText).toContain('tester:***@')
    const lines = journalText.trim().split('\n')
    expect(lines.filter(l => l.startsWith('{"type":"second"')).length).toBeGreaterThanOrEqual(3)
    // nothing was written but the journal
    expect(readdirSync(dir).filter(f => f.endsWith('.json'))).toEqual([])

    const r = await runCli(['recover', join(dir, journal), '--csv', join(dir, 'rec')])
    expect(r.code).toBe(130)
    expect(r.stdout).toMatch(/recovered \d+ seconds of load/)
    expect(r.stdout).toMatch(/stopped: interrupted \(recovered from the journal/)
    expect(r.stdout).toMatch(/Pre-deploy checklist/)
    const jsonFile = join(dir, journal.replace('.journal.jsonl', '.json'))
    expect(existsSync(jsonFile)).toBe(true)
    expect(existsSync(jsonFile.replace(/\.json$/, '.html'))).toBe(true)
    expect(existsSync(join(dir, 'rec_stats.csv'))).toBe(true)
    const result = JSON.parse(readFileSync(jsonFile, 'utf8'))
    expect(result.meta.stopReason).toBe('interrupted')
    expect(result.timeline.length).toBeGreaterThanOrEqual(3)
    // what the server answered, but for the last second or two that had not reached the disk
    expect(result.totals.overall.requests).toBeGreaterThan(5)
    expect(result.totals.overall.requests).toBeLessThanOrEqual(answered)
    expect(result.totals.overall.requests).toBeGreaterThanOrEqual(answered * 0.5)
    // every request of the timeline is in the totals (the same aggregation as a live run)
    expect(result.timeline.reduce((a: number, t: any) => a + t.overall.requests, 0)).toBe(result.totals.overall.requests)
    // the probes' points came back too (the host and the generator probes are on by default)
    // (every point of the journal: counted there by its series' index)
    const docs = lines.map(l => JSON.parse(l))
    const cpuIndex = docs.find(d => d.type === 'series' && d.probe === 'host' && d.metric === 'cpu')?.i
    const journalled = docs.flatMap(d => d.points ?? []).filter((p: number[]) => p[0] === cpuIndex).length
    expect(journalled).toBeGreaterThanOrEqual(1)
    expect(result.probes.series.find((x: any) => x.id === 'host.cpu')?.points.length).toBe(journalled)
    expect(result.diagnosis.phases.length).toBeGreaterThan(0)

    // `report` on a journal does the same
    const r2 = await runCli(['report', join(dir, journal), '--md', join(dir, 'rec.md')])
    expect(r2.code).toBe(0)
    expect(readFileSync(join(dir, 'rec.md'), 'utf8')).toMatch(/interrupted/)
  }, 60_000)

  it('a run that ends normally leaves no journal behind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loadlens-journal-ok-'))
    const r = await runCli(['run', EXAMPLE, '--host', s.url, '-u', '2', '-r', '20', '-t', '2s', '--out-dir', dir, '--headless', '-q'])
    expect(r.code).not.toBe(null)
    expect(readdirSync(dir).filter(f => f.endsWith('.journal.jsonl'))).toEqual([])
    expect(readdirSync(dir).filter(f => f.endsWith('.json'))).toHaveLength(1)
  })

  it('a journal that cannot be written any more (a full disk) says so once, and the run goes on', () => {
    const dir = mkdtempSync(join(tmpdir(), 'loadlens-journal-full-'))
    // writes to /dev/full fail with ENOSPC, as on a full disk
    const path = join(dir, 'run.journal.jsonl')
    symlinkSync('/dev/full', path)
    const told: string[] = []
    const j = new Journal(path, { meta: { runId: 'r' } as any, probes: [] }, m => told.push(m))
    j.point({ probe: 'host', metric: 'cpu', unit: 'percent', t: 1, value: 5 })
    const rec = new Recorder()
    rec.record('GET', '/x', 1000, 10)
    expect(() => j.second(rec.closeSlice(1, 1))).not.toThrow()
    expect(() => j.second(rec.closeSlice(2, 1))).not.toThrow()
    j.close(true)
    expect(told).toHaveLength(1)
    expect(told[0]).toMatch(/the journal .* could not be written \(ENOSPC: no space left on device.*\): it stops here; the result is still written at the end/)
  })

  it('recovery keeps the probes\' gaps (the checklist counts them) and the request-names warning', () => {
    const dir = mkdtempSync(join(tmpdir(), 'loadlens-journal-gaps-'))
    const path = join(dir, 'run.journal.jsonl')
    const t0 = 1_800_000_000
    const j = new Journal(path, { meta: { runId: 'r', startedAt: t0 * 1000, options: { maxNames: 2 } } as any, probes: [{ probe: 'pg', target: 'postgres://u:***@h/db', state: 'ok' }] })
    const rec = new Recorder(2)
    for (let i = 0; i < 10; i++) {
      // the database went away for seconds 3-6
      j.point({ probe: 'pg', metric: 'connections', labels: { state: 'active' }, unit: 'count', t: t0 + i, value: i >= 3 && i <= 6 ? null : 2 })
      for (const n of ['/a', '/b', `/item/${i}`]) rec.record('GET', n, 2000, 10)
      j.second(rec.closeSlice(t0 + i, 2))
    }
    j.close(false)
    const { result } = recoverJournal(path)
    expect(result.probes.status.find(x => x.probe === 'pg')!.gaps.map(g => [g.from - t0, g.to - t0])).toEqual([[3, 6]])
    expect(result.meta.nameOverflow?.limit).toBe(2)
    expect(result.meta.nameOverflow?.examples[0]).toMatch(/^GET \/item\/\d$/)
  })

  it('a file that is not a journal is one clear line and exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loadlens-journal-bad-'))
    const bad = join(dir, 'x.journal.jsonl')
    writeFileSync(bad, '{"hello": 1}\n')
    const r = await runCli(['recover', bad])
    expect(r.code).toBe(2)
    expect(r.stderr.trim()).toBe(`loadlens: ${bad}: not a loadlens journal (its first line is not a journal header)`)
  })
})

describe('outputs are checked before the load starts', () => {
  it('when an output still cannot be written at the end, the result goes to the temp folder, redacted, and says what failed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loadlens-fallback-'))
    const r = await runCli(['run', EXAMPLE, '--host', s.url.replace('http://', `http://tester:${JOURNAL_SECRET}@`), '-u', '2', '-r', '20', '-t', '1s', '--json', join(dir, 'out', 'r.json'), '--headless', '-q'])
    expect(r.code).not.toBe(null)
    // (the check before the run passed; the folder then went away: here, a result written again into a folder that is now a file)
    const result = JSON.parse(readFileSync(join(dir, 'out', 'r.json'), 'utf8'))
    rmSync(join(dir, 'out'), { recursive: true })
    writeFileSync(join(dir, 'out'), 'not a folder')
    const unredacted = { ...result, meta: { ...result.meta, host: s.url.replace('http://', `http://tester:${JOURNAL_SECRET}@`) } }
    const { files, failed } = writeOutputsSafely(unredacted, { json: join(dir, 'out', 'r.json') })
    expect(failed.join(' ')).toMatch(/ENOTDIR|EEXIST|not a directory/)
    expect(files.json).toBe(join(tmpdir(), `${result.meta.runId}.json`))
    const fallback = readFileSync(files.json!, 'utf8')
    expect(fallback).not.toContain(JOURNAL_SECRET)
    expect(JSON.parse(fallback).meta.host).toMatch(/^http:\/\/tester:\*\*\*@127\.0\.0\.1:\d+$/)
    rmSync(files.json!, { force: true })
  })

  it('an unwritable output path is a usage error naming the flag, and nothing runs', async () => {
    const before = served
    const r = await runCli(['run', EXAMPLE, '--host', s.url, '-u', '2', '-t', '30s', '--json', 'README.md/r.json'])
    expect(r.code).toBe(2)
    expect(r.stderr.trim()).toBe("loadlens: --json: cannot write README.md/r.json (README.md is a file, not a directory)")
    const r2 = await runCli(['run', EXAMPLE, '--host', s.url, '-u', '2', '-t', '30s', '--out-dir', '/proc/loadlens'])
    expect(r2.code).toBe(2)
    expect(r2.stderr).toMatch(/--out-dir: cannot write into \/proc\/loadlens/)
    // no load was sent
    expect(served).toBe(before)
  })
})
