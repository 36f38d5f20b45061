// Trace sink throughput: events/s through TraceSink.emit (stamping, the recent-turns index,
// the trace-event counter) into the JSONL writer and onto disk, with a realistic event mix;
// the event-loop delay p99 while it runs flat out, and the events lost (0 unless the queue fills).
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { monitorEventLoopDelay, performance } from "node:perf_hooks"
import { Effect, Layer, ManagedRuntime } from "effect"
import { fromDist } from "./dist.mjs"
import { median, round } from "./stats.mjs"

const { AppConfig } = await fromDist("config/AppConfig.js")
const { AgentMetrics } = await fromDist("observability/AgentMetrics.js")
const { withTurnSpan } = await fromDist("observability/Correlation.js")
const { makeJsonlWriter } = await fromDist("observability/JsonlWriter.js")
const { TraceSink } = await fromDist("observability/TraceSink.js")
const { LOCAL_CLI_PRINCIPAL } = await fromDist("domain/Principal.js")

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

/**
 * `turns` turns flat out through `emit`, each inside its own turn span, `turnsPerSlice` turns per
 * macrotask (then a macrotask boundary, so the writer and any I/O get their turn, as on a busy
 * server), with the event-loop delay and the process CPU time (every thread) measured throughout.
 */
const drive = async (runtime, emit, { turns, turnsPerSlice }) => {
  const oneTurn = (n) =>
    Effect.forEach(TURN_EVENTS, ([event, metadata]) => emit(event, metadata), { discard: true }).pipe(
      withTurnSpan(`bench-session-${n % 500}`, String(n), LOCAL_CLI_PRINCIPAL)
    )
  const slice = (from) =>
    Effect.forEach(
      Array.from({ length: turnsPerSlice }, (_, i) => from + i),
      oneTurn,
      { discard: true }
    )
  // Warm-up slice, outside the measurement.
  await runtime.runPromise(slice(0))
  return async (flush) => {
    const histogram = monitorEventLoopDelay({ resolution: 1 })
    histogram.enable()
    const cpuBefore = process.cpuUsage()
    const started = performance.now()
    for (let from = 0; from < turns; from += turnsPerSlice) {
      await runtime.runPromise(slice(from))
      await new Promise((resolve) => setImmediate(resolve))
    }
    await runtime.runPromise(flush)
    const seconds = (performance.now() - started) / 1000
    const cpu = process.cpuUsage(cpuBefore)
    histogram.disable()
    const events = turns * TURN_EVENTS.length
    return {
      rate: events / seconds,
      seconds,
      events,
      // Every thread's CPU (the loop, the pool threads writing, the collector's helpers): steadier
      // than the rate on a shared machine, where the process waits for a core.
      cpuMicrosPerEvent: (cpu.user + cpu.system) / events,
      p50: histogram.percentile(50) / 1e6,
      p99: histogram.percentile(99) / 1e6,
      max: histogram.max / 1e6
    }
  }
}

/**
 * The same turns with an emit that does nothing: what the harness itself (turn spans, fibers,
 * `Effect.forEach`, the macrotask per slice) costs and how it holds the loop, for reference.
 */
const harnessAlone = async (options) => {
  const runtime = ManagedRuntime.make(Layer.empty)
  try {
    const measure = await drive(runtime, () => Effect.void, options)
    return await measure(Effect.void)
  } finally {
    await runtime.dispose()
  }
}

/** One run: a fresh sink layer at a fresh path, `turns` turns flat out. */
const runOnce = async ({ turns, turnsPerSlice, namespace }) => {
  const dir = mkdtempSync(join(tmpdir(), "bench-sink-"))
  const path = join(dir, "traces.jsonl")
  const runtime = ManagedRuntime.make(
    TraceSink.layer.pipe(
      Layer.provideMerge(AgentMetrics.layer),
      Layer.provide(AppConfig.layerWith({ AGENT_METRICS_NAMESPACE: namespace, AGENT_TRACE_JSONL_PATH: path }))
    )
  )
  try {
    const sink = await runtime.runPromise(TraceSink)
    const metrics = await runtime.runPromise(AgentMetrics)
    const measure = await drive(runtime, sink.emit, { turns, turnsPerSlice })
    await runtime.runPromise(sink.flush)
    const timed = await measure(sink.flush)

    const text = readFileSync(path, "utf8")
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
    const dropped = Number(
      exposition.match(
        new RegExp(`^${namespace}_agent_trace_events_dropped_total\\{sink="jsonl"\\} (\\S+)$`, "m")
      )?.[1] ?? 0
    )
    const written = lines - turnsPerSlice * TURN_EVENTS.length
    return {
      ...timed,
      lost: timed.events - written,
      dropped,
      unparsable,
      bytesPerEvent: Math.round(Buffer.byteLength(text) / lines),
      sample: text
        .split("\n")
        .slice(0, 900)
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l))
    }
  } finally {
    await runtime.dispose()
    rmSync(dir, { recursive: true, force: true })
  }
}

const spread = (values, digits) => ({
  median: round(median(values), digits),
  min: round(Math.min(...values), digits),
  max: round(Math.max(...values), digits)
})

export const runTraceSinkBench = async ({ runs = 5, turns = 25_000, turnsPerSlice = 4 } = {}) => {
  const outcomes = []
  for (let run = 0; run < runs; run++) {
    outcomes.push(await runOnce({ turns, turnsPerSlice, namespace: `bench_sink${run}` }))
  }
  const harness = []
  for (let run = 0; run < runs; run++) harness.push(await harnessAlone({ turns, turnsPerSlice }))
  const dir = mkdtempSync(join(tmpdir(), "bench-writer-"))
  const alone = []
  try {
    for (let run = 0; run < runs; run++) {
      alone.push(await writerAlone(dir, outcomes[0].sample, outcomes[0].events, turnsPerSlice * TURN_EVENTS.length))
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  const rate = spread(
    outcomes.map((o) => o.rate),
    0
  )
  const p99 = spread(
    outcomes.map((o) => o.p99),
    2
  )
  const lost = outcomes.reduce((n, o) => n + o.lost, 0)
  const clean = outcomes.every((o) => o.dropped === 0 && o.unparsable === 0)
  const describe = (s) => `median of ${runs} (min ${s.min}, max ${s.max})`
  return {
    results: {
      trace_sink_events_per_second: {
        value: rate.median,
        unit: "events/s",
        target: ">= 150000",
        pass: rate.median >= 150_000,
        spread: describe(rate)
      },
      trace_sink_event_loop_delay_p99_ms: {
        value: p99.median,
        unit: "ms",
        target: "< 5",
        pass: p99.median < 5,
        spread: describe(p99)
      },
      trace_sink_events_lost: {
        value: lost,
        unit: `events (of ${outcomes.reduce((n, o) => n + o.events, 0)} over ${runs} runs)`,
        target: "0 (queue never full)",
        pass: lost === 0 && clean
      }
    },
    details: {
      runs,
      events_per_run: outcomes[0].events,
      events_per_turn: TURN_EVENTS.length,
      bytes_per_event: outcomes[0].bytesPerEvent,
      events_per_second: rate,
      cpu_microseconds_per_event: spread(
        outcomes.map((o) => o.cpuMicrosPerEvent),
        2
      ),
      loop_delay_p99_ms: p99,
      loop_delay_p50_ms: spread(
        outcomes.map((o) => o.p50),
        2
      ),
      loop_delay_max_ms: spread(
        outcomes.map((o) => o.max),
        2
      ),
      lost_per_run: outcomes.map((o) => o.lost).join(" "),
      dropped_counter_per_run: outcomes.map((o) => o.dropped).join(" "),
      unparsable_lines_per_run: outcomes.map((o) => o.unparsable).join(" "),
      jsonl_writer_alone_events_per_second: spread(
        alone.map((a) => a.rate),
        0
      ),
      jsonl_writer_alone_dropped: alone.reduce((n, a) => n + a.dropped, 0),
      // The floor under every figure above: the same turns with an emit that does nothing.
      harness_alone_events_per_second: spread(
        harness.map((h) => h.rate),
        0
      ),
      harness_alone_cpu_microseconds_per_event: spread(
        harness.map((h) => h.cpuMicrosPerEvent),
        2
      ),
      harness_alone_loop_delay_p99_ms: spread(
        harness.map((h) => h.p99),
        2
      )
    }
  }
}
