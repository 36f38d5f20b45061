import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { baseUrl, testServer } from "../support/app.js"
import { inMemorySpans } from "../support/spans.js"

describe("request tracing", () => {
  const { exporter, layer: tracing } = inMemorySpans()
  // Provided to the server, so the request handlers it runs see the tracer.
  const layer = testServer().pipe(Layer.provideMerge(tracing))

  it.live("probes and scrapes make no request spans; a chat request's span is the turn's parent", () =>
    Effect.gen(function* () {
      const url = yield* baseUrl
      for (const path of ["/healthz", "/readyz", "/metrics"]) {
        yield* Effect.promise(() => fetch(`${url}${path}`).then((r) => r.text()))
      }
      yield* Effect.sleep("100 millis")
      expect(exporter.getFinishedSpans().filter((s) => s.kind === 1)).toEqual([])
      const reply = yield* Effect.promise(() =>
        fetch(`${url}/v1/chat`, { method: "POST", body: JSON.stringify({ message: "hi" }) }).then(
          (r) => r.json() as Promise<any>
        )
      )
      yield* Effect.sleep("100 millis")
      const spans = exporter.getFinishedSpans()
      const turn = spans.find((s) => s.name === "invoke_agent security-agent")!
      const request = spans.find((s) => s.spanContext().spanId === turn.parentSpanContext?.spanId)!
      expect(request.name).toBe("POST /v1/chat")
      expect(request.spanContext().traceId).toBe(reply.trace_id)
    }).pipe(Effect.provide(layer))
  )
})
