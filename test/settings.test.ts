import { describe, expect, it } from 'vitest'
import { Command } from 'commander'
import { LOAD_DEFAULTS, LOAD_SETTINGS, checkLoadSettings, parseSettingText, pickLoadSettings } from '../shared/settings.js'
import type { LoadSettings } from '../shared/settings.js'
import { addLoadFlags, pickLoadFlags } from '../cli/flags.js'

const spec = (key: keyof LoadSettings) => LOAD_SETTINGS.find(s => s.key === key)!

describe('LoadSettings: one table for the CLI, the library and the load threads', () => {
  it('every row is a setting of its own, with a flag of its own', () => {
    const keys = LOAD_SETTINGS.map(s => s.key)
    expect(new Set(keys).size).toBe(keys.length)
    const flags = LOAD_SETTINGS.map(s => s.flag)
    expect(new Set(flags).size).toBe(flags.length)
    for (const s of LOAD_SETTINGS) expect(s.flag).toMatch(/^--[a-z][a-z-]+$/)
  })

  it('the CLI flags are made from the table: each parses to its setting, under its own key', () => {
    const cmd = addLoadFlags(new Command().exitOverride())
    for (const s of LOAD_SETTINGS) expect(cmd.options.some(o => o.long === s.flag && o.description === s.help)).toBe(true)
    cmd.parse(['--users', '7', '-r', '2.5', '-t', '1m', '--max-vus', '4', '--pre-allocated-vus', '0', '--workers', '0', '--http-client', 'undici', '--insecure', '--max-names', '20', '--expect', 'p95=300'], { from: 'user' })
    const settings = pickLoadFlags(cmd.opts())
    expect(settings).toEqual({ users: 7, spawnRate: 2.5, runTime: '1m', maxVUs: 4, preAllocatedVUs: 0, workers: 0, httpClient: 'undici', insecure: true, maxNames: 20, expect: 'p95=300' })
    // serialisable as it is: what a load thread receives is what was given
    expect(structuredClone(settings)).toEqual(settings)
    expect(checkLoadSettings(settings)).toBe(settings)
  })

  it('a flag\'s text is read by its kind; a word like "auto" stands for its value', () => {
    expect(parseSettingText(spec('workers'), 'auto')).toBeGreaterThanOrEqual(1)
    expect(parseSettingText(spec('workers'), '3')).toBe(3)
    expect(() => parseSettingText(spec('workers'), 'many')).toThrow('expected a number of worker threads or "auto" (a whole number), got "many"')
    expect(() => parseSettingText(spec('spawnRate'), '-2')).toThrow('expected users per second (a number >= 0), got "-2"')
    expect(() => parseSettingText(spec('runTime'), '5x')).toThrow('expected a duration like 30s, 2m, 1h30m, got "5x"')
    expect(() => parseSettingText(spec('httpClient'), 'curl')).toThrow('expected loadlens or undici, got "curl"')
  })

  it('a value that is not allowed is a usage error naming the flag and what was expected, from the CLI and from a library call alike', () => {
    const cases: Array<[LoadSettings, string]> = [
      [{ users: 0 }, '--users: expected a whole number > 0, got 0'],
      [{ users: 2.5 }, '--users: expected a whole number, got 2.5'],
      [{ spawnRate: 0 }, '--spawn-rate: expected a number > 0, got 0'],
      [{ preAllocatedVUs: -1 }, '--pre-allocated-vus: expected a whole number >= 0, got -1'],
      [{ maxRequests: 0 }, '--max-requests: expected a whole number >= 1, got 0'],
      [{ maxCost: 0 }, '--max-cost: expected a number > 0, got 0'],
      [{ workers: -1 }, '--workers: expected a whole number >= 0 or "auto", got -1'],
      [{ requestTimeout: '0s' }, '--request-timeout: expected a duration > 0, got "0s"'],
      [{ httpClient: 'curl' as never }, '--http-client: expected loadlens or undici, got "curl"'],
      [{ insecure: 'yes' as never }, '--insecure: expected true or false, got "yes"']
    ]
    for (const [settings, message] of cases) {
      expect(() => checkLoadSettings(settings), message).toThrow(expect.objectContaining({ code: 'LOADLENS_SETTING_INVALID', exitCode: 2, message }))
    }
    // a parsed --expect is a setting too
    expect(() => checkLoadSettings({ expect: { p95: 300 } as never })).not.toThrow()
  })

  it('pickLoadSettings keeps only the settings, so options that are not serialisable stay behind', () => {
    const picked = pickLoadSettings({ users: 3, workers: 2, stdout: process.stdout, onHandle: () => {}, host: 'http://127.0.0.1:1' })
    expect(picked).toEqual({ users: 3, workers: 2 })
  })

  it('the defaults are those the help states', () => {
    expect(spec('maxNames').help).toContain(`default ${LOAD_DEFAULTS.maxNames}`)
    expect(spec('stopTimeout').help).toContain(`default ${LOAD_DEFAULTS.stopTimeoutS}s`)
    expect(spec('workers').help).toContain(`default ${LOAD_DEFAULTS.workers}`)
  })
})
