/**
 * `npm run bench -- accuracy [--cases=FILTER] [--record] [--replay]`: the case matrix
 * (bench/matrix.ts) run live against the demo targets, each case once; prints what each
 * run found, then precision, recall, top-1 accuracy and false findings on healthy cases, per
 * set (tuning, held-out), per target and per load. FILTER selects cases (comma-separated
 * terms that must all match: a target, a fault, a load like 50u, a set, or an id).
 * --record writes each run to the corpus (test/fixtures/cases); --replay scores the recorded
 * corpus with this version's diagnose() instead of running anything.
 */
import { diagnose } from '../correlate/diagnose.js'
import { judge, runMode, score } from './accuracy-harness.js'
import type { Judged } from './accuracy-harness.js'
import { selectCases } from './matrix.js'
import type { CaseSpec } from './matrix.js'
import { readCase, readIndex, writeCase } from './corpus.js'
import type { ExternalCaseSpec } from './corpus.js'
import { versions } from '../app/versions.js'

function arg (name: string): string | undefined {
  const a = process.argv.find(x => x === `--${name}` || x.startsWith(`--${name}=`))
  if (!a) return undefined
  return a.includes('=') ? a.slice(name.length + 3) : ''
}

type Row = Judged & { label: string; spec: CaseSpec | ExternalCaseSpec }

export function printScores (rows: Row[], log: (line: string) => void = console.log): void {
  const groups: Array<[string, (r: Row) => boolean]> = [
    ['all cases', () => true],
    ['tuning set (in-sample)', r => r.spec.set === 'tuning'],
    ['held-out set', r => r.spec.set === 'held-out'],
    ['seen set (held out, then seen)', r => r.spec.set === 'seen'],
    ...[...new Set(rows.map(r => r.spec.target))].map(t => [`target ${t}`, (r: Row) => r.spec.target === t] as [string, (r: Row) => boolean]),
    ...[...new Set(rows.map(r => r.spec.users))].sort((a, b) => a - b).map(u => [`${u} users`, (r: Row) => r.spec.users === u] as [string, (r: Row) => boolean])
  ]
  for (const [name, pred] of groups) {
    const s = score(rows.filter(pred))
    if (!s.runs) continue
    log(`${name.padEnd(24)} ${String(s.runs).padStart(3)} cases  precision ${(s.precision * 100).toFixed(0).padStart(3)}%  recall ${(s.recall * 100).toFixed(0).padStart(3)}%  top-1 ${(s.top1 * 100).toFixed(0).padStart(3)}%  false findings on healthy ${s.falseAlarms}/${s.healthy}  wrong findings ${s.wrongFindings}`)
  }
  const misses = score(rows).misses
  for (const m of misses) log(`  miss: ${m}`)
}

export async function accuracy (): Promise<void> {
  const filter = arg('cases')
  if (arg('replay') !== undefined) {
    const rows: Row[] = []
    for (const c of readIndex().cases.filter(c => selectCases(filter).some(s => s.id === c.id) || !filter)) {
      const j = judge(diagnose(readCase(c)), c.expected, c.allowed)
      rows.push({ ...j, label: c.id, spec: c })
    }
    console.log(`\n## accuracy (replay of ${rows.length} recorded cases)`)
    printScores(rows)
    return
  }
  const record = arg('record') !== undefined
  const cases = selectCases(filter)
  console.log(`\n## accuracy: ${cases.length} live cases${record ? ', recorded to test/fixtures/cases' : ''}`)
  const rows: Row[] = []
  for (const c of cases) {
    const o = await runMode(c.fault, { target: c.target, variant: c.variant, users: c.users, spawnRate: c.spawnRate, runTime: c.runTime })
    const j = judge(o.diagnosis, c.expected, c.allowed)
    rows.push({ ...j, label: c.id, spec: c })
    console.log(`  ${j.ok ? 'ok  ' : 'MISS'} ${c.id.padEnd(34)} ${c.set.padEnd(8)} expected ${c.expected ?? 'nothing'}; found ${j.found.join(', ') || 'nothing'}${o.titles[0] ? ` (${o.titles[0]})` : ''}`)
    if (record) writeCase(c, o.result, j.found, versions().loadlens)
  }
  printScores(rows)
}
