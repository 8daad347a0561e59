/**
 * The outputs of a result: the HTML report, Locust's CSV files (read back with Python's csv
 * module, the one Locust writes them with), JUnit XML (parsed by xml.etree) and the Markdown
 * summary, on a real short run and on hand-built edge cases; and `loadlens report`.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { RunResult } from '../shared/types.js'
import { renderHtml, reportView } from '../reports/html/report.js'
import { EXCEPTIONS_COLUMNS, FAILURES_COLUMNS, HISTORY_COLUMNS, STATS_COLUMNS, locustCsvFiles } from '../reports/csv.js'
import { junitXml } from '../reports/junit.js'
import { markdownSummary, mdText } from '../reports/markdown.js'
import { verdictOf } from '../reports/verdict.js'
import { writeOutputs } from '../app/outputs.js'
import { writeResult } from '../shared/files.js'
import { pythonJson } from './helpers/python.js'
import { runCli } from './helpers/cli.js'
import { HOSTILE, LONG, emptyRun, onlyFailures, realRun, richRun } from './helpers/results.js'

let real: RunResult
const dir = mkdtempSync(join(tmpdir(), 'loadlens-reports-'))

beforeAll(async () => {
  real = await realRun()
})

/** The chart specs embedded in a report page. */
function chartsOf (html: string): Record<string, { title: string; series: Array<{ label: string; values: Array<number | null> }>; bands?: unknown[]; note?: string }> {
  const m = /<script id="loadlens-charts" type="application\/json">([\s\S]*?)<\/script>/.exec(html)
  expect(m).not.toBeNull()
  return JSON.parse(m![1]!)
}

// Locust's exact column names (locust/stats.py, StatsCSV / StatsCSVFileWriter)
const LOCUST_PCT = ['50%', '66%', '75%', '80%', '90%', '95%', '98%', '99%', '99.9%', '99.99%', '100%']
const LOCUST_STATS = ['Type', 'Name', 'Request Count', 'Failure Count', 'Median Response Time', 'Average Response Time', 'Min Response Time', 'Max Response Time', 'Average Content Size', 'Requests/s', 'Failures/s', ...LOCUST_PCT]
const LOCUST_HISTORY = ['Timestamp', 'User Count', 'Type', 'Name', 'Requests/s', 'Failures/s', ...LOCUST_PCT, 'Total Request Count', 'Total Failure Count', 'Total Median Response Time', 'Total Average Response Time', 'Total Min Response Time', 'Total Max Response Time', 'Total Average Content Size']

const READ_CSV = 'import csv, io, json, sys\nprint(json.dumps(list(csv.reader(io.StringIO(sys.stdin.read(), newline="")))))'

describe('HTML report', () => {
  it('a real run: verdict, table, charts over time with data, everything escaped', () => {
    const html = renderHtml(real)
    expect(html).not.toContain('<script>alert(')
    expect(html).toContain('&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;')
    expect(html).toMatch(/class="badge big fail">FAIL</) // about half of /fail failed: over 1 %
    expect(html).toContain('overall failure ratio')
    for (const name of ['/fast', '/slow']) expect(html).toContain(`<td class="name">${name}</td>`)
    const charts = chartsOf(html)
    expect(Object.keys(charts)).toEqual(expect.arrayContaining(['load-users-rps', 'load-failures', 'load-percentiles', 'load-p95-by-name']))
    const rps = charts['load-users-rps']!.series.find(s => s.label === 'req/s')!
    expect(rps.values.filter(v => (v ?? 0) > 0).length).toBeGreaterThanOrEqual(2)
    // no CDN, no external resource: everything inline
    expect(html).not.toMatch(/<(script|link)[^>]+(src|href)=/)
    expect(html).toContain('uPlot')
  })

  it('an empty run renders, says so, and draws no chart', () => {
    const r = emptyRun()
    const html = renderHtml(r)
    expect(html).toContain('No request was made.')
    expect(html).toContain('No request failed.')
    expect(Object.keys(chartsOf(html))).toHaveLength(0)
    expect(verdictOf(r).state).toBe('fail') // expectations with no request cannot pass
    expect(html).toContain('no requests measured')
  })

  it('a run with only failures shows the failures and the early stop', () => {
    const html = renderHtml(onlyFailures())
    expect(html).toContain('ECONNREFUSED')
    expect(html).toContain('refused')
    expect(html).toContain('100.0%')
    expect(html).toContain('the run stopped early: error (the target went away)')
    expect(html).toContain('The profile sets no expectations')
  })

  it('a run without probes has no probe section', () => {
    const html = renderHtml(real)
    expect(html).not.toContain('<section id="probes">')
  })

  it('findings carry their chart: p95 with the evidence series, the window shaded', () => {
    const r = richRun()
    const view = reportView(r)
    expect(view.findings).toHaveLength(1)
    const id = view.findings[0]!.chartId!
    const spec = view.charts[id]!
    // in plain words, with the users as the load
    expect(spec.series.map(s => s.label)).toEqual(['p95 (all requests)', 'app connections busy (active)', 'cache hit rate %', 'users'])
    expect(spec.bands).toEqual([r.diagnosis!.findings[0]!.evidence.window])
    expect(spec.note).toContain('not.a.series')
    // the probe series is on the chart's grid, value for value
    const active = spec.series[1]!.values
    expect(active.slice(0, 4)).toEqual([1, 1, 1, 2])
    expect(spec.scales['ratio']).toMatchObject({ min: 0, max: 1, side: 'right' })
    const html = renderHtml(r)
    expect(html).toContain('data-chart="finding-0"')
    expect(html).toContain('symptoms explained by this cause')
    expect(html).toContain('Enlarge the pool')
    expect(html).toContain('r(latency, users)')
  })

  it('probe panels (collapsed), probe status, the findings before the checklist, cost and metadata; hostile names escaped', () => {
    const r = richRun()
    const html = renderHtml(r)
    const charts = chartsOf(html)
    expect(Object.keys(charts)).toEqual(expect.arrayContaining(['pg-connections', 'redis-hit-rate', 'celery-queue', 'celery-active', 'host-cpu', 'host-memory', 'target-rss', 'probe-0']))
    expect(charts['pg-connections']!.series.map(s => s.label)).toEqual(['active', 'idle', 'idle in transaction'])
    // a gap stays a gap
    expect(charts['pg-connections']!.series[1]!.values[7]).toBeNull()
    // top-down: the verdict, the findings with their proof, then the checklist, then the rest
    expect(html.indexOf('id="verdict"')).toBeLessThan(html.indexOf('id="findings"'))
    expect(html.indexOf('id="findings"')).toBeLessThan(html.indexOf('Pre-deploy checklist'))
    expect(html.indexOf('Pre-deploy checklist')).toBeLessThan(html.indexOf('id="requests"'))
    // the probes' own charts grouped by system, closed until opened
    expect(html).toMatch(/<details class="panel"><summary><h3>PostgreSQL <span class="sub">\d+ charts?<\/span><\/h3><\/summary>/)
    expect(html).toMatch(/class="badge big fail">FAIL</)
    expect(verdictOf(r).summary).toContain('p95 and p99 within targets')
    expect(verdictOf(r).summary).not.toContain('Redis') // advisory items do not decide
    expect(html).toContain('no such file')
    expect(html).toContain('max_connections')
    expect(html).toContain('1.5000 USD')
    expect(html).toContain('postgres://app:***@127.0.0.1/app')
    expect(html).not.toMatch(/<script>alert/)
    expect(html).not.toMatch(/<\/script>&/) // no early end of a script element
    // the long name is shown whole (the table wraps it)
    expect(html).toContain(LONG)
    const m = /<script id="loadlens-charts" type="application\/json">([\s\S]*?)<\/script>/.exec(html)!
    expect(m[1]).not.toContain('<')
  })
})

describe('CSV with Locust\'s names and columns', () => {
  it('headers are exactly Locust\'s, rows match the result (parsed by Python\'s csv)', async () => {
    expect(STATS_COLUMNS).toEqual(LOCUST_STATS)
    expect(HISTORY_COLUMNS).toEqual(LOCUST_HISTORY)
    expect(FAILURES_COLUMNS).toEqual(['Method', 'Name', 'Error', 'Occurrences'])
    expect(EXCEPTIONS_COLUMNS).toEqual(['Count', 'Message', 'Traceback', 'Nodes'])
    const files = locustCsvFiles(real)
    const stats = await pythonJson<string[][]>(READ_CSV, files['_stats.csv'])
    expect(stats[0]).toEqual(LOCUST_STATS)
    const agg = stats.at(-1)!
    expect(agg.slice(0, 4)).toEqual(['', 'Aggregated', String(real.totals.overall.requests), String(real.totals.overall.failures)])
    const hostile = stats.find(r => r[1] === `/fail ${HOSTILE}`)
    expect(hostile).toBeDefined()
    expect(Number(hostile![3])).toBeGreaterThan(0)
    for (const row of stats.slice(1)) {
      expect(row).toHaveLength(LOCUST_STATS.length)
      const pct = row.slice(11).map(Number)
      for (let i = 1; i < pct.length; i++) expect(pct[i]!).toBeGreaterThanOrEqual(pct[i - 1]!)
    }
    const history = await pythonJson<string[][]>(READ_CSV, files['_stats_history.csv'])
    expect(history[0]).toEqual(LOCUST_HISTORY)
    const aggRows = history.filter(r => r[3] === 'Aggregated')
    expect(aggRows).toHaveLength(real.timeline.length)
    // the Total Request Count of the last second is the run's total
    expect(Number(aggRows.at(-1)![17])).toBe(real.totals.overall.requests)
    const failures = await pythonJson<string[][]>(READ_CSV, files['_failures.csv'])
    expect(failures[0]).toEqual(['Method', 'Name', 'Error', 'Occurrences'])
    expect(failures[1]).toEqual(['GET', `/fail ${HOSTILE}`, 'HTTP 500', String(real.errors[0]!.count)])
  })

  it('an empty run gives headers, the Aggregated row with N/A percentiles, and no history', async () => {
    const files = locustCsvFiles(emptyRun())
    const stats = await pythonJson<string[][]>(READ_CSV, files['_stats.csv'])
    expect(stats).toHaveLength(2)
    expect(stats[1]!.slice(0, 4)).toEqual(['', 'Aggregated', '0', '0'])
    expect(stats[1]!.slice(11)).toEqual(LOCUST_PCT.map(() => 'N/A'))
    expect(await pythonJson<string[][]>(READ_CSV, files['_stats_history.csv'])).toEqual([LOCUST_HISTORY])
  })

  it('exceptions have a multi-line traceback quoted', async () => {
    const r = richRun()
    r.exceptions[0]!.stack = 'line 1\nline "2", here'
    const rows = await pythonJson<string[][]>(READ_CSV, locustCsvFiles(r)['_exceptions.csv'])
    expect(rows[1]![2]).toBe('line 1\nline "2", here')
    expect(rows[1]![0]).toBe('3')
  })
})

const READ_JUNIT = `
import json, sys, xml.etree.ElementTree as ET
root = ET.fromstring(sys.stdin.read())
out = {"tag": root.tag, "tests": root.get("tests"), "failures": root.get("failures"), "suites": []}
for s in root.findall("testsuite"):
    cases = []
    for c in s.findall("testcase"):
        f = c.find("failure")
        cases.append({"name": c.get("name"), "classname": c.get("classname"), "failure": None if f is None else {"type": f.get("type"), "message": f.get("message")}, "skipped": c.find("skipped") is not None})
    out["suites"].append({"name": s.get("name"), "tests": s.get("tests"), "failures": s.get("failures"), "skipped": s.get("skipped"), "cases": cases})
print(json.dumps(out))
`

interface JUnit { tag: string; tests: string; failures: string; suites: Array<{ name: string; tests: string; failures: string; skipped: string; cases: Array<{ name: string; classname: string; failure: { type: string; message: string } | null; skipped: boolean }> }> }

describe('JUnit XML', () => {
  it('expectations as test cases, failures as <failure> (parsed by xml.etree)', async () => {
    const j = await pythonJson<JUnit>(READ_JUNIT, junitXml(real))
    expect(j.tag).toBe('testsuites')
    const exp = j.suites.find(s => s.name.endsWith(' expectations'))!
    const cases = exp.cases
    expect(cases.map(c => c.name)).toEqual(['overall failure ratio', 'overall p95', 'GET /fast p99'])
    expect(cases[0]!.failure).toMatchObject({ type: 'expectation' })
    expect(cases[1]!.failure).toBeNull()
    expect(exp.failures).toBe('1')
    // the run's checklist (when the run made one) is a suite of its own
    const items = real.checklist ?? []
    const all = j.suites.flatMap(s => s.cases)
    expect(Number(j.tests)).toBe(all.length)
    expect(all.length).toBe(3 + items.length)
    expect(Number(j.failures)).toBe(all.filter(c => c.failure).length)
    if (items.length) {
      const cl = j.suites.find(s => s.name.endsWith(' checklist'))!
      expect(cl.cases.map(c => c.name)).toEqual(items.map(i => i.title))
      expect(cl.cases.filter(c => c.skipped)).toHaveLength(items.filter(i => i.state === 'not measured').length)
    }
  })

  it('checklist items as test cases: fail, advisory, not measured; hostile text survives', async () => {
    const r = richRun()
    const j = await pythonJson<JUnit>(READ_JUNIT, junitXml(r))
    const checklist = j.suites.find(s => s.name.endsWith('checklist'))!
    expect(checklist.cases.map(c => c.name)).toEqual(r.checklist!.map(i => i.title))
    expect(checklist.cases[0]!.failure).toBeNull()
    expect(checklist.cases[1]!.failure!.type).toBe('checklist')
    expect(checklist.cases[1]!.failure!.message).toContain(HOSTILE)
    expect(checklist.cases[2]!.failure!.type).toBe('advisory')
    expect(checklist.cases[3]!.skipped).toBe(true)
    expect(checklist.skipped).toBe('1')
    const expectations = j.suites.find(s => s.name.endsWith('expectations'))!
    expect(expectations.cases.map(c => c.name)).toEqual(['overall failure ratio', 'overall p95', 'overall p99'])
    expect(j.suites[0]!.name).toContain(HOSTILE)
  })

  it('a run without criteria still yields one case, failed when the run broke', async () => {
    const j = await pythonJson<JUnit>(READ_JUNIT, junitXml(onlyFailures()))
    expect(j.suites[0]!.cases).toEqual([expect.objectContaining({ name: 'run completed', failure: expect.objectContaining({ type: 'run' }) })])
    const x = junitXml(emptyRun())
    expect((await pythonJson<JUnit>(READ_JUNIT, x)).tests).toBe('2')
  })
})

describe('Markdown summary', () => {
  it('verdict, expectations, table; names cannot inject HTML or break the table', () => {
    const md = markdownSummary(real)
    expect(md).toMatch(/^### ❌ loadlens: FAIL — report-fixture \/ short/)
    const failed = real.checklist?.find(i => i.state === 'fail')
    expect(md).toContain(failed ? `| ❌ | ${mdText(failed.title)} |` : '| ❌ | overall failure ratio |')
    expect(md).not.toContain('<script>')
    expect(md).toContain('&lt;script&gt;')
    const rows = md.split('\n').filter(l => l.startsWith('| GET |'))
    expect(rows).toHaveLength(3)
    // every table row has the same number of unescaped cell separators
    for (const l of rows) expect(l.replace(/\\\|/g, '').split('|').length).toBe(11)
  })

  it('checklist, findings and recommendations from a rich result', () => {
    const md = markdownSummary(richRun())
    expect(md).toContain('#### Checklist')
    expect(md).toContain('➖ | Logs hold no critical errors')
    expect(md).toContain('❌ (advisory) | Redis cache hit rate above 85%')
    expect(md).toContain('#### Findings')
    expect(md).toContain('Enlarge the pool')
    expect(md).toContain('<details><summary>Failures</summary>')
  })

  it('mdText cuts long names and escapes markup', () => {
    expect(mdText('a|b*c_d<e>', 200)).toBe('a\\|b\\*c\\_d&lt;e&gt;')
    expect(mdText(LONG, 50)).toHaveLength(50)
  })
})

describe('writing the outputs', () => {
  it('writes the HTML report beside the JSON by default, and CSV, JUnit, Markdown when asked, atomically', () => {
    const out = join(dir, 'a')
    const files = writeOutputs(richRun(), { outDir: out, csv: join(out, 'csv', 'run'), junit: join(out, 'junit.xml'), md: join(out, 'summary.md') })
    expect(Object.keys(files).sort()).toEqual(['csv-exceptions', 'csv-failures', 'csv-history', 'csv-stats', 'html', 'json', 'junit', 'md'])
    expect(files.html).toBe(join(out, 'rich-run.html'))
    expect(files['csv-stats']).toBe(join(out, 'csv', 'run_stats.csv'))
    for (const f of Object.values(files)) expect(readFileSync(f, 'utf8').length).toBeGreaterThan(20)
    expect(readdirSync(out).filter(f => f.endsWith('.tmp'))).toEqual([])
    const none = writeOutputs(richRun(), { outDir: join(dir, 'b'), noHtml: true })
    expect(Object.keys(none)).toEqual(['json'])
  })

  it('`loadlens report` re-renders a stored result; a bad file is one line and exit 2', async () => {
    const file = join(dir, 'stored.json')
    writeResult(file, real)
    const r = await runCli(['report', file, '--csv', join(dir, 'r'), '--md', join(dir, 'r.md'), '--junit', join(dir, 'r.xml')])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`CSV stats: ${join(dir, 'r')}_stats.csv`)
    expect(existsSync(join(dir, 'r_stats_history.csv'))).toBe(true)
    expect(existsSync(join(dir, 'stored.html'))).toBe(false)
    const d = await runCli(['report', file])
    expect(d.stdout).toContain(`HTML report: ${join(dir, 'stored.html')}`)
    expect(readFileSync(join(dir, 'stored.html'), 'utf8')).toContain('report-fixture')
    writeFileSync(join(dir, 'bad.json'), '{"nope": 1}')
    const bad = await runCli(['report', join(dir, 'bad.json')])
    expect(bad.code).toBe(2)
    expect(bad.stderr.trim().split('\n')).toHaveLength(1)
    expect(bad.stderr).toContain('not a loadlens result')
  })
})
