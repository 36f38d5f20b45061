import { describe, expect, it } from "@effect/vitest"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect, Layer } from "effect"
import { AppConfig } from "../../src/config/AppConfig.js"
import { tracingLayer } from "../../src/observability/Otlp.js"
import { baseUrl, testServer } from "../support/app.js"

describe("request tracing", () => {
  const exporter = new InMemorySpanExporter()
  const otel = Effect.runSync(Effect.provide(AppConfig, AppConfig.layerWith({}))).otel
  // Provided to the server, so the request handlers it runs see the tracer.
  const layer = testServer().pipe(Layer.provideMerge(tracingLayer(otel, () => new SimpleSpanProcessor(exporter))))

  it.live("probes and scrapes make no request spans; a chat request's span is the turn's parent", () =>
    Effect.gen(function* () {
      const url = yield* baseUrl
      for (const path of ["/healthz", "/readyz", "/metrics"]) {
        yield* Effect.promise(() => fetch(`${url}${path}`).then((r) => r.text()))
      }
      yield* Effect.sleep("100 millis")
      expect(exporter.getFinishedSpans().filter((s) => s.name.startsWith("http.server"))).toEqual([])
      const reply = yield* Effect.promise(() =>
        fetch(`${url}/v1/chat`, { method: "POST", body: JSON.stringify({ message: "hi" }) }).then(
          (r) => r.json() as Promise<any>
        )
      )
      yield* Effect.sleep("100 millis")
      const spans = exporter.getFinishedSpans()
      const turn = spans.find((s) => s.name === "invoke_agent security-agent")!
      const request = spans.find((s) => s.spanContext().spanId === turn.parentSpanContext?.spanId)!
      expect(request.name).toBe("http.server POST")
      expect(request.spanContext().traceId).toBe(reply.trace_id)
    }).pipe(Effect.provide(layer))
  )
})
