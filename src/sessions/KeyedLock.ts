// One mutex per key, in process: FIFO hand-over, a bounded wait, and no entry left behind once a
// key has neither holder nor waiter, so millions of sessions never pile up lock objects.
import { Deferred, type Duration, Effect, Exit, FiberId } from "effect"

/** A place in a key's queue; `granted` is set synchronously when the lock passes to it. */
interface Ticket {
  granted: boolean
  readonly signal: Deferred.Deferred<void>
}

interface Entry {
  holder: Ticket | undefined
  readonly waiting: Array<Ticket>
}

export interface KeyedLock {
  /**
   * Runs `body` holding the key's lock. Waits at most `wait` for an earlier holder, then fails
   * with `onBusy()`. The lock is released (or the place in the queue given up) whatever happens:
   * success, failure, defect, interruption or the wait running out.
   */
  readonly withLock: <E2>(
    key: string,
    wait: Duration.DurationInput,
    onBusy: () => E2
  ) => <A, E, R>(body: Effect.Effect<A, E, R>) => Effect.Effect<A, E | E2, R>
  /** Keys with a holder or a waiter right now. */
  readonly activeKeys: Effect.Effect<number>
}

export const makeKeyedLock = (): KeyedLock => {
  const entries = new Map<string, Entry>()

  // Enqueueing and leaving are synchronous, so ownership is decided in one place and a ticket
  // is either the holder or in the queue at every instant: no window where a lock can leak.
  const enqueue = (key: string): Ticket => {
    let entry = entries.get(key)
    if (entry === undefined) {
      entry = { holder: undefined, waiting: [] }
      entries.set(key, entry)
    }
    const ticket: Ticket = { granted: false, signal: Deferred.unsafeMake<void>(FiberId.none) }
    if (entry.holder === undefined) {
      entry.holder = ticket
      ticket.granted = true
    } else entry.waiting.push(ticket)
    return ticket
  }

  const leave = (key: string, ticket: Ticket): void => {
    const entry = entries.get(key)
    if (entry === undefined) return
    if (entry.holder === ticket) {
      const next = entry.waiting.shift()
      entry.holder = next
      if (next !== undefined) {
        next.granted = true
        Deferred.unsafeDone(next.signal, Exit.void)
      }
    } else {
      const index = entry.waiting.indexOf(ticket)
      if (index >= 0) entry.waiting.splice(index, 1)
    }
    if (entry.holder === undefined && entry.waiting.length === 0) entries.delete(key)
  }

  const withLock =
    <E2>(key: string, wait: Duration.DurationInput, onBusy: () => E2) =>
    <A, E, R>(body: Effect.Effect<A, E, R>): Effect.Effect<A, E | E2, R> =>
      Effect.acquireUseRelease(
        Effect.sync(() => enqueue(key)),
        (ticket) =>
          (ticket.granted
            ? Effect.void
            : Deferred.await(ticket.signal).pipe(Effect.timeoutFail({ duration: wait, onTimeout: onBusy }))
          ).pipe(Effect.zipRight(body)),
        (ticket) => Effect.sync(() => leave(key, ticket))
      )

  return { withLock, activeKeys: Effect.sync(() => entries.size) }
}
