import { describe, expect, it } from "@effect/vitest"
import { Effect, Ref } from "effect"
import fc from "fast-check"
import { allToolCalls, formatNumber } from "../../src/agent/Compose.js"

describe("formatNumber", () => {
  it("writes every integer exactly as Intl's en-US grouping does (the fast path included)", () => {
    const intl = new Intl.NumberFormat("en-US")
    const integers = fc.oneof(
      fc.integer({ min: -1_000_000, max: 1_000_000 }),
      fc.maxSafeInteger(),
      fc.constantFrom(0, -0, 999, 1000, -1000, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2 ** 60)
    )
    fc.assert(
      fc.property(integers, (n) => {
        expect(formatNumber(n)).toBe(intl.format(n))
      }),
      { numRuns: 20_000 }
    )
    expect(formatNumber(1234.56)).toBe("1,234.6")
  })
})

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
