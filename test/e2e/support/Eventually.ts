// Bounded polling for facts that become true a little later (a scrape, a span batch, a log
// line): retries until the check passes, then fails with the last reason once time is up.

export interface EventuallyOptions {
  /** What is awaited, for the failure message. */
  readonly what: string
  readonly timeoutMs?: number
  readonly intervalMs?: number
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Runs `check` until it returns without throwing and returns its value; after `timeoutMs`
 * (default 20 s) throws an error naming `what` and the last failure.
 */
export const eventually = async <A>(check: () => Promise<A> | A, options: EventuallyOptions): Promise<A> => {
  const timeoutMs = options.timeoutMs ?? 20_000
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      return await check()
    } catch (error) {
      lastError = error
    }
    if (Date.now() >= deadline) break
    await sleep(options.intervalMs ?? 250)
  }
  const reason = lastError instanceof Error ? lastError.message : String(lastError)
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.what}: ${reason}`)
}
