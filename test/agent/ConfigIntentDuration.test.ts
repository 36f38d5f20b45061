// Timed changes as operators write them: the duration is read (and bounded), never silently
// dropped, never mistaken for an address or a ban comment; hostile text cannot stretch it.
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import {
  describeDuration,
  MAX_CHANGE_DURATION_MS,
  MIN_CHANGE_DURATION_MS,
  parseConfigIntent
} from "../../src/agent/ConfigIntent.js"

const HOUR = 3_600_000

describe("parseConfigIntent: durations", () => {
  it.each([
    ["turn protection off for an hour", { kind: "set_mode", mode: "off", durationMillis: HOUR }],
    ["switch to detect for 30 minutes", { kind: "set_mode", mode: "detect", durationMillis: HOUR / 2 }],
    ["Switch to detect mode for 30 mins please", { kind: "set_mode", mode: "detect", durationMillis: HOUR / 2 }],
    ["turn protection off for half an hour", { kind: "set_mode", mode: "off", durationMillis: HOUR / 2 }],
    ["strict mode for the next 2 days", { kind: "set_mode", mode: "strict", durationMillis: 48 * HOUR }],
    ["ban 203.0.113.7 for 24 h", { kind: "blacklist_ip", target: "203.0.113.7", durationMillis: 24 * HOUR }],
    ["ban 203.0.113.7 for 24h", { kind: "blacklist_ip", target: "203.0.113.7", durationMillis: 24 * HOUR }],
    [
      "block 198.51.100.0/24 for 1 week",
      { kind: "blacklist_ip", target: "198.51.100.0/24", durationMillis: 168 * HOUR }
    ],
    ["ban 203.0.113.7 for 90 minutes", { kind: "blacklist_ip", target: "203.0.113.7", durationMillis: 1.5 * HOUR }]
  ])("reads %j with its duration", (message, expected) => {
    expect(parseConfigIntent(message)).toMatchObject(expected)
  })

  it("keeps the ban comment apart from the duration, and a comment without a unit is no duration", () => {
    expect(parseConfigIntent("ban 203.0.113.7 for 24 h because it scans us")).toEqual({
      kind: "blacklist_ip",
      target: "203.0.113.7",
      comment: "it scans us",
      durationMillis: 24 * HOUR
    })
    expect(parseConfigIntent("ban 203.0.113.7 for scanning")).toEqual({
      kind: "blacklist_ip",
      target: "203.0.113.7",
      comment: "scanning"
    })
    expect(parseConfigIntent("switch to block mode")).toEqual({ kind: "set_mode", mode: "block" })
  })

  it.each([
    ["switch to detect for 10 seconds", "for 10 seconds"],
    ["turn protection off for 0 minutes", "for 0 minutes"],
    ["turn protection off for 31 days", "for 31 days"],
    ["turn protection off for 5 weeks", "for 5 weeks"],
    ["ban 203.0.113.7 for -5 hours", "for -5 hours"],
    ["ban 203.0.113.7 for 99999999999999999999999 hours", "for 99999999999999999999999 hours"],
    ["ban 203.0.113.7 for 1e9 hours", undefined],
    ["switch to detect until 17:00", "until 17:00"],
    ["ban 203.0.113.7 for 1,5 hours", "for 1,5 hours"]
  ])("refuses %j clearly instead of ignoring the time", (message, requested) => {
    const intent = parseConfigIntent(message)
    if (requested === undefined) {
      // "1e9 hours" is no duration phrase at all: "for 1" without a unit.
      expect(intent.kind === "invalid_duration" || !("durationMillis" in intent)).toBe(true)
      return
    }
    expect(intent).toMatchObject({ kind: "invalid_duration", requested })
    if (intent.kind === "invalid_duration") expect(intent.detail).toMatch(/minute|decimal|length|30 days/)
  })

  it.each(["restore the previous mode for an hour", "unblock 203.0.113.7 for 2 hours"])(
    "refuses a duration on a change that cannot be timed: %j",
    (message) => {
      expect(parseConfigIntent(message)).toMatchObject({
        kind: "invalid_duration",
        detail: expect.stringContaining("only a mode change or a ban can be timed")
      })
    }
  )

  it("leaves messages that are no change alone, duration or not", () => {
    expect(parseConfigIntent("what happened for the last hour?").kind).toBe("none")
    expect(parseConfigIntent("confirm 123456")).toEqual({ kind: "confirm", code: "123456" })
  })

  it("never yields a duration outside the bounds, whatever the number and unit", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: -1_000_000, max: 1_000_000_000 }).map(String), fc.double().map(String), fc.string()),
        fc.constantFrom(
          "s",
          "seconds",
          "m",
          "min",
          "minutes",
          "h",
          "hours",
          "hrs",
          "d",
          "days",
          "w",
          "weeks",
          "fortnights"
        ),
        fc.constantFrom("turn protection off", "ban 203.0.113.7", "switch to detect mode"),
        (amount, unit, order) => {
          const intent = parseConfigIntent(`${order} for ${amount} ${unit}`)
          if ("durationMillis" in intent && intent.durationMillis !== undefined) {
            expect(intent.durationMillis).toBeGreaterThanOrEqual(MIN_CHANGE_DURATION_MS)
            expect(intent.durationMillis).toBeLessThanOrEqual(MAX_CHANGE_DURATION_MS)
            expect(Number.isInteger(intent.durationMillis)).toBe(true)
          }
        }
      )
    )
  })

  it("reads a huge message in bounded time", () => {
    const started = Date.now()
    parseConfigIntent(`ban 203.0.113.7 for ${"9".repeat(50_000)} ${"for ".repeat(20_000)}hours`)
    parseConfigIntent(`turn protection off ${"for the next ".repeat(20_000)}`)
    expect(Date.now() - started).toBeLessThan(1000)
  })

  it("says how long in words", () => {
    expect(describeDuration(HOUR)).toBe("1 hour")
    expect(describeDuration(90 * 60_000)).toBe("1 hour 30 minutes")
    expect(describeDuration(30 * 24 * HOUR)).toBe("30 days")
    expect(describeDuration(60_000)).toBe("1 minute")
  })
})
