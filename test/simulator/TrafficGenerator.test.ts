// The traffic generator is a pure function of its seed and slice: same inputs, same traffic;
// over time it covers the attack families, sources and countries a demo needs.
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { generateSlice, SLICE_MS } from "../../src/simulator/TrafficGenerator.js"
import { ATTACKERS, LISTENERS } from "../../src/simulator/TrafficProfile.js"

const START = Date.UTC(2025, 5, 1, 14, 0, 0)

const slices = (seed: number, count: number) =>
  Array.from({ length: count }, (_, i) => {
    const bucket = START / SLICE_MS + i
    return generateSlice(seed, String(bucket), String(Math.floor(bucket / 60)), bucket * SLICE_MS)
  })

describe("generateSlice", () => {
  it("is deterministic for a seed and slice, and differs across seeds", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: 0, max: 10_000 }), (seed, bucket) => {
        const a = generateSlice(seed, String(bucket), String(Math.floor(bucket / 60)), bucket * SLICE_MS)
        const b = generateSlice(seed, String(bucket), String(Math.floor(bucket / 60)), bucket * SLICE_MS)
        expect(b).toEqual(a)
      }),
      { numRuns: 50 }
    )
    expect(slices(1, 50)).not.toEqual(slices(2, 50))
  })

  it("produces normal traffic on every listener, attacks included in the counts", () => {
    for (const slice of slices(7, 100)) {
      for (const listener of LISTENERS) expect(slice.requests[listener]).toBeGreaterThan(0)
      const total = Object.values(slice.requests).reduce((a, b) => a + b, 0)
      expect(total).toBeGreaterThan(slice.attacks.length)
      for (const attack of slice.attacks) {
        expect(attack.offsetMs).toBeGreaterThanOrEqual(0)
        expect(attack.offsetMs).toBeLessThan(SLICE_MS)
      }
    }
  })

  it("over an hour, attacks come from several IPs and countries with the main attack families", () => {
    const attacks = slices(7, 720).flatMap((s) => s.attacks)
    const types = new Set(attacks.map((a) => a.template.attackType))
    for (const type of [0, 1, 9, 20, 21]) expect(types).toContain(type)
    expect(new Set(attacks.filter((a) => ATTACKERS.some((x) => x.ip === a.ip)).map((a) => a.ip)).size).toBeGreaterThan(
      5
    )
    expect(new Set(attacks.map((a) => a.country)).size).toBeGreaterThan(4)
    // A few hundred attack requests an hour, not thousands per minute.
    expect(attacks.length).toBeGreaterThan(300)
    expect(attacks.length).toBeLessThan(10_000)
  })
})
