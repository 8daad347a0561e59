/**
 * Errors that reach the user, in one file, each with a code (in the style of undici's and
 * fastify's): code decides what a caller does with an error (never its message's text), and
 * the class decides the exit code. A UsageError is the user's mistake (bad flag, bad scenario
 * file, unknown profile): the CLI prints its message on one line and exits 2, with no stack.
 * A HarnessError is loadlens failing to do its job (target unreachable from the start, a
 * required probe that cannot start): exit 3.
 */
export class LoadlensError extends Error {
  readonly code: string
  readonly exitCode: number = 1
  constructor (message: string, code: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}

export class UsageError extends LoadlensError {
  override readonly exitCode = 2
  constructor (message: string, options?: { cause?: unknown; code?: string }) {
    super(message, options?.code ?? 'LOADLENS_USAGE', options)
    this.name = 'UsageError'
  }
}

/** --run-time (or stages) is needed: the profile gives no length. The web UI then runs for its own length. */
export class RunTimeRequiredError extends UsageError {
  constructor (message: string) {
    super(message, { code: 'LOADLENS_RUN_TIME_REQUIRED' })
    this.name = 'RunTimeRequiredError'
  }
}

/** A mistake in the scenario found while it runs (an unknown request option): the run stops at once, exit 2. */
export class ScenarioMistake extends UsageError {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, { ...options, code: 'LOADLENS_SCENARIO_MISTAKE' })
    this.name = 'ScenarioMistake'
  }
}

export class HarnessError extends LoadlensError {
  override readonly exitCode = 3
  constructor (message: string, options?: { cause?: unknown; code?: string }) {
    super(message, options?.code ?? 'LOADLENS_HARNESS', options)
    this.name = 'HarnessError'
  }
}

/** A load thread failed: its own error (with its stack) is the cause. */
export class WorkerError extends HarnessError {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, { ...options, code: 'LOADLENS_WORKER' })
    this.name = 'WorkerError'
  }
}

/** An error as it crosses a thread: its name, code, message and stack (structured clone keeps neither class nor code). */
export interface SerializedError { name: string; message: string; code?: string; stack?: string; usage: boolean }

export function serializeError (err: unknown): SerializedError {
  if (err instanceof Error) return { name: err.name, message: err.message, code: (err as { code?: unknown }).code as string | undefined, stack: err.stack, usage: err instanceof UsageError }
  return { name: 'Error', message: String(err), usage: false }
}

/** The error again on this side of the thread, its stack kept. */
export function deserializeError (e: SerializedError): Error {
  const err = e.usage ? (e.code === 'LOADLENS_SCENARIO_MISTAKE' ? new ScenarioMistake(e.message) : new UsageError(e.message, { code: e.code })) : Object.assign(new Error(e.message), { code: e.code })
  err.name = e.name
  if (e.stack) err.stack = e.stack
  return err
}

/** Thrown inside a virtual user when the run is stopping; never recorded as a failure. */
export class StopSignal extends Error {
  constructor () {
    super('the run is stopping')
    this.name = 'StopSignal'
  }
}

export function isStopSignal (err: unknown): err is StopSignal {
  return err instanceof Error && err.name === 'StopSignal'
}

/** A short one-line description of any thrown value. */
export function describeError (err: unknown): string {
  if (err instanceof Error) {
    // a system error's code says what happened (ECONNREFUSED); loadlens's own errors say it in words
    const code = err instanceof LoadlensError ? undefined : (err as { code?: unknown }).code
    return typeof code === 'string' && !err.message.includes(code) ? `${code}: ${err.message}` : err.message
  }
  return String(err)
}
