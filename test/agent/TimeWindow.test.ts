// The window parser, as a table: each phrase an operator types, and the range (UTC) it must mean.
import { describe, expect, it } from "vitest"
import { parseTimeWindow } from "../../src/agent/TimeWindow.js"

const NOW = Date.parse("2026-11-30T14:30:00Z")
const at = (iso: string) => Date.parse(iso)
const H = 3_600_000

describe("parseTimeWindow", () => {
  const ranges: ReadonlyArray<readonly [string, number, number, string]> = [
    ["what attacked us in the last hour", NOW - H, NOW, "the last hour"],
    ["attacks for the last 24 hours", NOW - 24 * H, NOW, "the last 24 hours"],
    ["show events of the last 24h", NOW - 24 * H, NOW, "the last 24 hours"],
    ["anything in the past 3 days?", NOW - 72 * H, NOW, "the last 3 days"],
    ["past three days please", NOW - 72 * H, NOW, "the last 3 days"],
    ["in the previous 30 minutes", NOW - 30 * 60_000, NOW, "the last 30 minutes"],
    ["last 15 mins", NOW - 15 * 60_000, NOW, "the last 15 minutes"],
    ["last week", NOW - 7 * 24 * H, NOW, "the last week"],
    ["blocked events since 9:00", at("2026-11-30T09:00:00Z"), NOW, "since 09:00 UTC today"],
    ["since 9am", at("2026-11-30T09:00:00Z"), NOW, "since 09:00 UTC today"],
    ["since 2pm", at("2026-11-30T14:00:00Z"), NOW, "since 14:00 UTC today"],
    ["since 13:45 utc", at("2026-11-30T13:45:00Z"), NOW, "since 13:45 UTC today"],
    ["what happened today", at("2026-11-30T00:00:00Z"), NOW, "today (since 00:00 UTC)"],
    ["top attackers yesterday", at("2026-11-29T00:00:00Z"), at("2026-11-30T00:00:00Z") - 1, "yesterday (UTC)"],
    ["since yesterday", at("2026-11-29T00:00:00Z"), NOW, "since yesterday 00:00 UTC"],
    ["since 2026-11-01", at("2026-11-01T00:00:00Z"), NOW, "since 2026-11-01 00:00 UTC"]
  ]
  for (const [message, startMs, endMs, label] of ranges) {
    it(`reads "${message}"`, () => {
      expect(parseTimeWindow(message, NOW)).toEqual({ kind: "range", startMs, endMs, label })
    })
  }

  const unservable: ReadonlyArray<readonly [string, RegExp]> = [
    ["since 18:00", /still ahead/],
    ["since 25:00", /not a time of day/],
    ["in the last 0 hours", /empty/],
    ["last 2 years of attacks", /longer than the 90 days/],
    ["attacks since last tuesday", /cannot read/],
    ["what happened last quarter", /cannot read/],
    ["since 2027-01-01", /still ahead/]
  ]
  for (const [message, reason] of unservable) {
    it(`says it cannot serve "${message}"`, () => {
      const window = parseTimeWindow(message, NOW)
      expect(window.kind).toBe("unservable")
      if (window.kind === "unservable") expect(window.reason).toMatch(reason)
    })
  }

  for (const message of ["show recent attacks", "events from 203.0.113.7", "which ips are attacking us"]) {
    it(`asks for no window in "${message}"`, () => {
      expect(parseTimeWindow(message, NOW)).toEqual({ kind: "none" })
    })
  }
})
