/**
 * Wiring of the probes into a run (owned by the probes work, issue 4): which probes to start
 * from flags and env, started before the load and stopped after it, sampled on the run's
 * clock. Until probes exist this starts nothing.
 */
import type { ProbeStatus, Series } from '../shared/types.js'

/** Probe settings from flags and env (--pg, --redis, --celery-broker, ...). */
export interface ProbeOptions {
  [flag: string]: unknown
}

export interface ProbeSession {
  /** stops sampling; resolves when every probe has stopped */
  stop (): Promise<void>
  series (): Series[]
  status (): ProbeStatus[]
}

export async function startProbeSession (_options: ProbeOptions | undefined, _log: (line: string) => void): Promise<ProbeSession | null> {
  return null
}
