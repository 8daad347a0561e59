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

// ---------------------------------------------------------------------------------------
// the families of user-facing failures, each with a code of its own (the class decides the exit code)

/** A flag's or an option's value is missing, malformed or not allowed (--users 0, --probe-interval 0, --host missing). */
export class SettingError extends UsageError {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, { ...options, code: 'LOADLENS_SETTING_INVALID' })
    this.name = 'SettingError'
  }
}

/** The scenario (a scenario file, a locustfile) is missing, does not load, or does not describe a valid scenario. */
export class ScenarioError extends UsageError {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, { ...options, code: 'LOADLENS_SCENARIO_INVALID' })
    this.name = 'ScenarioError'
  }
}

/** An input file (a result, a journal, a folder of results) is missing, unreadable, not loadlens's, or does not fit the others. */
export class InputFileError extends UsageError {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, { ...options, code: 'LOADLENS_INPUT_INVALID' })
    this.name = 'InputFileError'
  }
}

/** An output cannot be written where it was asked for (found before any load is sent). */
export class OutputPathError extends UsageError {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, { ...options, code: 'LOADLENS_OUTPUT_UNWRITABLE' })
    this.name = 'OutputPathError'
  }
}

/** The loopback rail: load would go to a host that is neither loopback nor allowed. */
export class HostRefusedError extends UsageError {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, { ...options, code: 'LOADLENS_HOST_REFUSED' })
    this.name = 'HostRefusedError'
  }
}

/** A port asked for (--web-port, --metrics-port) is taken. */
export class PortTakenError extends UsageError {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, { ...options, code: 'LOADLENS_PORT_TAKEN' })
    this.name = 'PortTakenError'
  }
}

/** Locust cannot run the locustfile: not installed, or it exited before the test started. */
export class LocustError extends UsageError {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, { ...options, code: 'LOADLENS_LOCUST' })
    this.name = 'LocustError'
  }
}

/** A request that does not fit the run's state: start while one is going, change users with none going (the web UI's 409). */
export class RunStateError extends UsageError {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, { ...options, code: 'LOADLENS_RUN_STATE' })
    this.name = 'RunStateError'
  }
}

/** The target does not answer before any load is sent. */
export class TargetUnreachableError extends HarnessError {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, { ...options, code: 'LOADLENS_TARGET_UNREACHABLE' })
    this.name = 'TargetUnreachableError'
  }
}

/** A probe cannot start and --strict-probes makes that fatal. */
export class ProbeStartFailedError extends HarnessError {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, { ...options, code: 'LOADLENS_PROBE_START' })
    this.name = 'ProbeStartFailedError'
  }
}

/** Something loadlens needs is not there: a file of its own, the built package, Python packages. */
export class MissingDependencyError extends HarnessError {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, { ...options, code: 'LOADLENS_MISSING_DEPENDENCY' })
    this.name = 'MissingDependencyError'
  }
}

/** A demo target (its API, workers, broker, database) could not start, or its start was interrupted. */
export class DemoStartError extends HarnessError {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, { ...options, code: 'LOADLENS_DEMO_START' })
    this.name = 'DemoStartError'
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
    // ioredis with no retries inside a command (the probes' clients): a command in flight when
    // the connection dropped fails with its retry limit, which says nothing of what happened
    if (err.name === 'MaxRetriesPerRequestError') return 'the connection was lost with a command in flight'
    // a system error's code says what happened (ECONNREFUSED); loadlens's own errors say it in words
    const code = err instanceof LoadlensError ? undefined : (err as { code?: unknown }).code
    return typeof code === 'string' && !err.message.includes(code) ? `${code}: ${err.message}` : err.message
  }
  return String(err)
}
