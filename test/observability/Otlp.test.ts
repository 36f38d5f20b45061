import { describe, expect, it } from "@effect/vitest"
import { trace } from "@opentelemetry/api"
import { Effect, Layer, Option, Ref } from "effect"
import { AppConfig } from "../../src/config/AppConfig.js"
import { LOCAL_CLI_PRINCIPAL } from "../../src/domain/Principal.js"
import { withTurnChildSpan, withTurnSpan } from "../../src/observability/Correlation.js"
import { otlpTracesUrl, parseResourceAttributes, runInOtelContext } from "../../src/observability/Otlp.js"
import { Telemetry } from "../../src/observability/Telemetry.js"
import { MemoryTraceEvents } from "../../src/observability/TraceSink.js"
import { testObservability } from "../support/layers.js"
import { inMemorySpans } from "../support/spans.js"

const settings = (env: Record<string, string>) => Effect.runSync(Effect.provide(AppConfig, AppConfig.layerWith(env)))

describe("OTLP configuration", () => {
  it("appends /v1/traces to the base endpoint and uses the traces endpoint as is", () => {
    expect(otlpTracesUrl(settings({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" }).otel)).toEqual(
      Option.some("http://collector:4318/v1/traces")
    )
    expect(
      otlpTracesUrl(
        settings({
          OTEL_EXPORTER_OTLP_ENDPOINT: "http://a:4318",
          OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://b:9/custom"
        }).otel
      )
    ).toEqual(Option.some("http://b:9/custom"))
    expect(otlpTracesUrl(settings({}).otel)).toEqual(Option.none())
  })

  it("parses OTEL_RESOURCE_ATTRIBUTES", () => {
    expect(parseResourceAttributes("deployment.environment=prod,team=waf%20ops,broken")).toEqual({
      "deployment.environment": "prod",
      team: "waf ops"
    })
  })
})

describe("OTLP export (in-memory exporter)", () => {
  const env = { OTEL_SERVICE_NAME: "security-agent-test", OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=test" }
  const { exporter, layer: tracing } = inMemorySpans(env)
  const layer = Layer.mergeAll(testObservability(env), tracing)

  it.live("spans carry session/turn attributes and the trace id of the JSONL events", () =>
    Effect.gen(function* () {
      exporter.reset()
      const t = yield* Telemetry
      yield* Effect.gen(function* () {
        yield* t.recordRoute("monitor")
        yield* Effect.gen(function* () {
          yield* t.recordToolCall({
            agent: "monitor",
            tool: "tool_get_traffic_stats",
            status: "ok",
            durationSeconds: 0.01
          })
          // A span made by non-Effect code nests under ours through the registered context manager.
          yield* runInOtelContext(async () => trace.getTracer("langchain").startActiveSpan("external", (s) => s.end()))
        }).pipe(withTurnChildSpan("execute_tool tool_get_traffic_stats"))
      }).pipe(withTurnSpan("sess-otlp", "7", LOCAL_CLI_PRINCIPAL))
      const events = yield* Ref.get(yield* MemoryTraceEvents)
      const spans = exporter.getFinishedSpans()
      const turn = spans.find((s) => s.name === "invoke_agent security-agent")!
      const tool = spans.find((s) => s.name === "execute_tool tool_get_traffic_stats")!
      const external = spans.find((s) => s.name === "external")!
      expect(turn.attributes["gen_ai.conversation.id"]).toBe("sess-otlp")
      expect(turn.attributes["session.id"]).toBe("sess-otlp")
      expect(turn.attributes["turn.id"]).toBe("7")
      expect(tool.attributes["gen_ai.conversation.id"]).toBe("sess-otlp")
      expect(tool.parentSpanContext?.spanId).toBe(turn.spanContext().spanId)
      expect(external.parentSpanContext?.spanId).toBe(tool.spanContext().spanId)
      const traceId = turn.spanContext().traceId
      expect(new Set(spans.map((s) => s.spanContext().traceId))).toEqual(new Set([traceId]))
      expect(events.map((e) => e.trace_id)).toEqual([traceId, traceId])
      expect(events[1]!.span_id).toBe(tool.spanContext().spanId)
      expect(turn.resource.attributes["service.name"]).toBe("security-agent-test")
      expect(turn.resource.attributes["deployment.environment"]).toBe("test")
    }).pipe(Effect.provide(layer))
  )
})
