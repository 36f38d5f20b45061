// A SafeLine read whose answer only changes per time bucket (QPS per 5-second bucket, the 24 h
// counters per minute), shared through an Effect Cache keyed by the bucket: concurrent turns in
// one bucket make one read, and an answer is never served outside the bucket it was read in.
import { Cache, Clock, Duration, Effect, Exit, Fiber } from "effect"

/** The QPS series moves on in 5-second buckets (SafeLine's own resolution). */
export const QPS_BUCKET_MS = 5_000
/** The access and attack counters over the last 24 h, read at most once a minute. */
export const COUNTER_BUCKET_MS = 60_000

/**
 * `read(nowMs)` once per bucket of `bucketMs`; a failed read is not kept (the next caller
 * retries), though the callers already waiting for it share its failure.
 */
export const makeBucketedRead = <A, E>(
  bucketMs: number,
  read: (nowMs: number) => Effect.Effect<A, E>
): Effect.Effect<Effect.Effect<A, E>> =>
  Effect.map(
    Cache.makeWith({
      // The current bucket and, across a boundary, the one before it.
      capacity: 2,
      lookup: (_bucket: number) => Effect.flatMap(Clock.currentTimeMillis, read),
      timeToLive: (exit) => (Exit.isSuccess(exit) ? Duration.millis(bucketMs) : Duration.zero)
    }),
    (cache) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const bucket = Math.floor(now / bucketMs)
        // The read runs in its own fiber: a turn interrupted while it waits must not interrupt
        // the read the other turns of the bucket wait for too. A failure is dropped at once
        // (its time to live of zero still lets it answer within the same millisecond).
        return Effect.flatMap(
          Effect.forkDaemon(Effect.tapError(cache.get(bucket), () => cache.invalidate(bucket))),
          Fiber.join
        )
      })
  )
