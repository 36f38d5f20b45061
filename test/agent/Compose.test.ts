import { describe, expect, it } from "@effect/vitest"
import { Effect, Ref } from "effect"
import { allToolCalls } from "../../src/agent/Compose.js"

describe("allToolCalls", () => {
  it.live("lets every call finish when one fails, then fails with that failure", () =>
    Effect.gen(function* () {
      const finished = yield* Ref.make<Array<string>>([])
      const slowOk = Effect.sleep("50 millis").pipe(
        Effect.zipRight(Ref.update(finished, (f) => [...f, "slow"])),
        Effect.as("slow result")
      )
      const fastFail = Effect.fail({ _tag: "ToolError", message: "SafeLine down" } as const)
      const error = yield* Effect.flip(allToolCalls([slowOk, fastFail]))
      expect(error.message).toBe("SafeLine down")
      // The healthy call was not cancelled by its sibling's failure.
      expect(yield* Ref.get(finished)).toEqual(["slow"])
    })
  )

  it.live("returns every result, in order, when all succeed", () =>
    Effect.gen(function* () {
      const [a, b] = yield* allToolCalls([Effect.succeed(1), Effect.succeed("two")])
      expect([a, b]).toEqual([1, "two"])
    })
  )
})
