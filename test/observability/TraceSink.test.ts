import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { LOCAL_CLI_PRINCIPAL } from "../../src/domain/Principal.js"
import { AgentMetrics } from "../../src/observability/AgentMetrics.js"
import { withTurnSpan } from "../../src/observability/Correlation.js"
import { TraceSink } from "../../src/observability/TraceSink.js"
import { sampleValue } from "../support/exposition.js"
import { readJsonl } from "../support/jsonl.js"
import { testConfig } from "../support/layers.js"

const fileSink = (env: Record<string, string>) =>
  TraceSink.layer.pipe(Layer.provideMerge(AgentMetrics.layer), Layer.provide(testConfig(env)))

const dropped = Effect.gen(function* () {
  const m = yield* AgentMetrics
  return sampleValue(yield* m.exposition, `${m.namespace}_agent_trace_events_dropped_total`, { sink: "jsonl" })
})

describe("TraceSink (JSONL)", () => {
  it.live("writes stamped events as JSON lines, creating parent directories", () => {
    const path = join(mkdtempSync(join(tmpdir(), "sink-")), "nested", "dir", "traces.jsonl")
    return Effect.gen(function* () {
      const sink = yield* TraceSink
      yield* sink
        .emit("route.selected", { selected_agent: "monitor" })
        .pipe(withTurnSpan("s-1", "3", LOCAL_CLI_PRINCIPAL))
      yield* sink.flush
      const [event] = readJsonl(path)
      expect(event).toMatchObject({
        event: "route.selected",
        session_id: "s-1",
        turn_id: "3",
        metadata: { selected_agent: "monitor" }
      })
      expect(event.trace_id).toMatch(/^[0-9a-f]{32}$/)
      expect(event.span_id).toMatch(/^[0-9a-f]{16}$/)
      expect(yield* sink.eventsOfTurn(LOCAL_CLI_PRINCIPAL, "s-1", "3")).toHaveLength(1)
    }).pipe(Effect.provide(fileSink({ AGENT_TRACE_JSONL_PATH: path })))
  })

  it.live("a reader sees the events within 100 ms without an explicit flush", () => {
    const path = join(mkdtempSync(join(tmpdir(), "sink-")), "traces.jsonl")
    return Effect.gen(function* () {
      const sink = yield* TraceSink
      yield* sink.emit("turn.started", {})
      yield* Effect.sleep("100 millis")
      expect(readJsonl(path)).toHaveLength(1)
    }).pipe(Effect.provide(fileSink({ AGENT_TRACE_JSONL_PATH: path })))
  })

  it.live("flushes everything queued when the layer shuts down", () => {
    const path = join(mkdtempSync(join(tmpdir(), "sink-")), "traces.jsonl")
    return Effect.gen(function* () {
      yield* Effect.scoped(
        Effect.gen(function* () {
          const sink = yield* TraceSink
          for (let i = 0; i < 500; i++) yield* sink.emit("tool.call", { i })
        }).pipe(Effect.provide(fileSink({ AGENT_TRACE_JSONL_PATH: path })))
      )
      const lines = readJsonl(path)
      expect(lines).toHaveLength(500)
      expect(lines.map((l) => l.metadata.i)).toEqual([...Array(500).keys()])
    })
  })

  it.live("drops and counts events when the queue is full, and keeps serving", () => {
    const path = join(mkdtempSync(join(tmpdir(), "sink-")), "traces.jsonl")
    return Effect.gen(function* () {
      const sink = yield* TraceSink
      // Emitting synchronously never yields to the writer fiber, so the 10-slot queue overflows.
      for (let i = 0; i < 100; i++) yield* sink.emit("tool.call", { i })
      yield* sink.flush
      const written = readJsonl(path).length
      expect(written).toBeGreaterThanOrEqual(10)
      expect(written).toBeLessThan(100)
      expect(yield* dropped).toBe(100 - written)
      yield* sink.emit("turn.completed", {})
      yield* sink.flush
      expect(readJsonl(path).at(-1).event).toBe("turn.completed")
    }).pipe(Effect.provide(fileSink({ AGENT_TRACE_JSONL_PATH: path, AGENT_TRACE_QUEUE_SIZE: "10" })))
  })

  it.live("keeps serving and counts drops when the path is unwritable (ENOTDIR)", () => {
    const dir = mkdtempSync(join(tmpdir(), "sink-"))
    const regularFile = join(dir, "not-a-dir")
    writeFileSync(regularFile, "x")
    return Effect.gen(function* () {
      const sink = yield* TraceSink
      for (let i = 0; i < 5; i++) yield* sink.emit("tool.call", { i })
      yield* sink.flush
      expect(yield* dropped).toBe(5)
      yield* sink.emit("turn.completed", {})
      yield* sink.flush
      expect(yield* dropped).toBe(6)
      expect(yield* sink.eventsOfTurn(LOCAL_CLI_PRINCIPAL, "x", "1")).toEqual([])
    }).pipe(Effect.provide(fileSink({ AGENT_TRACE_JSONL_PATH: join(regularFile, "traces.jsonl") })))
  })

  it.live("counts drops on a full disk (ENOSPC via /dev/full)", () =>
    Effect.gen(function* () {
      const sink = yield* TraceSink
      yield* sink.emit("tool.call", {})
      yield* sink.flush
      expect(yield* dropped).toBe(1)
    }).pipe(Effect.provide(fileSink({ AGENT_TRACE_JSONL_PATH: "/dev/full" })))
  )

  it.live("rotates by size and keeps AGENT_TRACE_MAX_FILES files", () => {
    const dir = mkdtempSync(join(tmpdir(), "sink-"))
    const path = join(dir, "traces.jsonl")
    return Effect.gen(function* () {
      const sink = yield* TraceSink
      for (let i = 0; i < 40; i++) {
        yield* sink.emit("tool.call", { i, padding: "x".repeat(200) })
        yield* sink.flush
      }
      const files = readdirSync(dir).sort()
      expect(files).toEqual(["traces.jsonl", "traces.jsonl.1", "traces.jsonl.2"])
      for (const f of files) expect(readFileSync(join(dir, f)).length).toBeLessThanOrEqual(1000)
      expect(readJsonl(path).at(-1).metadata.i).toBe(39)
      expect(existsSync(`${path}.3`)).toBe(false)
    }).pipe(
      Effect.provide(
        fileSink({ AGENT_TRACE_JSONL_PATH: path, AGENT_TRACE_MAX_FILE_BYTES: "1000", AGENT_TRACE_MAX_FILES: "3" })
      )
    )
  })

  it.live("writes nothing when AGENT_OBSERVABILITY_ENABLED=false", () => {
    const path = join(mkdtempSync(join(tmpdir(), "sink-")), "traces.jsonl")
    return Effect.gen(function* () {
      const sink = yield* TraceSink
      yield* sink.emit("turn.started", {})
      yield* sink.flush
      expect(existsSync(path)).toBe(false)
    }).pipe(Effect.provide(fileSink({ AGENT_TRACE_JSONL_PATH: path, AGENT_OBSERVABILITY_ENABLED: "false" })))
  })

  it.live("never writes a confirmation code, even in captured content", () => {
    const path = join(mkdtempSync(join(tmpdir(), "sink-")), "traces.jsonl")
    return Effect.gen(function* () {
      const sink = yield* TraceSink
      yield* sink.emit("turn.completed", { reply: "Reply `confirm 482913` within 5 minutes", nonce: "482913" })
      yield* sink.flush
      const text = readFileSync(path, "utf8")
      expect(text).not.toContain("482913")
      expect(text).toContain("confirm [redacted]")
    }).pipe(Effect.provide(fileSink({ AGENT_TRACE_JSONL_PATH: path })))
  })
})
