// Bounded polling for facts that become true a little later (a scrape, a span batch, an audit
// line, a reloaded file): retries until the check passes, then fails with the last reason.

export interface EventuallyOptions {
  /** What is awaited, for the failure message. */
  readonly what: string
  /** Default 20 s. */
  readonly timeoutMs?: number
  /** Default 100 ms. */
  readonly intervalMs?: number
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Runs `check` until it passes (returns without throwing, and not `false`) and returns its
 * value; after `timeoutMs` throws an error naming `what` and the last failure.
 */
export const eventually = async <A>(
  check: () => A | Promise<A>,
  options: EventuallyOptions
): Promise<Exclude<A, false>> => {
  const timeoutMs = options.timeoutMs ?? 20_000
  const deadline = Date.now() + timeoutMs
  let reason = "never checked"
  for (;;) {
    try {
      const value = await check()
      if (value !== false) return value as Exclude<A, false>
      reason = "the check still answers false"
    } catch (error) {
      reason = error instanceof Error ? error.message : String(error)
    }
    if (Date.now() >= deadline) break
    await sleep(options.intervalMs ?? 100)
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.what}: ${reason}`)
}
