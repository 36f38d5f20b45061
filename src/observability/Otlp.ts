// OTLP span export, on only when OTEL_EXPORTER_OTLP_ENDPOINT (or _TRACES_ENDPOINT) is set;
// otherwise Effect's native tracer still gives every span a W3C trace id and no SDK starts.
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import * as Resource from "@effect/opentelemetry/Resource"
import * as OtelTracer from "@effect/opentelemetry/Tracer"
import { context, type Context as OtelContext, trace } from "@opentelemetry/api"
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks"
import { OTLPTraceExporter as OtlpHttpJsonExporter } from "@opentelemetry/exporter-trace-otlp-http"
import { OTLPTraceExporter as OtlpProtobufExporter } from "@opentelemetry/exporter-trace-otlp-proto"
import { BatchSpanProcessor, type ReadableSpan, type Span, type SpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect, Layer, Option } from "effect"
import { AppConfig, type AppSettings } from "../config/AppConfig.js"

/** The traces URL: the signal-specific variable as is, else the base endpoint + `/v1/traces`. */
export const otlpTracesUrl = (otel: AppSettings["otel"]): Option.Option<string> =>
  Option.orElse(otel.tracesEndpoint, () => Option.map(otel.endpoint, (base) => `${base.replace(/\/+$/, "")}/v1/traces`))

/** Parses OTEL_RESOURCE_ATTRIBUTES (`k=v,k2=v2`, values percent-encoded) as the spec says. */
export const parseResourceAttributes = (raw: string): Record<string, string> => {
  const attributes: Record<string, string> = {}
  for (const pair of raw.split(",")) {
    const eq = pair.indexOf("=")
    if (eq <= 0) continue
    const key = pair.slice(0, eq).trim()
    const value = pair.slice(eq + 1).trim()
    try {
      attributes[key] = decodeURIComponent(value)
    } catch {
      attributes[key] = value
    }
  }
  return attributes
}

const INHERITED_ATTRIBUTES = ["gen_ai.conversation.id", "turn.id"] as const

/**
 * Copies the conversation and turn ids from a span's parent, so spans made by libraries (the
 * SafeLine HTTP client, LangChain) inside a turn can be found by session like ours.
 */
export class ConversationAttributesProcessor implements SpanProcessor {
  onStart(span: Span, parentContext: OtelContext): void {
    const parent = trace.getSpan(parentContext) as unknown as Partial<ReadableSpan> | undefined
    const attributes = parent?.attributes
    if (attributes === undefined) return
    for (const key of INHERITED_ATTRIBUTES) {
      const value = attributes[key]
      if (value !== undefined && span.attributes[key] === undefined) span.setAttribute(key, value)
    }
  }
  onEnd(): void {}
  forceFlush(): Promise<void> {
    return Promise.resolve()
  }
  shutdown(): Promise<void> {
    return Promise.resolve()
  }
}

/**
 * Registers an AsyncLocalStorage context manager for the process lifetime of the layer, so
 * spans made by non-Effect code (run through `runInOtelContext`) nest under the Effect span.
 */
const contextManagerLayer = Layer.scopedDiscard(
  Effect.acquireRelease(
    Effect.sync(() => context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())),
    () => Effect.sync(() => context.disable())
  )
)

/**
 * Tracing through the given span processor: the live exporter, or an in-memory one in tests.
 * The provider is also registered globally (with the context manager) so OTel spans from
 * non-Effect libraries join the same trace.
 */
export const tracingLayer = (otel: AppSettings["otel"], makeProcessor: () => SpanProcessor) => {
  const ResourceLive = Resource.layer({
    serviceName: otel.serviceName,
    attributes: Option.match(otel.resourceAttributes, { onNone: () => ({}), onSome: parseResourceAttributes })
  })
  const ProviderLive = NodeSdk.layerTracerProvider([new ConversationAttributesProcessor(), makeProcessor()], {
    shutdownTimeout: "5 seconds"
  })
  const GlobalProviderLive = Layer.scopedDiscard(
    Effect.acquireRelease(
      Effect.map(OtelTracer.OtelTracerProvider, (provider) => trace.setGlobalTracerProvider(provider)),
      () => Effect.sync(() => trace.disable())
    )
  )
  return Layer.mergeAll(OtelTracer.layer, GlobalProviderLive, contextManagerLayer).pipe(
    Layer.provide(ProviderLive),
    Layer.provide(ResourceLive)
  )
}

/** Export over OTLP/HTTP when configured, nothing otherwise. */
export const OtlpTracingLive = Layer.unwrapEffect(
  Effect.map(AppConfig, (config) =>
    Option.match(otlpTracesUrl(config.otel), {
      onNone: () => Layer.empty,
      onSome: (url) =>
        tracingLayer(
          config.otel,
          () =>
            new BatchSpanProcessor(
              config.otel.protocol === "http/json"
                ? new OtlpHttpJsonExporter({ url })
                : new OtlpProtobufExporter({ url }),
              { exportTimeoutMillis: 5000 }
            )
        )
    })
  )
)

/**
 * Runs non-Effect code (a LangChain call, say) inside the current Effect span's OTel context,
 * so any OTel span it starts becomes a child of ours. Without OTLP it simply runs `run`.
 */
export const runInOtelContext = <A>(run: () => Promise<A>): Effect.Effect<A, unknown> =>
  Effect.flatMap(Effect.option(OtelTracer.currentOtelSpan), (span) =>
    Effect.tryPromise({
      try: () =>
        Option.match(span, {
          onNone: run,
          onSome: (s) => context.with(trace.setSpan(context.active() as OtelContext, s), run)
        }),
      catch: (error) => error
    })
  )
