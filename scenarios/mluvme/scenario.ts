/**
 * The Mluv.Me scenario: the seed's MluvMeUser (a Telegram bot backend for learning Czech) with
 * its task weights, test data and the four profiles with their pass criteria.
 *
 *   npx loadlens demo                                   # against the bundled demo target
 *   npx loadlens run scenarios/mluvme/scenario.ts --host http://127.0.0.1:8000 --profile staging
 *
 * Paths and payloads are in config.ts, test data in data.ts.
 */
import { defineScenario, defineUser, between } from 'loadlens'
import type { UserContext } from 'loadlens'
import { MLUVME_API as api, VOICE_FLOW, VOICE_MESSAGE_COST_USD } from './config.js'
import { CZECH_PHRASES, VOICE_WAV, randomSettings } from './data.js'
import type { UserSettings } from './data.js'

interface MluvMeState {
  userId: number
  telegramId: number
  settings?: UserSettings
}

type U = UserContext<MluvMeState>

function jsonOr (res: { json (): any }): any {
  try { return res.json() } catch { return undefined }
}

/** The main flow: upload a voice message, get a job id, poll until the correction is ready. */
async function processVoiceMessage (u: U): Promise<void> {
  const phrase = u.data.pick(CZECH_PHRASES)
  await u.measure(VOICE_FLOW, async () => {
    const upload = await u.http.post(api.voice.path, {
      form: api.voice.form(u.state.userId, phrase, VOICE_WAV),
      expect: api.voice.expect,
      check: (r) => api.voice.jobId(jsonOr(r)) !== undefined || 'no job id in the answer'
    })
    if (!upload.ok) return false
    const jobId = api.voice.jobId(upload.json())!
    const deadline = Date.now() + api.job.deadlineS * 1000
    let last = 'none'
    for (;;) {
      await u.sleep(api.job.pollIntervalS)
      const res = await u.http.get(api.job.path(jobId), { name: api.job.name })
      if (res.ok) {
        last = String(api.job.status(jsonOr(res)) ?? 'no status')
        if (api.job.done.includes(last)) return api.job.result(res.json()) !== undefined
        if (api.job.failed.includes(last)) return false
      }
      if (Date.now() > deadline) throw new Error(`voice job not done after ${api.job.deadlineS} s (last status: ${last})`)
    }
  })
}

const MluvMeUser = defineUser({
  wait: between(0.3, 1.2),
  state: (): MluvMeState => ({ userId: 0, telegramId: 0 }),
  onStart: async (u) => {
    u.state.settings = randomSettings(u.data)
    u.state.telegramId = u.data.uniqueInt()
    const res = await u.http.post(api.register.path, {
      json: api.register.body(u.state.telegramId, u.state.settings, `loadlens_${u.state.telegramId}`),
      expect: api.register.expect,
      check: (r) => api.register.userId(jsonOr(r)) !== undefined || 'no user id in the answer'
    })
    if (!res.ok) throw new Error(`registration failed: ${res.failure ?? `HTTP ${res.status}`}`)
    u.state.userId = api.register.userId(res.json())!
  },
  tasks: {
    process_voice_message: { weight: 10, run: processVoiceMessage },
    get_user_stats: {
      weight: 3,
      run: async (u) => { await u.http.get(api.stats.path(u.state.userId), { name: api.stats.name }) }
    },
    get_user_profile: {
      weight: 2,
      run: async (u) => { await u.http.get(api.profile.path(u.state.userId), { name: api.profile.name }) }
    },
    get_saved_words: {
      weight: 2,
      run: async (u) => { await u.http.get(api.savedWords.path(u.state.userId), { name: api.savedWords.name }) }
    },
    get_streak_calendar: {
      weight: 1,
      run: async (u) => { await u.http.get(api.streakCalendar.path(u.state.userId), { name: api.streakCalendar.name }) }
    }
  }
})

export default defineScenario({
  name: 'mluvme',
  description: 'Mluv.Me, a Telegram bot backend for learning Czech: voice messages corrected by AI, stats, profile, saved words, streaks.',
  host: api.host,
  users: { MluvMeUser },
  defaultProfile: 'development',
  profiles: {
    development: {
      description: 'basic load: the main functions under light load',
      users: 10, spawnRate: 2, runTime: '2m',
      expect: { failureRatio: 0, p95: 500, p99: 1000 }
    },
    staging: {
      description: 'medium load: performance under normal load',
      users: 100, spawnRate: 10, runTime: '10m',
      expect: { failureRatio: 0.01, p95: 500, p99: 1000, dbConnectionsStable: true }
    },
    production: {
      description: 'peak load: the maximum load, and the bottlenecks',
      users: 1000, spawnRate: 50, runTime: '30m',
      expect: { failureRatio: 0.01, p95: 1000, p99: 2000, noMemoryLeak: true, dbConnectionsMax: 50 }
    },
    stress: {
      description: 'stress: raise the load until the system fails, to find the most concurrent users it holds',
      users: 2000, spawnRate: 100, runTime: '15m',
      expect: { findMaxUsers: true }
    }
  },
  costs: { [VOICE_FLOW]: VOICE_MESSAGE_COST_USD },
  currency: 'USD'
})
