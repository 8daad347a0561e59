/**
 * Everything the Mluv.Me scenario knows about the API it drives, in one place: paths, the
 * shapes of the bodies it sends, where it finds ids in the answers, and how it polls a voice
 * job. To test your own Mluv.Me-like backend, change this file (and pass --host); the tasks
 * in scenario.ts stay as they are.
 */
import { file } from 'loadlens'
import type { FormValue } from 'loadlens'
import type { UserSettings } from './data.js'

export const MLUVME_API = {
  /** the base URL when --host is not given (the bundled demo target passes its own) */
  host: 'http://127.0.0.1:8000',

  register: {
    path: '/api/v1/users',
    /** 201 for a new user; 200 when the telegram_id was known already */
    expect: [200, 201],
    body: (telegramId: number, s: UserSettings, username: string): Record<string, unknown> => ({
      telegram_id: telegramId,
      username,
      first_name: 'Load',
      level: s.level,
      correction_style: s.correctionStyle,
      native_language: s.nativeLanguage
    }),
    /** the user's id in the answer */
    userId: (body: any): number | undefined => body?.id
  },

  voice: {
    /** multipart upload of the voice message */
    path: '/api/v1/voice/process',
    expect: [200, 201, 202],
    form: (userId: number, phrase: string, audio: Uint8Array): Record<string, FormValue> => ({
      user_id: userId,
      // the phrase the simulated learner says: the demo's simulated speech-to-text "hears" it
      text_hint: phrase,
      audio: file(audio, 'voice.wav', 'audio/wav')
    }),
    /** the job id in the answer */
    jobId: (body: any): string | undefined => body?.job_id
  },

  job: {
    path: (jobId: string): string => `/api/v1/voice/jobs/${jobId}`,
    name: '/api/v1/voice/jobs/[id]',
    status: (body: any): string | undefined => body?.status,
    done: ['done', 'completed', 'SUCCESS'],
    failed: ['failed', 'error', 'FAILURE'],
    /** the finished job carries the correction */
    result: (body: any): unknown => body?.corrected ?? body?.result,
    /** seconds between two polls */
    pollIntervalS: 0.25,
    /** give up (the flow fails) when the job is not done after this long */
    deadlineS: 30
  },

  stats: { path: (id: number): string => `/api/v1/users/${id}/stats`, name: '/api/v1/users/[id]/stats' },
  profile: { path: (id: number): string => `/api/v1/users/${id}`, name: '/api/v1/users/[id]' },
  savedWords: { path: (id: number): string => `/api/v1/users/${id}/saved-words`, name: '/api/v1/users/[id]/saved-words' },
  streakCalendar: { path: (id: number): string => `/api/v1/users/${id}/streak-calendar`, name: '/api/v1/users/[id]/streak-calendar' }
}

/** The row the whole voice flow (upload, polls, result) is recorded under. */
export const VOICE_FLOW = 'voice message end-to-end'

/**
 * Cost model: each voice message is transcribed (speech-to-text, e.g. Whisper at $0.006 a
 * minute: a 10 s message is $0.001) and corrected by an LLM (about $0.0015 a message), so
 * $0.0025 a message. At the development profile's pace a user sends about 60 voice messages
 * in its 2 minutes: about $0.15 a user, the seed's baseline.
 */
export const VOICE_MESSAGE_COST_USD = 0.0025
