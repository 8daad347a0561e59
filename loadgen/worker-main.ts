/** Entry of a load worker thread: loads the scenario, runs an Engine on its share. */
import { parentPort, workerData } from 'node:worker_threads'
import { loadScenario } from '../scenarios/load.js'
import { costLookup } from './cost.js'
import { Engine } from './engine.js'
import { sharedBudget } from './budget.js'
import { serializeError } from '../shared/errors.js'
import type { FromWorker, ToWorker, WorkerInit } from './workers.js'

const init = workerData as WorkerInit
const port = parentPort!
const send = (m: FromWorker): void => port.postMessage(m)

async function main (): Promise<void> {
  const plan = await loadScenario(init.planFile, init.planCode)
  let engine: Engine | null = null
  let pendingStop: boolean | null = null
  let users: { users: number; spawnRate: number } | null = null
  port.on('message', (m: ToWorker) => {
    if (m.type === 'go') {
      engine = new Engine({
        plan,
        model: init.model,
        durationS: init.durationS,
        stopTimeoutS: init.stopTimeoutS,
        host: init.host,
        requestTimeoutMs: init.requestTimeoutMs,
        share: init.share,
        runSeed: init.runSeed,
        startAt: m.startAt,
        settings: init.settings,
        hostPolicy: init.hostPolicy,
        budget: { unitCost: costLookup(init.unitCosts), shared: sharedBudget(init.shared, init.count, init.index) },
        onSlice: (report) => send({ type: 'slice', report }),
        onStart: (startedAt) => send({ type: 'start', startedAt }),
        onSelfStop: (reason, message) => send({ type: 'selfStop', reason, message }),
        threadCpu: true
      })
      const e = engine
      e.run().then(outcome => {
        send({ type: 'done', outcome })
        port.close()
      }, err => send({ type: 'error', error: serializeError(err) }))
      if (pendingStop !== null) e.stop(pendingStop)
      if (users) e.setUsers(users.users, users.spawnRate)
    } else if (m.type === 'stop') {
      if (engine) engine.stop(m.hard)
      else pendingStop = m.hard
    } else if (m.type === 'setUsers') {
      if (engine) engine.setUsers(m.users, m.spawnRate)
      else users = m
    }
  })
  send({ type: 'ready' })
}

main().catch(err => send({ type: 'error', error: serializeError(err) }))
