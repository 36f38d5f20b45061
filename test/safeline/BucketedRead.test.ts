// The time-bucketed statistics cache: one read per bucket however many turns ask at once, a new
// read in the next bucket, failures never kept, and a caller interrupted mid-read harmless to the
// others; over the simulator, the protection mode is still read on every call, any failed call
// forgets the statistics, and the shared read's span stays in the first caller's trace.
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Layer, Ref, TestClock } from "effect"
import { COUNTER_BUCKET_MS, makeBucketedRead, QPS_BUCKET_MS } from "../../src/safeline/BucketedRead.js"
import { SafeLineClient } from "../../src/safeline/SafeLineClient.js"
import { SafeLineOps } from "../../src/safeline/SafeLineOps.js"
import { inMemorySpans } from "../support/spans.js"
import { simulatorAndClient } from "./SafeLineFixture.js"

describe("makeBucketedRead", () => {
  it.effect("concurrent callers in one bucket share one read; the next bucket reads again", () =>
    Effect.gen(function* () {
      const reads = yield* Ref.make<Array<number>>([])
      const gate = yield* Deferred.make<void>()
      const { get: read } = makeBucketedRead(5_000, (now) =>
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
      const { get: read } = makeBucketedRead(60_000, () =>
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
      const { get: read } = makeBucketedRead(5_000, () => Effect.as(Deferred.await(gate), "answer"))
      const first = yield* Effect.fork(read)
      yield* Effect.yieldNow()
      const second = yield* Effect.fork(read)
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(first)
      yield* Deferred.succeed(gate, undefined)
      expect(yield* Fiber.join(second)).toBe("answer")
    })
  )
  it.effect("forget drops the held answer: the next caller reads again within the bucket", () =>
    Effect.gen(function* () {
      const reads = yield* Ref.make(0)
      const cached = makeBucketedRead(60_000, () => Ref.updateAndGet(reads, (n) => n + 1))
      expect(yield* cached.get).toBe(1)
      expect(yield* cached.get).toBe(1)
      cached.forget()
      expect(yield* cached.get).toBe(2)
    })
  )
})

/** Waits out the end of a 5-second QPS bucket, so two calls right after share one bucket. */
const awayFromBucketEdge = Effect.suspend(() => {
  const left = QPS_BUCKET_MS - (Date.now() % QPS_BUCKET_MS)
  return left < 1_000 ? Effect.sleep(left + 10) : Effect.void
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

  it.scopedLive("any failed SafeLine call forgets the statistics: the next turn sees the outage", () =>
    Effect.gen(function* () {
      const { simulator, client } = yield* simulatorAndClient({}, { retries: 0 })
      const ops = yield* Effect.provide(
        SafeLineOps,
        SafeLineOps.layer.pipe(Layer.provide(Layer.succeed(SafeLineClient, client)))
      )
      yield* awayFromBucketEdge
      yield* ops.trafficStats
      const reads = yield* simulator.requestCount("GET", "/api/stat/qps")
      yield* ops.trafficStats
      expect(yield* simulator.requestCount("GET", "/api/stat/qps")).toBe(reads)
      // SafeLine starts failing: the mode read fails, and the statistics are read again (and fail).
      yield* simulator.setFailure("http500")
      expect(Exit.isFailure(yield* Effect.exit(ops.protectionMode))).toBe(true)
      expect(Exit.isFailure(yield* Effect.exit(ops.trafficStats))).toBe(true)
      // Back up (once the failed reads still in flight have settled): read afresh, then shared again.
      yield* Effect.sleep("100 millis")
      yield* simulator.setFailure("none")
      yield* awayFromBucketEdge
      const down = yield* simulator.requestCount("GET", "/api/stat/qps")
      yield* ops.trafficStats
      expect(yield* simulator.requestCount("GET", "/api/stat/qps")).toBe(down + 1)
      yield* ops.trafficStats
      expect(yield* simulator.requestCount("GET", "/api/stat/qps")).toBe(down + 1)
    })
  )

  it.scopedLive("the shared read's HTTP span is a child of the first caller's span, in its trace", () => {
    const { exporter, layer: tracing } = inMemorySpans()
    return Effect.gen(function* () {
      const { client } = yield* simulatorAndClient()
      const ops = yield* Effect.provide(
        SafeLineOps,
        SafeLineOps.layer.pipe(Layer.provide(Layer.succeed(SafeLineClient, client)))
      )
      yield* ops.trafficStats.pipe(
        Effect.withSpan("execute_tool tool_get_traffic_stats", {
          attributes: { "gen_ai.conversation.id": "s-1", "turn.id": "t-1" }
        })
      )
      const spans = exporter.getFinishedSpans()
      const tool = spans.find((s) => s.name === "execute_tool tool_get_traffic_stats")!
      const reads = spans.filter((s) => s.attributes["http.request.method"] === "GET")
      expect(reads.length).toBe(3)
      for (const read of reads) {
        expect(read.spanContext().traceId).toBe(tool.spanContext().traceId)
        expect(read.attributes["gen_ai.conversation.id"]).toBe("s-1")
        expect(read.parentSpanContext?.spanId ?? (read as { parentSpanId?: string }).parentSpanId).toBe(
          tool.spanContext().spanId
        )
      }
    }).pipe(Effect.provide(tracing))
  })
})
