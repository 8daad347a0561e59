/**
 * Errors that reach the user. A UsageError is the user's mistake (bad flag, bad scenario
 * file, unknown profile): the CLI prints its message on one line and exits 2, with no stack.
 * A HarnessError is loadlens failing to do its job (target unreachable from the start,
 * a required probe that cannot start): exit 3.
 */
export class UsageError extends Error {
  readonly exitCode = 2
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'UsageError'
  }
}

/** A mistake in the scenario found while it runs (an unknown request option): the run stops at once, exit 2. */
export class ScenarioMistake extends UsageError {
  constructor (message: string) {
    super(message)
    this.name = 'ScenarioMistake'
  }
}

export class HarnessError extends Error {
  readonly exitCode = 3
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'HarnessError'
  }
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
    const code = (err as { code?: unknown }).code
    return typeof code === 'string' && !err.message.includes(code) ? `${code}: ${err.message}` : err.message
  }
  return String(err)
}
