// The signals of issue 17 as a user of /metrics or of the logs sees them: OpenMetrics negotiation
// and trace exemplars, runtime and build metrics, LLM cost from the price table, the WAF
// protection-mode gauge, and JSON log lines carrying the turn's ids.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Logger, LogLevel } from "effect"
import { vi } from "vitest"
import { LoggingLive } from "../../src/app/AppLayer.js"
import { LOCAL_CLI_PRINCIPAL } from "../../src/domain/Principal.js"
import { AgentMetrics } from "../../src/observability/AgentMetrics.js"
import { getTurn, withTurnSpan } from "../../src/observability/Correlation.js"
import { jsonLogger } from "../../src/observability/JsonLogger.js"
import { negotiateExposition } from "../../src/observability/Prometheus.js"
import { Telemetry } from "../../src/observability/Telemetry.js"
import { sampleValue } from "../support/exposition.js"
import { testConfig, testObservability } from "../support/layers.js"

const render = (format: "prometheus" | "openmetrics") => Effect.flatMap(AgentMetrics, (m) => m.render(format))

describe("negotiateExposition", () => {
  it("answers OpenMetrics only when the Accept header prefers it", () => {
    expect(negotiateExposition(undefined)).toBe("prometheus")
    expect(negotiateExposition("*/*")).toBe("prometheus")
    expect(negotiateExposition("text/plain;version=0.0.4")).toBe("prometheus")
    // What Prometheus 2.x sends by default.
    expect(
      negotiateExposition(
        "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
      )
    ).toBe("openmetrics")
    expect(negotiateExposition("application/openmetrics-text;q=0.2,text/plain;q=0.9")).toBe("prometheus")
    expect(negotiateExposition("application/openmetrics-text;q=0")).toBe("prometheus")
  })
})

describe("exemplars", () => {
  it.effect("link the turn, tool and GenAI duration buckets to the trace that landed there, in OpenMetrics only", () =>
    Effect.gen(function* () {
      const t = yield* Telemetry
      const { namespace } = yield* AgentMetrics
      const traceId = yield* Effect.gen(function* () {
        yield* t.recordToolCall({
          agent: "monitor",
          tool: "tool_get_traffic_stats",
          status: "ok",
          durationSeconds: 0.3
        })
        yield* t.recordLlmCall({ operation: "chat", provider: "openai", model: "m", durationSeconds: 0.5 })
        yield* t.recordTurnCompleted(3, {})
        return (yield* getTurn).pipe((turn) => (turn._tag === "Some" ? turn.value.traceId : ""))
      }).pipe(withTurnSpan("s-ex", "1", LOCAL_CLI_PRINCIPAL))
      const om = yield* render("openmetrics")
      const exemplarOf = (line: string) =>
        line.match(/ # \{span_id="([0-9a-f]{16})",trace_id="([0-9a-f]{32})"\} (\S+) (\S+)$/)
      const bucketLine = (prefix: string) => om.split("\n").find((l) => l.startsWith(prefix) && exemplarOf(l) !== null)
      // Each exemplar sits on the bucket its value falls in, and names the turn's trace.
      const turn = bucketLine(`${namespace}_agent_turn_latency_seconds_bucket{le="5"}`)
      expect(exemplarOf(turn!)?.[2]).toBe(traceId)
      expect(exemplarOf(turn!)?.[3]).toBe("3")
      const tool = bucketLine(
        `${namespace}_agent_tool_latency_seconds_bucket{agent="monitor",tool="tool_get_traffic_stats",le="0.5"}`
      )
      expect(exemplarOf(tool!)?.[2]).toBe(traceId)
      const genAi = bucketLine(
        'gen_ai_client_operation_duration_seconds_bucket{gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="m",le="0.64"}'
      )
      expect(exemplarOf(genAi!)?.[2]).toBe(traceId)
      // OpenMetrics framing: counter families without _total, and the closing # EOF.
      expect(om).toContain(`# TYPE ${namespace}_chat_requests counter\n${namespace}_chat_requests_total 0\n`)
      expect(om.endsWith("# EOF\n")).toBe(true)
      // Text 0.0.4 stays as it was: no exemplar, no EOF, counters named with _total.
      const text = yield* render("prometheus")
      expect(text).not.toContain("trace_id")
      expect(text).not.toContain("# EOF")
      expect(text).toContain(`# TYPE ${namespace}_chat_requests_total counter\n`)
    }).pipe(Effect.provide(testObservability()))
  )
})

describe("runtime and build metrics", () => {
  it.effect("export process and Node.js runtime metrics and the build's version, revision and Node version", () =>
    Effect.gen(function* () {
      const { namespace } = yield* AgentMetrics
      const text = yield* render("prometheus")
      expect(sampleValue(text, "process_cpu_seconds_total")).toBeGreaterThan(0)
      expect(sampleValue(text, "process_resident_memory_bytes")).toBeGreaterThan(1_000_000)
      expect(sampleValue(text, "process_start_time_seconds")).toBeGreaterThan(1_600_000_000)
      expect(sampleValue(text, "nodejs_heap_size_used_bytes")).toBeGreaterThan(0)
      expect(sampleValue(text, "nodejs_heap_size_total_bytes")).toBeGreaterThan(0)
      expect(sampleValue(text, "nodejs_eventloop_lag_p99_seconds")).toBeGreaterThanOrEqual(0)
      expect(text).toContain("# TYPE nodejs_gc_duration_seconds histogram\n")
      expect(text).toContain('nodejs_gc_duration_seconds_count{kind="major"}')
      const version = JSON.parse((yield* Effect.promise(() => import("node:fs"))).readFileSync("package.json", "utf8"))
        .version as string
      expect(
        sampleValue(text, `${namespace}_build_info`, {
          node_version: process.version,
          revision: "abc1234",
          version
        })
      ).toBe(1)
    }).pipe(Effect.provide(testObservability({ BUILD_REVISION: "abc1234" })))
  )
})

describe("LLM cost", () => {
  it.effect("multiplies reported tokens by LLM_PRICES per model; a model without a price costs 0", () =>
    Effect.gen(function* () {
      const t = yield* Telemetry
      const { namespace } = yield* AgentMetrics
      const cost = `${namespace}_llm_cost_usd_total`
      // Priced models start at 0 before any call.
      const before = yield* render("prometheus")
      expect(sampleValue(before, cost, { gen_ai_request_model: "gpt-4o-mini", gen_ai_token_type: "input" })).toBe(0)
      yield* t.recordLlmCall({
        operation: "chat",
        provider: "openai",
        model: "gpt-4o-mini",
        durationSeconds: 1,
        inputTokens: 2_000_000,
        outputTokens: 500_000
      })
      yield* t.recordLlmCall({
        operation: "chat",
        provider: "openai",
        model: "local",
        durationSeconds: 1,
        inputTokens: 99
      })
      // No usage reported: nothing is charged.
      yield* t.recordLlmCall({ operation: "chat", provider: "openai", model: "gpt-4o-mini", durationSeconds: 1 })
      const text = yield* render("prometheus")
      expect(sampleValue(text, cost, { gen_ai_request_model: "gpt-4o-mini", gen_ai_token_type: "input" })).toBeCloseTo(
        0.3
      )
      expect(sampleValue(text, cost, { gen_ai_request_model: "gpt-4o-mini", gen_ai_token_type: "output" })).toBeCloseTo(
        0.3
      )
      expect(sampleValue(text, cost, { gen_ai_request_model: "local", gen_ai_token_type: "input" })).toBe(0)
    }).pipe(Effect.provide(testObservability({ LLM_PRICES: "gpt-4o-mini=0.15:0.6, other=1:2" })))
  )

  it.effect("refuses a malformed price table, naming the variable", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(Effect.provide(Telemetry, testObservability({ LLM_PRICES: "gpt-4o=cheap" })))
      expect(exit._tag).toBe("Failure")
      expect(String(exit._tag === "Failure" ? exit.cause : "")).toContain("LLM_PRICES")
    })
  )
})

describe("WAF protection mode", () => {
  it.effect("shows each module's mode as 1 and its other modes as 0; a failed read zeroes every module", () =>
    Effect.gen(function* () {
      const t = yield* Telemetry
      const { namespace } = yield* AgentMetrics
      const gauge = `${namespace}_waf_protection_mode`
      const reads = `${namespace}_waf_protection_mode_reads_total`
      yield* t.recordWafProtectionModes({ m_sqli: "disable", m_xss: "default" })
      let text = yield* render("prometheus")
      expect(sampleValue(text, gauge, { module: "m_sqli", mode: "disable" })).toBe(1)
      expect(sampleValue(text, gauge, { module: "m_sqli", mode: "default" })).toBe(0)
      expect(sampleValue(text, gauge, { module: "m_xss", mode: "default" })).toBe(1)
      expect(sampleValue(text, gauge, { module: "m_xss", mode: "dry_run" })).toBe(0)
      expect(sampleValue(text, reads, { result: "ok" })).toBe(1)
      yield* t.recordWafProtectionModeReadFailure
      text = yield* render("prometheus")
      expect(sampleValue(text, gauge, { module: "m_sqli", mode: "disable" })).toBe(0)
      expect(sampleValue(text, gauge, { module: "m_xss", mode: "default" })).toBe(0)
      expect(sampleValue(text, reads, { result: "error" })).toBe(1)
    }).pipe(Effect.provide(testObservability()))
  )
})

describe("JSON logs", () => {
  it.effect("write one JSON object per line, with trace, span, session and turn ids inside a turn", () =>
    Effect.gen(function* () {
      const lines: Array<string> = []
      const capture = Logger.replace(
        Logger.defaultLogger,
        Logger.map(jsonLogger, (line) => {
          lines.push(line)
        })
      )
      const traceId = yield* Effect.gen(function* () {
        yield* Effect.logWarning("inside a turn").pipe(Effect.annotateLogs("tool", "tool_get_traffic_stats"))
        const turn = yield* getTurn
        return turn._tag === "Some" ? turn.value.traceId : ""
      }).pipe(withTurnSpan("sess-log", "7", LOCAL_CLI_PRINCIPAL), Effect.provide(capture))
      yield* Effect.logInfo("outside").pipe(Effect.provide(capture), Logger.withMinimumLogLevel(LogLevel.Info))
      expect(lines).toHaveLength(2)
      for (const line of lines) expect(line).not.toContain("\n")
      const inside = JSON.parse(lines[0]!)
      expect(inside).toMatchObject({
        level: "WARN",
        message: "inside a turn",
        trace_id: traceId,
        session_id: "sess-log",
        turn_id: "7",
        tool: "tool_get_traffic_stats"
      })
      expect(inside.span_id).toMatch(/\S+/)
      expect(Date.parse(inside.timestamp)).not.toBeNaN()
      const outside = JSON.parse(lines[1]!)
      expect(outside.message).toBe("outside")
      expect(outside.trace_id).toBeUndefined()
      expect(outside.session_id).toBeUndefined()
    })
  )

  it.effect("are what the app writes to stderr with LOG_FORMAT=json; logfmt stays the default", () =>
    Effect.gen(function* () {
      const written: Array<string> = []
      const spy = vi.spyOn(console, "error").mockImplementation((line: unknown) => {
        written.push(String(line))
      })
      try {
        // Each in a fiber of its own, as each process has one logger.
        const run = <E>(effect: Effect.Effect<void, E>) => Effect.promise(() => Effect.runPromise(effect))
        yield* run(
          Effect.logInfo("json please").pipe(
            withTurnSpan("sess-app", "3", LOCAL_CLI_PRINCIPAL),
            Effect.provide(LoggingLive.pipe(Layer.provide(testConfig({ LOG_FORMAT: "json" }))))
          )
        )
        yield* run(Effect.logInfo("logfmt please").pipe(Effect.provide(LoggingLive.pipe(Layer.provide(testConfig())))))
      } finally {
        spy.mockRestore()
      }
      expect(JSON.parse(written[0]!)).toMatchObject({ message: "json please", session_id: "sess-app", turn_id: "3" })
      expect(written).toHaveLength(2)
      expect(written[1]).toMatch(/^timestamp=\S+ level=INFO fiber=\S+ message="logfmt please"/)
    })
  )
})
