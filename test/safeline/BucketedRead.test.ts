// The time-bucketed statistics cache: one read per bucket however many turns ask at once, a new
// read in the next bucket, failures never kept, and a caller interrupted mid-read harmless to the
// others; over the simulator, the protection mode is still read on every call.
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Layer, Ref, TestClock } from "effect"
import { COUNTER_BUCKET_MS, makeBucketedRead, QPS_BUCKET_MS } from "../../src/safeline/BucketedRead.js"
import { SafeLineClient } from "../../src/safeline/SafeLineClient.js"
import { SafeLineOps } from "../../src/safeline/SafeLineOps.js"
import { simulatorAndClient } from "./SafeLineFixture.js"

describe("makeBucketedRead", () => {
  it.effect("concurrent callers in one bucket share one read; the next bucket reads again", () =>
    Effect.gen(function* () {
      const reads = yield* Ref.make<Array<number>>([])
      const gate = yield* Deferred.make<void>()
      const read = yield* makeBucketedRead(5_000, (now) =>
        Effect.zipRight(
          Ref.update(reads, (all) => [...all, now]),
          Effect.as(Deferred.await(gate), now)
        )
      )
      yield* TestClock.setTime(12_000)
      const callers = yield* Effect.forkAll(Array.from({ length: 50 }, () => read))
      yield* Effect.yieldNow()
      yield* Deferred.succeed(gate, undefined)
      const answers = yield* Fiber.join(callers)
      expect(new Set(answers)).toEqual(new Set([12_000]))
      yield* TestClock.setTime(14_999)
      expect(yield* read).toBe(12_000)
      expect((yield* Ref.get(reads)).length).toBe(1)
      // Never older than its bucket: at 15 000 the next bucket starts.
      yield* TestClock.setTime(15_000)
      expect(yield* read).toBe(15_000)
      expect(yield* Ref.get(reads)).toEqual([12_000, 15_000])
    })
  )

  it.effect("a failed read is not kept: the next caller reads again", () =>
    Effect.gen(function* () {
      const attempts = yield* Ref.make(0)
      const read = yield* makeBucketedRead(60_000, () =>
        Effect.flatMap(
          Ref.updateAndGet(attempts, (n) => n + 1),
          (n) => (n === 1 ? Effect.fail("SafeLine down" as const) : Effect.succeed(n))
        )
      )
      expect(Exit.isFailure(yield* Effect.exit(read))).toBe(true)
      expect(yield* read).toBe(2)
      expect(yield* read).toBe(2)
      expect(yield* Ref.get(attempts)).toBe(2)
    })
  )

  it.effect("the first caller interrupted mid-read does not interrupt the others waiting for it", () =>
    Effect.gen(function* () {
      const gate = yield* Deferred.make<void>()
      const read = yield* makeBucketedRead(5_000, () => Effect.as(Deferred.await(gate), "answer"))
      const first = yield* Effect.fork(read)
      yield* Effect.yieldNow()
      const second = yield* Effect.fork(read)
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(first)
      yield* Deferred.succeed(gate, undefined)
      expect(yield* Fiber.join(second)).toBe("answer")
    })
  )
})

describe("traffic statistics over the simulator", () => {
  it.scopedLive("one read of QPS and of the 24 h counters per bucket; the protection mode every time", () =>
    Effect.gen(function* () {
      const { simulator, client } = yield* simulatorAndClient()
      const ops = yield* Effect.provide(
        SafeLineOps,
        SafeLineOps.layer.pipe(Layer.provide(Layer.succeed(SafeLineClient, client)))
      )
      const count = (path: string) => simulator.requestCount("GET", path)
      yield* Effect.all(
        Array.from({ length: 20 }, () => Effect.all([ops.trafficStats, ops.protectionMode])),
        { concurrency: "unbounded" }
      )
      // Both reads may straddle a bucket boundary: at most two reads each, never twenty.
      expect(yield* count("/api/stat/qps")).toBeLessThanOrEqual(2)
      expect(yield* count("/api/stat/advance/access")).toBeLessThanOrEqual(2)
      expect(yield* count("/api/stat/advance/attack")).toBeLessThanOrEqual(2)
      expect(yield* count("/api/open/global/mode")).toBe(20)
      // A named range is read as asked, not from the shared 24 h counters.
      const before = yield* count("/api/stat/advance/access")
      const now = Date.now()
      const ranged = yield* ops.trafficStatsOver({ startMs: now - 3_600_000, endMs: now })
      expect(ranged.windowSeconds).toBe(3600)
      expect(yield* count("/api/stat/advance/access")).toBe(before + 1)
      expect(QPS_BUCKET_MS).toBeLessThan(COUNTER_BUCKET_MS)
    })
  )
})
