// A time window is served the way SafeLine pages: every event in the range, 100 a page, with the
// range sent as start/end (ms); the figures equal a count over the simulator's own pages, and a
// cap on the pages says the summary is incomplete instead of passing it off as the whole window.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import type { AttackEvent } from "../../src/safeline/SafeLineApi.js"
import { SafeLineClient, type SafeLineClientService } from "../../src/safeline/SafeLineClient.js"
import { SafeLineOps } from "../../src/safeline/SafeLineOps.js"
import { simulatorAndClient } from "./SafeLineFixture.js"

const HOUR = 3_600_000

const allEvents = (client: SafeLineClientService, start: number, end: number) =>
  Effect.gen(function* () {
    const all: Array<AttackEvent> = []
    for (let page = 1; ; page++) {
      const batch = yield* client.listEvents({ start, end, page, pageSize: 100 })
      all.push(...batch.nodes)
      if (batch.nodes.length === 0 || all.length >= batch.total) return all
    }
  })

describe("windowed attack summary", () => {
  it.scopedLive("pages through every event of the window and counts them all", () =>
    Effect.gen(function* () {
      const now = Date.now()
      const { simulator, client } = yield* simulatorAndClient({ historyMinutes: 240, clock: () => now })
      const ops = yield* Effect.provide(
        SafeLineOps,
        SafeLineOps.layer.pipe(Layer.provide(Layer.succeed(SafeLineClient, client)))
      )
      const window = { startMs: now - 3 * HOUR, endMs: now }
      const before = yield* simulator.requestCount("GET", "/api/open/events")
      const summary = yield* ops.attackSummary({ window })
      const reference = yield* allEvents(client, window.startMs, window.endMs)
      expect(reference.length).toBeGreaterThan(100)
      // More than one page was asked for, and every event came back.
      expect((yield* simulator.requestCount("GET", "/api/open/events")) - before).toBeGreaterThan(1)
      expect(summary.window).toEqual(window)
      expect(summary.complete).toBe(true)
      expect(summary.events.length).toBe(reference.length)
      expect(summary.total).toBe(reference.length)
      expect(summary.blocked).toBe(reference.reduce((n, e) => n + e.deny_count, 0))
      expect(summary.passed).toBe(reference.reduce((n, e) => n + e.pass_count, 0))
      expect(summary.sourceIps).toBe(new Set(reference.map((e) => e.ip)).size)
      // Nothing outside the window.
      for (const e of summary.events) expect(e.endAt === 0 || e.endAt >= window.startMs).toBe(true)

      // A narrower window holds fewer events, all inside it.
      const lastHour = yield* ops.attackSummary({ window: { startMs: now - HOUR, endMs: now } })
      expect(lastHour.total).toBeLessThan(summary.total)
      expect(lastHour.total).toBe((yield* allEvents(client, now - HOUR, now)).length)

      // Capped: says it is incomplete, and keeps SafeLine's total.
      const capped = yield* ops.attackSummary({ window, maxEvents: 150 })
      expect(capped.events.length).toBe(150)
      expect(capped.complete).toBe(false)
      expect(capped.total).toBe(reference.length)
    })
  )
})
