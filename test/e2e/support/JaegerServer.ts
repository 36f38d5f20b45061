// A real Jaeger v2 (the OpenTelemetry-collector-based binary) for the end-to-end suite: in-memory
// storage, an OTLP/HTTP receiver and the query API, every listener on a free 127.0.0.1 port,
// and its own telemetry (metrics, self-tracing) switched off so it opens no fixed port at all.
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { stringify } from "yaml"
import { eventually } from "../../support/eventually.js"
import { freePort, type Started, startProcess } from "../../support/processes.js"
import { requireTool } from "../../support/tools.js"

/** An OTLP span as Jaeger's API v3 returns it, with its attributes flattened to a record. */
export interface ExportedSpan {
  readonly traceId: string
  readonly spanId: string
  /** "" for a root span. */
  readonly parentSpanId: string
  readonly name: string
  /** OTLP SpanKind: 1 internal, 2 server, 3 client. */
  readonly kind: number
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  readonly statusCode: number
  readonly startTimeUnixNano: bigint
  readonly attributes: Readonly<Record<string, string | number | boolean>>
  /** The `service.name` of the resource that sent it. */
  readonly serviceName: string
}

export const STATUS_ERROR = 2
export const KIND_SERVER = 2
export const KIND_INTERNAL = 1

export interface JaegerServer {
  /** Base URL of the OTLP/HTTP receiver: what OTEL_EXPORTER_OTLP_ENDPOINT points at. */
  readonly otlpHttpEndpoint: string
  /** Base URL of the query API (`/api/v3/...`, `/api/traces/...`). */
  readonly queryUrl: string
  readonly output: () => string
  readonly stop: () => Promise<void>
}

/** The generated configuration: in-memory store, OTLP/HTTP in, query out, nothing else open. */
export const jaegerConfig = (ports: { otlpHttp: number; queryHttp: number; queryGrpc: number }) => ({
  service: {
    extensions: ["jaeger_storage", "jaeger_query"],
    pipelines: { traces: { receivers: ["otlp"], exporters: ["jaeger_storage_exporter"] } },
    // The collector's own metrics would listen on :8888 by default.
    telemetry: { metrics: { level: "none" }, logs: { level: "info" } }
  },
  extensions: {
    jaeger_storage: { backends: { memstore: { memory: { max_traces: 10_000 } } } },
    jaeger_query: {
      storage: { traces: "memstore" },
      // On by default in this extension: it would export Jaeger's own spans to localhost:4317.
      enable_tracing: false,
      http: { endpoint: `127.0.0.1:${ports.queryHttp}` },
      grpc: { endpoint: `127.0.0.1:${ports.queryGrpc}` }
    }
  },
  receivers: { otlp: { protocols: { http: { endpoint: `127.0.0.1:${ports.otlpHttp}` } } } },
  exporters: { jaeger_storage_exporter: { trace_storage: "memstore" } }
})

export const startJaeger = async (dir: string): Promise<JaegerServer> => {
  const binary = requireTool("jaeger")
  const ports = { otlpHttp: await freePort(), queryHttp: await freePort(), queryGrpc: await freePort() }
  const configPath = join(dir, "jaeger.yaml")
  writeFileSync(configPath, stringify(jaegerConfig(ports)))
  const started: Started = await startProcess(binary, ["--config", `file:${configPath}`], {
    ready: /Everything is ready/,
    cwd: dir,
    timeoutMs: 60_000
  })
  const queryUrl = `http://127.0.0.1:${ports.queryHttp}`
  // "Everything is ready" is logged as the query server starts serving: wait until it answers.
  await eventually(
    async () => {
      const response = await fetch(`${queryUrl}/api/v3/services`)
      if (!response.ok) throw new Error(`GET /api/v3/services answered ${response.status}`)
    },
    { what: "the Jaeger query API", timeoutMs: 15_000 }
  )
  return {
    otlpHttpEndpoint: `http://127.0.0.1:${ports.otlpHttp}`,
    queryUrl,
    output: started.output,
    stop: async () => {
      await started.stop("SIGTERM")
    }
  }
}

type OtlpValue = { stringValue?: string; intValue?: string; boolValue?: boolean; doubleValue?: number }

const attributeValue = (value: OtlpValue): string | number | boolean =>
  value.stringValue ??
  (value.intValue !== undefined ? Number(value.intValue) : (value.boolValue ?? value.doubleValue ?? ""))

const attributesOf = (list: ReadonlyArray<{ key: string; value: OtlpValue }> | undefined) =>
  Object.fromEntries((list ?? []).map(({ key, value }) => [key, attributeValue(value)]))

/** Flattens an API v3 `GetTrace` answer (OTLP JSON: resourceSpans → scopeSpans → spans). */
export const spansOf = (body: any): Array<ExportedSpan> =>
  (body?.result?.resourceSpans ?? []).flatMap((resourceSpans: any) => {
    const serviceName = String(attributesOf(resourceSpans.resource?.attributes)["service.name"] ?? "")
    return (resourceSpans.scopeSpans ?? []).flatMap((scopeSpans: any) =>
      (scopeSpans.spans ?? []).map(
        (span: any): ExportedSpan => ({
          traceId: span.traceId,
          spanId: span.spanId,
          parentSpanId: span.parentSpanId ?? "",
          name: span.name,
          kind: span.kind ?? 0,
          statusCode: span.status?.code ?? 0,
          startTimeUnixNano: BigInt(span.startTimeUnixNano ?? 0),
          attributes: attributesOf(span.attributes),
          serviceName
        })
      )
    )
  })

/**
 * A trace is complete once it has a root and every span's parent is in it: a parent ends after
 * its children and the batch exporter sends spans in the order they end, so nothing is missing.
 */
const isComplete = (spans: ReadonlyArray<ExportedSpan>) => {
  const ids = new Set(spans.map((s) => s.spanId))
  return (
    spans.some((s) => s.parentSpanId === "") && spans.every((s) => s.parentSpanId === "" || ids.has(s.parentSpanId))
  )
}

export interface FetchedTrace {
  readonly spans: ReadonlyArray<ExportedSpan>
  /** The raw JSON answer, to check that no secret reached the tracing backend. */
  readonly raw: string
}

/** Polls `GET /api/v3/traces/{traceId}` until the whole trace is stored (bounded). */
export const fetchTrace = (jaeger: JaegerServer, traceId: string, timeoutMs = 30_000): Promise<FetchedTrace> =>
  eventually(
    async () => {
      const response = await fetch(`${jaeger.queryUrl}/api/v3/traces/${traceId}`)
      const raw = await response.text()
      if (response.status !== 200) throw new Error(`GET /api/v3/traces/${traceId} answered ${response.status}: ${raw}`)
      const spans = spansOf(JSON.parse(raw))
      if (!isComplete(spans)) throw new Error(`trace ${traceId} is still incomplete (${spans.length} spans)`)
      return { spans, raw }
    },
    { what: `trace ${traceId} in Jaeger`, timeoutMs, intervalMs: 500 }
  )

/** The trace ids Jaeger finds for a span attribute (its search API, as the Jaeger UI uses it). */
export const findTraceIds = async (
  jaeger: JaegerServer,
  service: string,
  tags: Readonly<Record<string, string>>
): Promise<Array<string>> => {
  const params = new URLSearchParams({ service, tags: JSON.stringify(tags), lookback: "1h", limit: "100" })
  const response = await fetch(`${jaeger.queryUrl}/api/traces?${params}`)
  const body: any = await response.json()
  if (response.status !== 200) throw new Error(`trace search answered ${response.status}: ${JSON.stringify(body)}`)
  return (body.data ?? []).map((trace: any) => String(trace.traceID))
}

/** The span and all of its descendants. */
export const subtreeOf = (spans: ReadonlyArray<ExportedSpan>, root: ExportedSpan): Array<ExportedSpan> => {
  const out: Array<ExportedSpan> = [root]
  for (let i = 0; i < out.length; i++) out.push(...spans.filter((s) => s.parentSpanId === out[i]!.spanId))
  return out
}

/** Direct children, in start order. */
export const childrenOf = (spans: ReadonlyArray<ExportedSpan>, parent: ExportedSpan): Array<ExportedSpan> =>
  spans
    .filter((s) => s.parentSpanId === parent.spanId)
    .sort((a, b) =>
      a.startTimeUnixNano < b.startTimeUnixNano ? -1 : a.startTimeUnixNano > b.startTimeUnixNano ? 1 : 0
    )
