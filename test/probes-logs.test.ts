/**
 * The logs probe: levels read from real log formats (Python logging, JSON/pino, logfmt,
 * bracketed), prose is not a level; a followed file counts appended lines per second by
 * level, survives rotation and truncation, keeps examples (a traceback with its frames,
 * passwords redacted); a command's output is counted, and a command that exits is a gap.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { appendFileSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { classify, LogsProbe } from '../probes/logs.js'
import { ProbeScheduler } from '../probes/scheduler.js'
import type { Series } from '../shared/types.js'
import { sleep } from './helpers/server.js'

const dir = mkdtempSync(join(tmpdir(), 'loadlens-logs-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function total (series: Series[], level: string): number {
  const s = series.find(x => x.id === `logs.lines_per_s{level="${level}"}`)
  // 1 s interval: per-second rates sum to about the counts
  return Math.round((s?.points ?? []).reduce((a, p) => a + (p[1] ?? 0), 0))
}

describe('log levels', () => {
  it('reads levels from common formats and not from prose', () => {
    expect(classify('2026-01-01 10:00:00,123 ERROR app.views: boom')).toBe('error')
    expect(classify('[2026-01-01 10:00:00] CRITICAL: database down')).toBe('critical')
    expect(classify('WARNING:root:slow request')).toBe('warning')
    expect(classify('{"level":50,"msg":"failed"}')).toBe('error')
    expect(classify('{"level":60,"msg":"dead"}')).toBe('critical')
    expect(classify('{"level":"warn","msg":"retrying"}')).toBe('warning')
    expect(classify('{"level":"info","msg":"ERROR count is 0"}')).toBe('other')
    expect(classify('time=1 level=error msg="x"')).toBe('error')
    expect(classify('[error] upstream timed out')).toBe('error')
    expect(classify('Traceback (most recent call last):')).toBe('traceback')
    expect(classify('INFO: no error found, all fine')).toBe('other')
    expect(classify('GET /health 200')).toBe('other')
  })
})

describe('logs probe', () => {
  it('follows a file through rotation and truncation, counting by level with examples', async () => {
    const file = join(dir, 'app.log')
    writeFileSync(file, 'ERROR before the run: not counted\n')
    const probe = new LogsProbe({ file })
    const s = new ProbeScheduler([probe], { intervalMs: 1000 })
    await s.start()
    appendFileSync(file, [
      'INFO started',
      'ERROR db error for postgres://app:s3cret-pw@db:5432/app',
      'WARNING slow',
      'Traceback (most recent call last):',
      '  File "app.py", line 3, in handler',
      '    raise ValueError("bad")',
      'ValueError: bad',
      'CRITICAL out of memory',
      ''
    ].join('\n'))
    await sleep(1300)
    renameSync(file, file + '.1')
    appendFileSync(file + '.1', 'ERROR written to the old file after the rename\n')
    writeFileSync(file, 'ERROR in the new file\nWARNING in the new file\n')
    await sleep(1200)
    truncateSync(file, 0)
    appendFileSync(file, 'ERROR after truncation\npartial line without newline')
    await sleep(1300)
    await s.stop()
    const series = s.series()
    const st = s.status()[0]!
    const facts = st.facts as any
    expect(facts.lines).toMatchObject({ error: 4, warning: 2, critical: 1, traceback: 1 })
    // the per-second series carry the same lines (rates over intervals of about a second)
    expect(total(series, 'error')).toBeGreaterThanOrEqual(3)
    expect(total(series, 'critical')).toBeGreaterThanOrEqual(1)
    expect(facts.rotations).toBe(1)
    expect(facts.truncations).toBe(1)
    expect(facts.examples.error[0].line).toContain('db error')
    expect(facts.examples.traceback[0].line).toContain('ValueError: bad')
    expect(facts.examples.traceback[0].line).toContain('line 3')
    expect(JSON.stringify(st)).not.toContain('s3cret-pw')
  })

  it('counts the output of a command; a command that exits is a gap and is restarted', async () => {
    const cmd = 'i=0; while [ $i -lt 4 ]; do echo "ERROR e$i"; echo "WARNING w$i" 1>&2; i=$((i+1)); sleep 0.3; done; exit 3'
    const probe = new LogsProbe({ command: cmd })
    const s = new ProbeScheduler([probe], { intervalMs: 1000, maxBackoffMs: 1000 })
    await s.start()
    await sleep(3500)
    await s.stop()
    const series = s.series()
    expect(total(series, 'error')).toBeGreaterThanOrEqual(3)
    const st = s.status()[0]!
    expect((st.facts as any).lines.error).toBeGreaterThanOrEqual(4)
    expect((st.facts as any).lines.warning).toBeGreaterThanOrEqual(4)
    expect(st.gaps.length).toBeGreaterThanOrEqual(1)
    expect(st.gaps[0]!.reason).toBe('the command exited (code 3)')
    expect((st.facts as any).commandRestarts).toBeGreaterThanOrEqual(1)
  })

  it('cannot start on a missing file or a command that fails at once', async () => {
    await expect(new LogsProbe({ file: join(dir, 'missing.log') }).start()).rejects.toThrow(/--log .*missing\.log: ENOENT/)
    const bad = new LogsProbe({ command: 'exit 7' })
    await expect(bad.start()).rejects.toThrow(/--log-command: the command exited \(code 7\)/)
    await bad.stop()
  })
})
