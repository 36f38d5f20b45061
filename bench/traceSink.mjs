// Trace sink throughput: events/s through TraceSink.emit (stamping, the recent-turns index,
// the trace-event counter) into the JSONL writer and onto disk, with a realistic event mix;
// the event-loop delay p99 while it runs flat out, and the events lost (0 unless the queue fills).
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { monitorEventLoopDelay, performance } from "node:perf_hooks"
import { Effect, Layer, ManagedRuntime } from "effect"
import { AppConfig } from "../dist/config/AppConfig.js"
import { AgentMetrics } from "../dist/observability/AgentMetrics.js"
import { withTurnSpan } from "../dist/observability/Correlation.js"
import { makeJsonlWriter } from "../dist/observability/JsonlWriter.js"
import { TraceSink } from "../dist/observability/TraceSink.js"
import { round } from "./stats.mjs"

/** The events of one typical turn (a monitor turn with two tool calls), as the recorders emit them. */
const TURN_EVENTS = [
  ["turn.started", { message_chars: 19 }],
  ["guardrail.decision", { gate: "route_parse", decision: "allow", reason: "allowed_token" }],
  ["route.selected", { selected_agent: "monitor", raw_route: "monitor" }],
  ["route.handoff", { from_agent: "supervisor", to_agent: "monitor" }],
  ["tool.call", { agent: "monitor", tool: "tool_get_traffic_stats", status: "ok", duration_seconds: 0.01234 }],
  [
    "tool.call",
    {
      agent: "monitor",
      tool: "tool_get_protection_mode",
      status: "error",
      duration_seconds: 5.00121,
      error: "SafeLine did not answer within 5 s (GET /api/open/global/mode)",
      error_type: "timeout"
    }
  ],
  [
    "llm.call",
    {
      provider: "openai",
      model: "gpt-4o-mini",
      operation: "chat",
      duration_seconds: 0.8,
      input_tokens: 812,
      output_tokens: 96
    }
  ],
  ["selfrag.decision", { attempt: 1, decision: "FINAL", reason: "grounded", citations_ok: true, citations: [1, 2] }],
  ["turn.completed", { duration_seconds: 0.92, status: "ok", route: "monitor", reply_chars: 412, sources: 2 }]
]

/** The JSONL writer alone: already-stamped events, so its own capacity shows apart from stamping. */
const writerAlone = async (dir, stamped, count, perSlice) => {
  const path = join(dir, "writer-only.jsonl")
  let dropped = 0
  const runtime = ManagedRuntime.make(Layer.empty)
  try {
    return await runtime.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const writer = yield* makeJsonlWriter({
            path,
            queueSize: 10_000,
            maxFileBytes: 1024 ** 3,
            maxFiles: 2,
            onDrop: (n) => {
              dropped += n
            }
          })
          const started = performance.now()
          // Waits for the disk every 5000 events, so the 10k queue never fills.
          for (let i = 0; i < count; i += perSlice) {
            for (let k = 0; k < perSlice; k++) writer.write(stamped[(i + k) % stamped.length])
            if (i % 5000 < perSlice) yield* writer.flush
            else yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
          }
          yield* writer.flush
          const seconds = (performance.now() - started) / 1000
          return { rate: count / seconds, dropped }
        })
      )
    )
  } finally {
    await runtime.dispose()
  }
}

export const runTraceSinkBench = async ({ turns = 25_000, turnsPerSlice = 4 } = {}) => {
  const dir = mkdtempSync(join(tmpdir(), "bench-sink-"))
  const path = join(dir, "traces.jsonl")
  const runtime = ManagedRuntime.make(
    TraceSink.layer.pipe(
      Layer.provideMerge(AgentMetrics.layer),
      Layer.provide(AppConfig.layerWith({ AGENT_METRICS_NAMESPACE: "bench_sink", AGENT_TRACE_JSONL_PATH: path }))
    )
  )
  try {
    const sink = await runtime.runPromise(TraceSink)
    const metrics = await runtime.runPromise(AgentMetrics)
    const oneTurn = (n) =>
      Effect.forEach(TURN_EVENTS, ([event, metadata]) => sink.emit(event, metadata), { discard: true }).pipe(
        withTurnSpan(`bench-session-${n % 500}`, String(n))
      )
    // A slice of turns, then a macrotask boundary so the writer (and any I/O) gets its turn:
    // flat out, as a busy server would produce them, without ever filling the 10k queue.
    const slice = (from) =>
      Effect.forEach(
        Array.from({ length: turnsPerSlice }, (_, i) => from + i),
        oneTurn,
        { discard: true }
      )
    await runtime.runPromise(slice(0))
    await runtime.runPromise(sink.flush)

    const histogram = monitorEventLoopDelay({ resolution: 1 })
    histogram.enable()
    const started = performance.now()
    for (let from = 0; from < turns; from += turnsPerSlice) {
      await runtime.runPromise(slice(from))
      await new Promise((resolve) => setImmediate(resolve))
    }
    await runtime.runPromise(sink.flush)
    const seconds = (performance.now() - started) / 1000
    histogram.disable()

    const events = turns * TURN_EVENTS.length
    const text = readFileSync(path, "utf8")
    const stamped = text
      .split("\n")
      .slice(0, 900)
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l))
    const alone = await writerAlone(dir, stamped, events, turnsPerSlice * TURN_EVENTS.length)
    let lines = 0
    let unparsable = 0
    for (const line of text.split("\n")) {
      if (line === "") continue
      lines++
      try {
        JSON.parse(line)
      } catch {
        unparsable++
      }
    }
    const exposition = await runtime.runPromise(metrics.exposition)
    // The drop counter has no series until something is dropped.
    const dropped = Number(
      exposition.match(/^bench_sink_agent_trace_events_dropped_total\{sink="jsonl"\} (\S+)$/m)?.[1] ?? 0
    )
    const written = lines - turnsPerSlice * TURN_EVENTS.length
    const lost = events - written
    const rate = events / seconds
    const p99 = histogram.percentile(99) / 1e6
    return {
      results: {
        trace_sink_events_per_second: {
          value: Math.round(rate),
          unit: "events/s",
          target: ">= 100000",
          pass: rate >= 100_000
        },
        trace_sink_event_loop_delay_p99_ms: {
          value: round(p99, 2),
          unit: "ms",
          target: "< 5",
          pass: p99 < 5
        },
        trace_sink_events_lost: {
          value: lost,
          unit: "events",
          target: "0 (queue never full)",
          pass: lost === 0 && dropped === 0 && unparsable === 0
        }
      },
      details: {
        events,
        seconds: round(seconds, 2),
        events_per_turn: TURN_EVENTS.length,
        bytes_per_event: Math.round(Buffer.byteLength(text) / lines),
        dropped_counter: dropped,
        jsonl_writer_alone_events_per_second: Math.round(alone.rate),
        jsonl_writer_alone_dropped: alone.dropped,
        unparsable_lines: unparsable,
        loop_delay_ms: {
          p50: round(histogram.percentile(50) / 1e6, 2),
          p99: round(p99, 2),
          max: round(histogram.max / 1e6, 2)
        }
      }
    }
  } finally {
    await runtime.dispose()
    rmSync(dir, { recursive: true, force: true })
  }
}
