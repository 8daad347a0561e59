/** Waiting with a bound that leaves no timer behind (a pending timer would keep the process alive). */

/** Resolves with the promise's value, or with `onTimeout` after `ms` milliseconds, whichever comes first; the timer is cleared either way. */
export async function within<T, U = undefined> (promise: Promise<T>, ms: number, onTimeout?: U): Promise<T | U> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<U>((resolve) => { timer = setTimeout(() => resolve(onTimeout as U), ms) })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Rejects with an Error of `message` after `ms` milliseconds unless the promise settles first; the timer is cleared either way. */
export function rejectAfter<T> (promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(message)), ms) })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
