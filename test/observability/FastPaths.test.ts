// The per-event fast paths keep the public contract: timestamps formatted at write time equal
// toISOString, precomputed tagged metrics are the very series withLabels names (an unknown label
// set still lands), the recent-turns index answers what is on disk and forgets the oldest turns,
// and hostile metadata (secrets, huge text, odd session ids) is written redacted and parseable.
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Metric } from "effect"
import fc from "fast-check"
import { LOCAL_CLI_PRINCIPAL } from "../../src/domain/Principal.js"
import { AgentMetrics, taggedTable, withLabels } from "../../src/observability/AgentMetrics.js"
import { withTurnSpan } from "../../src/observability/Correlation.js"
import { formatTimestamp } from "../../src/observability/TraceEvent.js"
import { TraceSink } from "../../src/observability/TraceSink.js"
import { readJsonl } from "../support/jsonl.js"
import { testConfig } from "../support/layers.js"
import { tempJsonlWriter } from "../support/tempJsonlWriter.js"

const fileSink = (env: Record<string, string>) =>
  TraceSink.layer.pipe(Layer.provideMerge(AgentMetrics.layer), Layer.provide(testConfig(env)))

describe("formatTimestamp", () => {
  it("is toISOString for any time a service stamps, in any order", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 253_402_300_799_999 }), { maxLength: 20 }), (times) => {
        for (const ms of times) expect(formatTimestamp(ms)).toBe(new Date(ms).toISOString())
      })
    )
    // Same second, then the next one, then back: the cached prefix never leaks across seconds.
    for (const ms of [1_700_000_000_000, 1_700_000_000_999, 1_700_000_001_000, 1_700_000_000_001, 5, 999]) {
      expect(formatTimestamp(ms)).toBe(new Date(ms).toISOString())
    }
  })
})

describe("taggedTable", () => {
  it("returns the series withLabels names; an unknown label set still lands in its own series", () => {
    const metric = Metric.counter(`fast_paths_test_total_${Date.now()}`, { incremental: true })
    const table = taggedTable(metric, ["agent", "status"], [["monitor", "ok"]])
    table("monitor", "ok").unsafeUpdate(2, [])
    withLabels(metric, { status: "ok", agent: "monitor" }).unsafeUpdate(1, [])
    table("<script>", "ok").unsafeUpdate(5, [])
    expect(withLabels(metric, { agent: "monitor", status: "ok" }).unsafeValue([]).count).toBe(3)
    expect(withLabels(metric, { agent: "<script>", status: "ok" }).unsafeValue([]).count).toBe(5)
  })
})

describe("recent-turns index", () => {
  it.live("answers a turn's events as they are on disk, per principal, and forgets turns beyond 2000", () => {
    const path = join(mkdtempSync(join(tmpdir(), "fast-")), "traces.jsonl")
    return Effect.gen(function* () {
      const sink = yield* TraceSink
      for (let turn = 1; turn <= 2001; turn++) {
        yield* Effect.all([
          sink.emit("turn.started", { message_chars: turn }),
          sink.emit("turn.completed", { duration_seconds: 0.1, status: "ok" })
        ]).pipe(withTurnSpan("s-index", String(turn), LOCAL_CLI_PRINCIPAL))
      }
      yield* sink.flush
      const onDisk = readJsonl(path).filter((e) => e.turn_id === "2001")
      expect(yield* sink.eventsOfTurn(LOCAL_CLI_PRINCIPAL, "s-index", "2001")).toEqual(onDisk)
      expect(yield* sink.eventsOfTurn(LOCAL_CLI_PRINCIPAL, "s-index", "1")).toEqual([])
      expect(yield* sink.eventsOfTurn(LOCAL_CLI_PRINCIPAL, "s-index", "2")).toHaveLength(2)
      expect(yield* sink.eventsOfTurn({ name: "someone-else", role: "viewer" }, "s-index", "2001")).toEqual([])
    }).pipe(Effect.provide(fileSink({ AGENT_TRACE_JSONL_PATH: path })))
  })

  it.live("hostile metadata is written redacted, one valid JSON line per event", () => {
    const path = join(mkdtempSync(join(tmpdir(), "fast-")), "traces.jsonl")
    return Effect.gen(function* () {
      const sink = yield* TraceSink
      const huge = "x".repeat(300_000)
      yield* Effect.all([
        sink.emit("tool.call", { error: `token=sk-abcdef0123456789abcdef\n"quoted"\u2028${huge}`, nonce: "482913" }),
        sink.emit("turn.completed", { reply: "line\r\nbreak \u0000 nul", nested: { password: "hunter2", deep: [1] } })
      ]).pipe(withTurnSpan('s-"odd"\n', "1", LOCAL_CLI_PRINCIPAL))
      yield* sink.flush
      const text = readFileSync(path, "utf8")
      expect(text).not.toContain("sk-abcdef0123456789abcdef")
      expect(text).not.toContain("482913")
      expect(text).not.toContain("hunter2")
      const lines = text.split("\n").filter((l) => l !== "")
      expect(lines).toHaveLength(2)
      const events = lines.map((l) => JSON.parse(l))
      expect(events.map((e) => e.session_id)).toEqual(['s-"odd"\n', 's-"odd"\n'])
      expect(yield* sink.eventsOfTurn(LOCAL_CLI_PRINCIPAL, 's-"odd"\n', "1")).toEqual(events)
    }).pipe(Effect.provide(fileSink({ AGENT_TRACE_JSONL_PATH: path })))
  })
})

describe("JSONL writer", () => {
  it.scopedLive(
    "writes 20 000 lines coalesced into batches, in order, none dropped; an idle flush returns at once",
    () =>
      Effect.gen(function* () {
        const { path, writer, dropped } = yield* tempJsonlWriter(100_000)
        for (let i = 0; i < 20_000; i++) expect(writer.writeLine(JSON.stringify({ i }))).toBe(true)
        yield* writer.flush
        const lines = readJsonl(path)
        expect(lines.map((l) => l.i)).toEqual([...Array(20_000).keys()])
        expect(dropped()).toBe(0)
        // A flush with nothing pending returns at once.
        yield* writer.flush
      })
  )
})
