// One probe answer shared by the callers of one readiness request, never reused by the next.
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber } from "effect"
import { shareInFlight } from "../../src/app/ProbesLive.js"

describe("shareInFlight", () => {
  it.live("callers that arrive while a probe runs share it; the next call probes again", () =>
    Effect.gen(function* () {
      let calls = 0
      const gate = yield* Deferred.make<void>()
      const probe = shareInFlight(
        Effect.zipRight(
          Effect.sync(() => ++calls),
          Effect.as(Deferred.await(gate), { ok: true, detail: "pong" })
        )
      )
      const waiting = yield* Effect.forkAll([probe, probe, probe])
      yield* Effect.sleep("20 millis")
      yield* Deferred.succeed(gate, undefined)
      expect(yield* Fiber.join(waiting)).toEqual([
        { ok: true, detail: "pong" },
        { ok: true, detail: "pong" },
        { ok: true, detail: "pong" }
      ])
      expect(calls).toBe(1)
      yield* probe
      expect(calls).toBe(2)
    })
  )

  it.live("when the first caller gives up, the others get a down answer, not an interruption", () =>
    Effect.gen(function* () {
      let calls = 0
      const probe = shareInFlight(
        Effect.zipRight(
          Effect.sync(() => ++calls),
          Effect.never
        )
      )
      const first = yield* Effect.fork(probe)
      yield* Effect.sleep("10 millis")
      const second = yield* Effect.fork(probe)
      yield* Effect.sleep("10 millis")
      yield* Fiber.interrupt(first)
      expect(yield* Fiber.join(second)).toEqual({ ok: false, detail: "no answer: the probe was interrupted" })
      // And the next caller starts afresh instead of waiting on the abandoned probe.
      const third = yield* Effect.fork(probe)
      yield* Effect.sleep("10 millis")
      expect(calls).toBe(2)
      yield* Fiber.interrupt(third)
    })
  )
})
