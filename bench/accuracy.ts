/**
 * `npm run bench -- accuracy [--accuracy-time=60s] [--accuracy-repeat=2]`: the correlator
 * against the demo target, each fault toggle and the healthy target, longer than the test
 * does; prints what each run found and the precision and recall of the top-ranked cause.
 */
import { EXPECTED, runMode, score } from '../app/accuracy.js'
import type { Mode, ModeOutcome } from '../app/accuracy.js'

function arg (name: string, fallback: string): string {
  const a = process.argv.find(x => x.startsWith(`--${name}=`))
  return a ? a.slice(name.length + 3) : fallback
}

export async function accuracy (): Promise<void> {
  const runTime = arg('accuracy-time', '60s')
  const repeat = Number(arg('accuracy-repeat', '1'))
  console.log(`\n## accuracy: the demo target's faults, ${runTime} each, ${repeat} time(s); healthy runs ${repeat + 1} time(s)`)
  const outcomes: ModeOutcome[] = []
  const modes = Object.keys(EXPECTED) as Mode[]
  for (let r = 0; r < repeat; r++) {
    for (const mode of modes) outcomes.push(await runMode(mode, { runTime, log: line => console.log(`  ${line}`) }))
  }
  outcomes.push(await runMode('healthy', { runTime, log: line => console.log(`  ${line}`) }))
  const s = score(outcomes)
  console.log(`precision ${(s.precision * 100).toFixed(0)}%, recall ${(s.recall * 100).toFixed(0)}% over ${s.runs} runs; false alarms on healthy runs: ${s.falseAlarms}`)
  for (const m of s.misses) console.log(`  miss: ${m}`)
}
