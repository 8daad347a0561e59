/**
 * The fallback when Celery is not importable by /usr/bin/python3: voice jobs are processed
 * inside the API process by the same simulation as worker/mluvme_tasks.py (speech-to-text and
 * correction latency as sleeps, no external calls), with its own PostgreSQL pool under the
 * worker's application_name. The queue is an in-memory list.
 */
import pg from 'pg'
import type { Logger } from './log.js'

export interface VoiceJob {
  jobId: string
  userId: number
  audioBytes: number
  textHint: string
  settings: { level?: string; correction_style?: string; native_language?: string }
}

const PLAIN: Record<string, string> = Object.fromEntries(
  [...'áčďéěíňóřšťúůýžÁČĎÉĚÍŇÓŘŠŤÚŮÝŽ'].map((c, i) => [c, 'acdeeinorstuuyzACDEEINORSTUUYZ'[i]!])
)

/** What the recogniser hears from a learner: a few diacritics lost, maybe no final punctuation. */
export function learnerVersion (phrase: string, rnd: () => number = Math.random): string {
  const words = phrase.split(' ')
  const k = Math.min(words.length, Math.floor(rnd() * 3))
  for (let j = 0; j < k; j++) {
    const i = Math.floor(rnd() * words.length)
    words[i] = [...words[i]!].map(c => PLAIN[c] ?? c).join('')
  }
  let text = words.join(' ')
  if (rnd() < 0.5) text = text.replace(/[.?!]+$/, '')
  return text
}

export function countMistakes (transcript: string, phrase: string, style = 'balanced'): number {
  const heard = transcript.split(' ')
  const right = phrase.split(' ')
  const strip = (s: string): string => s.replace(/^[.,?!]+|[.,?!]+$/g, '')
  let mistakes = 0
  for (let i = 0; i < Math.min(heard.length, right.length); i++) if (strip(heard[i]!) !== strip(right[i]!)) mistakes++
  if (style === 'strict' && transcript.slice(-1) !== phrase.slice(-1)) mistakes++
  return mistakes
}

const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms))

export class InProcessWorker {
  private readonly queue: VoiceJob[] = []
  private running = 0
  private closed = false
  private readonly idle: Array<() => void> = []
  readonly pool: pg.Pool

  constructor (pgUrl: string, application: string, searchPath: string | undefined, private readonly concurrency: number, private readonly taskSeconds: number | undefined, private readonly log: Logger) {
    this.pool = new pg.Pool({ connectionString: pgUrl, application_name: application, max: concurrency, idleTimeoutMillis: 30_000, options: searchPath ? `-c search_path=${searchPath}` : undefined })
    this.pool.on('error', (err) => log('WARNING', `worker pool: ${err.message}`))
  }

  get depth (): number {
    return this.queue.length
  }

  get active (): number {
    return this.running
  }

  enqueue (job: VoiceJob): void {
    this.queue.push(job)
    this.pump()
  }

  private pump (): void {
    while (!this.closed && this.running < this.concurrency && this.queue.length) {
      const job = this.queue.shift()!
      this.running++
      this.process(job)
        .catch(err => this.log('ERROR', `voice job ${job.jobId} failed: ${(err as Error).message}`))
        .finally(() => {
          this.running--
          if (this.running === 0) this.idle.splice(0).forEach(f => f())
          this.pump()
        })
    }
  }

  private stage (lowS: number, highS: number): Promise<void> {
    const s = this.taskSeconds !== undefined ? this.taskSeconds / 2 * (0.8 + Math.random() * 0.4) : lowS + Math.random() * (highS - lowS)
    return sleep(s * 1000)
  }

  private async process (job: VoiceJob): Promise<void> {
    await this.pool.query("UPDATE voice_jobs SET status = 'processing', started_at = now(), worker = $1 WHERE id = $2", ['in-process', job.jobId])
    try {
      const phrase = job.textHint || 'Dobrý den, jak se máte?'
      await this.stage(0.15, 0.35) // speech-to-text
      const transcript = learnerVersion(phrase)
      await this.stage(0.15, 0.35) // LLM correction
      const mistakes = countMistakes(transcript, phrase, job.settings.correction_style)
      const words = phrase.split(' ').length
      const score = Math.max(30, 100 - mistakes * 12 - Math.random() * 8)
      const candidates = (phrase.toLowerCase().match(/[\p{L}]+/gu) ?? []).filter(w => w.length > 4)
      const newWord = candidates.length && Math.random() < 0.3 ? candidates[Math.floor(Math.random() * candidates.length)] : undefined
      const client = await this.pool.connect()
      try {
        await client.query('BEGIN')
        const m = await client.query<{ id: string }>(
          'INSERT INTO messages (user_id, transcript, corrected, mistakes, words, score) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id',
          [job.userId, transcript, phrase, mistakes, words, score])
        if (newWord) {
          await client.query('INSERT INTO saved_words (user_id, word, translation) VALUES ($1, $2, $3) ON CONFLICT (user_id, word) DO NOTHING', [job.userId, newWord, '(from a voice message)'])
        }
        await client.query(
          "UPDATE voice_jobs SET status = 'done', finished_at = now(), transcript = $1, corrected = $2, mistakes = $3, score = $4, message_id = $5 WHERE id = $6",
          [transcript, phrase, mistakes, score, m.rows[0]!.id, job.jobId])
        await client.query('COMMIT')
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {})
        throw err
      } finally {
        client.release()
      }
    } catch (err) {
      await this.pool.query("UPDATE voice_jobs SET status = 'failed', finished_at = now(), error = $1 WHERE id = $2", [String((err as Error).message).slice(0, 500), job.jobId]).catch(() => {})
      throw err
    }
  }

  /** Stops taking jobs; waits (bounded) for the running ones, then closes the pool. */
  async close (timeoutMs = 5000): Promise<void> {
    this.closed = true
    if (this.running > 0) await Promise.race([new Promise<void>(r => this.idle.push(r)), sleep(timeoutMs)])
    await this.pool.end().catch(() => {})
  }
}
