// A SafeLine read whose answer only changes per time bucket (QPS per 5-second bucket, the 24 h
// counters per minute), shared by the turns of one bucket: concurrent turns make one read, and an
// answer is never served outside the bucket it was read in. Only statistics are read this way:
// the protection mode and the blocklist, which another replica may have just changed, never are.
import { Clock, Deferred, Effect, Exit, FiberId } from "effect"

/** The QPS series moves on in 5-second buckets (SafeLine's own resolution). */
export const QPS_BUCKET_MS = 5_000
/** The access and attack counters over the last 24 h, read at most once a minute. */
export const COUNTER_BUCKET_MS = 60_000

export interface BucketedRead<A, E> {
  /** The bucket's answer: read by the first caller of the bucket, awaited by the others. */
  readonly get: Effect.Effect<A, E>
  /** Forgets the answer held, so the next caller reads again (SafeLine just failed a call). */
  readonly forget: () => void
}

interface Slot<A, E> {
  readonly bucket: number
  readonly answer: Deferred.Deferred<A, E>
}

/**
 * `read(nowMs)` at most once per bucket of `bucketMs`. A failed read is not kept: the callers
 * already waiting share its failure, the next one reads again.
 */
export const makeBucketedRead = <A, E>(
  bucketMs: number,
  read: (nowMs: number) => Effect.Effect<A, E>
): BucketedRead<A, E> => {
  let held: Slot<A, E> | undefined
  const forgetIf = (slot: Slot<A, E>) => {
    if (held === slot) held = undefined
  }
  const get = Effect.flatMap(Clock.currentTimeMillis, (now) => {
    const bucket = Math.floor(now / bucketMs)
    // Checked and claimed in one synchronous step, so two turns cannot both start a read.
    const current = held
    if (current !== undefined && current.bucket === bucket) return Deferred.await(current.answer)
    const slot: Slot<A, E> = { bucket, answer: Deferred.unsafeMake<A, E>(FiberId.none) }
    held = slot
    // The read runs in a fiber of its own (forked from the caller, so its span is still a child
    // of the caller's tool span): a turn interrupted while it waits must not interrupt the read
    // the other turns of the bucket wait for.
    const settle = Effect.flatMap(Effect.exit(read(now)), (exit) => {
      if (Exit.isFailure(exit)) forgetIf(slot)
      return Deferred.done(slot.answer, exit)
    })
    return Effect.zipRight(Effect.forkDaemon(settle), Deferred.await(slot.answer))
  })
  return {
    get,
    forget: () => {
      held = undefined
    }
  }
}
