/** The live web UI for a test: a loopback target, `loadlens ui` on a free port, a Chromium page; closed in one call. */
import type { ServerResponse } from 'node:http'
import { startUi } from '../../web/entry.js'
import type { UiOptions } from '../../web/entry.js'
import type { RunController } from '../../web/controller.js'
import type { WebServer } from '../../web/server.js'
import type { ScenarioPlan } from '../../scenarios/validate.js'
import { openBrowser } from './browser.js'
import type { Browser } from './browser.js'
import { startServer } from './server.js'
import { plan } from './scenario.js'
import { between } from '../../scenarios/define.js'
import type { Handler, TestServer } from './server.js'

export interface UiSession {
  target: TestServer
  web: WebServer
  controller: RunController
  browser: Browser
  close (): Promise<void>
}

export async function startUiSession (scenario: ScenarioPlan, handler: Handler, o: Omit<UiOptions, 'scenario' | 'host'> & { outDir: string }): Promise<UiSession> {
  const target = await startServer(handler, { record: false })
  const ui = await startUi({ scenario, host: target.url, webPort: 0, quiet: true, ...o })
  const browser = await openBrowser()
  return {
    target,
    web: ui.web,
    controller: ui.controller,
    browser,
    close: async () => {
      await browser.close()
      try { ui.controller.stop() } catch { /* no run */ }
      await ui.controller.settled()
      await ui.web.close()
      await target.close()
    }
  }
}

/** a handler that answers JSON after `ms` */
export const answerAfter = (ms: number) => (_req: unknown, res: ServerResponse): void => { setTimeout(() => res.end('{"ok":true}'), ms) }

/** The UI tests' scenario: users who list /items and read /items/[id] */
export function itemsScenario (name: string, profiles: Record<string, unknown> = {}): ScenarioPlan {
  return plan({
    name,
    users: {
      U: {
        wait: between(0.02, 0.05),
        tasks: {
          list: async (u: any) => { await u.http.get('/items') },
          item: async (u: any) => { await u.http.get(`/items/${u.data.randomInt(1, 9)}`, { name: '/items/[id]' }) }
        }
      }
    },
    profiles
  } as any)
}
