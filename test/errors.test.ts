/**
 * Every family of user-facing failure has a code of its own and its class's exit code, met at
 * the real sites that throw them (a missing scenario, a bad setting, a damaged result, an
 * unwritable output, the loopback rail, an unreachable target, the web UI's run state).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadScenario } from '../scenarios/load.js'
import { checkLoadSettings } from '../shared/settings.js'
import { readResult } from '../shared/files.js'
import { recoverJournal } from '../app/journal.js'
import { checkOutputs } from '../app/outputs.js'
import { checkHostAllowed, checkReachable } from '../app/safety.js'
import { deserializeError, serializeError, SettingError, UsageError } from '../shared/errors.js'
import { startUi } from '../web/entry.js'
import type { WebServer } from '../web/server.js'
import { freePort } from './helpers/ports.js'

const dir = mkdtempSync(join(tmpdir(), 'loadlens-errors-'))

async function caught (f: () => unknown): Promise<{ code?: string; exitCode?: number; message: string }> {
  try {
    await f()
  } catch (err) {
    return err as { code?: string; exitCode?: number; message: string }
  }
  throw new Error('expected a failure')
}

describe('coded errors at the sites that throw them', () => {
  it('the user\'s mistakes: exit 2, each family with its code', async () => {
    expect(await caught(() => loadScenario(join(dir, 'nope.ts')))).toMatchObject({ code: 'LOADLENS_SCENARIO_INVALID', exitCode: 2 })
    writeFileSync(join(dir, 'broken.ts'), 'export default {{{\n')
    expect(await caught(() => loadScenario(join(dir, 'broken.ts')))).toMatchObject({ code: 'LOADLENS_SCENARIO_INVALID', exitCode: 2 })
    expect(await caught(() => checkLoadSettings({ users: 0 }))).toMatchObject({ code: 'LOADLENS_SETTING_INVALID', exitCode: 2, message: '--users: expected a whole number > 0, got 0' })
    writeFileSync(join(dir, 'r.json'), 'not json')
    expect(await caught(() => readResult(join(dir, 'r.json')))).toMatchObject({ code: 'LOADLENS_INPUT_INVALID', exitCode: 2 })
    expect(await caught(() => recoverJournal(join(dir, 'none.journal')))).toMatchObject({ code: 'LOADLENS_INPUT_INVALID', exitCode: 2 })
    writeFileSync(join(dir, 'file'), 'x')
    expect(await caught(() => checkOutputs({ json: join(dir, 'file', 'r.json') }))).toMatchObject({ code: 'LOADLENS_OUTPUT_UNWRITABLE', exitCode: 2 })
    expect(await caught(() => checkHostAllowed(new URL('http://10.0.0.1:8080'), [], false))).toMatchObject({ code: 'LOADLENS_HOST_REFUSED', exitCode: 2 })
  })

  it('loadlens unable to do its job: exit 3', async () => {
    expect(await caught(() => checkReachable(new URL('http://127.0.0.1:9')))).toMatchObject({ code: 'LOADLENS_TARGET_UNREACHABLE', exitCode: 3 })
  })

  it('a code crosses a thread with the error', () => {
    const back = deserializeError(structuredClone(serializeError(new SettingError('--max-names: expected a whole number >= 1, got 0'))))
    expect(back).toBeInstanceOf(UsageError)
    expect(back).toMatchObject({ code: 'LOADLENS_SETTING_INVALID', exitCode: 2 })
  })
})

describe('the web UI answers by the error\'s class', () => {
  let web: WebServer
  beforeAll(async () => {
    ;({ web } = await startUi({ scenario: 'scenarios/example/scenario.ts', host: 'http://127.0.0.1:9', webPort: await freePort(), outDir: dir }))
  })
  afterAll(async () => { await web?.close() })

  const post = async (path: string, body: unknown): Promise<{ status: number; error: string }> => {
    const r = await fetch(`${web.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    return { status: r.status, error: ((await r.json()) as { error: string }).error }
  }

  it('a request that does not fit the run\'s state is 409; a bad value 400', async () => {
    expect(await post('/api/users', { users: 3 })).toEqual({ status: 409, error: 'no run is going' })
    expect(await post('/api/stop', {})).toEqual({ status: 409, error: 'no run is going' })
    const bad = await post('/api/start', { users: 'many' })
    expect(bad.status).toBe(400)
    expect(bad.error).toBe('users: expected a whole number >= 0, got "many"')
  })
})
