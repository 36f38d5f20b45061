// Event lines built in place in slabs are the very bytes JSON.stringify gives for the stamped event
// (field order, escaping, redaction), whatever the ids, names and metadata; lines that cross slab
// boundaries or outgrow a slab read back whole; the writer sends queued ranges to disk in order.
import { readFileSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import fc from "fast-check"
import { TRACE_EVENTS } from "../../src/observability/Labels.js"
import { LineSlabs, parseLine } from "../../src/observability/LineSlabs.js"
import { appendEventLine, makeEvent, stampOf } from "../../src/observability/TraceEvent.js"
import { tempJsonlWriter } from "../support/tempJsonlWriter.js"

const text = fc.string({ unit: "binary", maxLength: 40 })
const lineOf = (slabs: LineSlabs) => slabs.slab.toString("utf8", slabs.start, slabs.end)

describe("appendEventLine", () => {
  it("writes JSON.stringify of the stamped event, byte for byte, newline after", () => {
    fc.assert(
      fc.property(
        fc.record({ sessionId: text, turnId: text, traceId: text, spanId: text }),
        fc.boolean(),
        fc.oneof(fc.constantFrom(...TRACE_EVENTS), text),
        fc.oneof(
          fc.dictionary(text, fc.jsonValue()),
          fc.constant({ reply: "confirm 482913", password: "hunter2", note: "ops@example.com" })
        ),
        fc.integer({ min: 0, max: 253_402_300_799_999 }),
        (ids, inTurn, event, metadata, ms) => {
          const principal = { name: "p", role: "viewer" } as const
          const turn = inTurn
            ? { sessionId: ids.sessionId, turnId: ids.turnId, traceId: ids.traceId, principal }
            : undefined
          const stamp = stampOf({ turn, traceId: ids.traceId, spanId: ids.spanId })
          const slabs = new LineSlabs()
          appendEventLine(slabs, ms, stamp, event, metadata)
          expect(lineOf(slabs)).toBe(`${JSON.stringify(makeEvent(ms, stamp, event, metadata))}\n`)
        }
      )
    )
  })

  it("leaves out metadata that serialises to nothing, as JSON.stringify does", () => {
    const stamp = stampOf({ turn: undefined, traceId: "t", spanId: "s" })
    const slabs = new LineSlabs()
    const metadata = undefined as unknown as Record<string, unknown>
    appendEventLine(slabs, 0, stamp, "turn.started", metadata)
    expect(lineOf(slabs)).toBe(`${JSON.stringify(makeEvent(0, stamp, "turn.started", metadata))}\n`)
    expect(JSON.parse(lineOf(slabs))).not.toHaveProperty("metadata")
  })
})

describe("LineSlabs", () => {
  it("reads back every line, across slab boundaries and when one line outgrows a slab", () => {
    const slabs = new LineSlabs()
    const lines = Array.from({ length: 20_000 }, (_, i) =>
      JSON.stringify({ i, text: i === 10_000 ? "é".repeat(400_000) : `line ${i} \u2028 😀` })
    )
    const places = lines.map((line) => {
      slabs.append(line)
      return [slabs.slab, slabs.start, slabs.end] as const
    })
    expect(new Set(places.map(([slab]) => slab)).size).toBeGreaterThan(2)
    places.forEach(([slab, start, end], i) => {
      expect(slab.toString("utf8", start, end)).toBe(`${lines[i]}\n`)
      expect(parseLine(slab, start, end)).toEqual(JSON.parse(lines[i]!))
    })
  })
})

describe("JSONL writer ranges", () => {
  it.scopedLive("writes queued ranges in order, around lines it dropped when full", () =>
    Effect.gen(function* () {
      const { path, writer, dropped } = yield* tempJsonlWriter(100)
      const slabs = new LineSlabs()
      const kept: Array<number> = []
      // Synchronously, so the 100-line queue overflows: lines 100..149 are dropped, leaving a gap
      // in the slab between the ranges before and after the flush.
      for (let i = 0; i < 150; i++) {
        slabs.append(JSON.stringify({ i }))
        if (writer.writeRange(slabs.slab, slabs.start, slabs.end)) kept.push(i)
      }
      yield* writer.flush
      for (let i = 150; i < 200; i++) {
        if (i % 2 === 0) {
          slabs.append(JSON.stringify({ i }))
          writer.writeRange(slabs.slab, slabs.start, slabs.end)
        } else writer.writeLine(JSON.stringify({ i }))
        kept.push(i)
      }
      yield* writer.flush
      const written = readFileSync(path, "utf8")
        .split("\n")
        .filter((l) => l !== "")
      expect(written.map((l) => JSON.parse(l).i)).toEqual(kept)
      expect(dropped()).toBe(50)
    })
  )
})
