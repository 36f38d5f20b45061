// Spans kept in memory for tests: the service's own tracing layer (`tracingLayer`, with the
// conversation-attribute processor and the global provider) feeding an in-memory exporter.
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect, type Layer } from "effect"
import { AppConfig } from "../../src/config/AppConfig.js"
import { tracingLayer } from "../../src/observability/Otlp.js"

export interface InMemorySpans {
  /** Holds every finished span: `getFinishedSpans()`, `reset()`. */
  readonly exporter: InMemorySpanExporter
  /** Tracing through the exporter; provide it to what makes the spans. */
  readonly layer: Layer.Layer<never>
}

/**
 * A new exporter and the tracing layer that feeds it, with the OTel settings read from `env`
 * (service name, resource attributes). Take one per layer build: shutting a provider down
 * (when its layer is released) stops its exporter.
 */
export const inMemorySpans = (env: Readonly<Record<string, string>> = {}): InMemorySpans => {
  const exporter = new InMemorySpanExporter()
  const { otel } = Effect.runSync(Effect.provide(AppConfig, AppConfig.layerWith(env)))
  return { exporter, layer: tracingLayer(otel, () => new SimpleSpanProcessor(exporter)) as Layer.Layer<never> }
}
