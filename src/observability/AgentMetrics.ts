// Every metric the service exports, defined once with its description and buckets, named
// under AGENT_METRICS_NAMESPACE. Recorders in Telemetry (and the trace sink's own counters)
// are the only writers; `exposition` renders what this instance owns.
import { Context, Effect, Layer, Metric, MetricBoundaries, MetricLabel } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { readBuildInfo } from "./BuildInfo.js"
import { type Exemplars, makeExemplars } from "./Exemplars.js"
import { type ExpositionFormat, renderPrometheus } from "./Prometheus.js"
import { isRuntimeMetric, startRuntimeMetrics } from "./RuntimeMetrics.js"

const TOOL_LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10]
const TURN_LATENCY_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 5, 10, 20]
const CHAT_LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30]
/** OTel GenAI semantic-convention bucket advice. */
const GEN_AI_DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]
const GEN_AI_TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]

const counter = (name: string, description: string) => Metric.counter(name, { incremental: true, description })
const histogram = (name: string, buckets: ReadonlyArray<number>, description: string) =>
  Metric.histogram(name, MetricBoundaries.fromIterable(buckets), description)

/** The histograms that carry trace exemplars, by name (the recorders key exemplars by it). */
export const exemplarHistogramNames = (ns: string) =>
  ({
    toolLatency: `${ns}_agent_tool_latency_seconds`,
    turnLatency: `${ns}_agent_turn_latency_seconds`,
    genAiOperationDuration: "gen_ai_client_operation_duration_seconds"
  }) as const

const makeMetrics = (ns: string) => ({
  routeTotal: counter(`${ns}_agent_route_total`, "Turns routed by the supervisor, by the agent selected"),
  handoffTotal: counter(`${ns}_agent_handoff_total`, "Handoffs between agents within a turn"),
  toolCallsTotal: counter(`${ns}_agent_tool_calls_total`, "Tool calls by agent, tool and status"),
  toolLatency: histogram(exemplarHistogramNames(ns).toolLatency, TOOL_LATENCY_BUCKETS, "Tool call latency in seconds"),
  guardrailTotal: counter(`${ns}_agent_guardrail_total`, "Guardrail decisions by gate, decision and reason"),
  selfragDecisionTotal: counter(
    `${ns}_agent_selfrag_decision_total`,
    "Self-RAG critic decisions by decision and reason"
  ),
  turnLatency: histogram(exemplarHistogramNames(ns).turnLatency, TURN_LATENCY_BUCKETS, "Agent turn latency in seconds"),
  nodeRunsTotal: counter(`${ns}_agent_node_runs_total`, "Graph node runs by agent and status (ok, error, interrupted)"),
  traceEventsTotal: counter(`${ns}_agent_trace_events_total`, "Trace events emitted, by event name"),
  traceEventsDroppedTotal: counter(`${ns}_agent_trace_events_dropped_total`, "Trace or audit records dropped, by sink"),
  chatRequestsTotal: counter(`${ns}_chat_requests_total`, "Chat requests received"),
  chatFailuresTotal: counter(`${ns}_chat_failures_total`, "Chat requests that failed on the server side"),
  chatRejectedTotal: counter(`${ns}_chat_rejected_total`, "Chat requests rejected for bad client input, by reason"),
  chatLatency: histogram(`${ns}_chat_latency_seconds`, CHAT_LATENCY_BUCKETS, "Chat request latency in seconds"),
  healthChecksTotal: counter(`${ns}_health_checks_total`, "Liveness checks served"),
  readinessChecksTotal: counter(`${ns}_readiness_checks_total`, "Readiness checks served"),
  readinessFailuresTotal: counter(`${ns}_readiness_failures_total`, "Readiness checks that failed, by local check"),
  accessDeniedTotal: counter(
    `${ns}_api_access_denied_total`,
    "Requests refused before any handler ran, by reason (token, role, Host, Origin, request target, rate limit)"
  ),
  unauthenticatedExposed: Metric.gauge(`${ns}_api_unauthenticated_exposed`, {
    description: "1 when the API listens beyond loopback with ASSISTANT_API_ALLOW_UNAUTHENTICATED and no token"
  }),
  tokensFileReloadsTotal: counter(
    `${ns}_api_tokens_file_reloads_total`,
    "Loads of ASSISTANT_API_TOKENS_FILE by result (an error keeps the last good set)"
  ),
  confirmationCodeFailuresTotal: counter(
    `${ns}_confirmation_code_failures_total`,
    "Wrong confirmation codes sent for a pending WAF change (throttled per principal)"
  ),
  wafChangeAuditFailuresTotal: counter(
    `${ns}_waf_change_audit_failures_total`,
    "WAF change audit records that could not be written and flushed, by phase (intent: change refused; outcome: applied but unaudited)"
  ),
  dependencyUp: Metric.gauge(`${ns}_dependency_up`, {
    description: "Whether a dependency answered its last probe (1) or not (0)"
  }),
  buildInfo: Metric.gauge(`${ns}_build_info`, {
    description: "Always 1: the running version, source revision and Node.js version as labels"
  }),
  wafProtectionMode: Metric.gauge(`${ns}_waf_protection_mode`, {
    description: "SafeLine's protection mode per module as last read: 1 on the module's current mode, 0 on the others"
  }),
  wafProtectionModeReadsTotal: counter(
    `${ns}_waf_protection_mode_reads_total`,
    "Reads of SafeLine's protection mode by result (an error clears the mode gauge)"
  ),
  llmCostUsdTotal: counter(
    `${ns}_llm_cost_usd_total`,
    "Estimated LLM spend in US dollars from reported tokens and LLM_PRICES, by model and token type"
  ),
  genAiOperationDuration: histogram(
    exemplarHistogramNames(ns).genAiOperationDuration,
    GEN_AI_DURATION_BUCKETS,
    "GenAI operation duration in seconds"
  ),
  genAiTokenUsage: histogram(
    "gen_ai_client_token_usage",
    GEN_AI_TOKEN_BUCKETS,
    "Number of input and output tokens used"
  ),
  wafScheduledRevertsTotal: counter(
    `${ns}_waf_scheduled_reverts_total`,
    "Due reverts of timed WAF changes, by the action reverted and outcome (ok, skipped: the state changed since, error: retried later)"
  ),
  wafScheduledRevertsPending: Metric.gauge(`${ns}_waf_scheduled_reverts_pending`, {
    description: "Timed WAF changes whose revert is stored and not yet run (deployment-wide, as last read here)"
  })
})

export type MetricSet = ReturnType<typeof makeMetrics>

/**
 * The tagged metric of each label set, built once: tagging on every update was the largest
 * avoidable cost of instrumentation (bench/overhead.mjs). Keyed by the metric object, so each
 * AgentMetrics instance has its own; bounded, since gen_ai model names come from configuration.
 */
const taggedCache = new WeakMap<Metric.Metric<any, any, any>, Map<string, Metric.Metric<any, any, any>>>()
const MAX_CACHED_LABEL_SETS = 10_000

/** Applies labels in name order, so one label set is always one metric key (one series). */
export const withLabels = <M extends Metric.Metric<any, any, any>>(
  metric: M,
  labels: Readonly<Record<string, string>>
): M => {
  let byLabels = taggedCache.get(metric)
  if (byLabels === undefined) {
    byLabels = new Map()
    taggedCache.set(metric, byLabels)
  }
  const keys = Object.keys(labels).sort()
  let cacheKey = ""
  for (const key of keys) cacheKey += `${key}\u0000${labels[key]}\u0001`
  const cached = byLabels.get(cacheKey)
  if (cached !== undefined) return cached as M
  const tagged = Metric.taggedWithLabels(
    metric,
    keys.map((key) => MetricLabel.make(key, labels[key]!))
  ) as M
  if (byLabels.size < MAX_CACHED_LABEL_SETS) byLabels.set(cacheKey, tagged)
  return tagged
}

/**
 * The tagged metric of every label set in `sets` (values in `names` order), built once and looked
 * up by the values alone (nested maps: no key string, no sort, no allocation on update). A label
 * set outside `sets` falls back to `withLabels`, so it is still recorded, as the same series.
 */
export const taggedTable = <M extends Metric.Metric<any, any, any>>(
  metric: M,
  names: ReadonlyArray<string>,
  sets: Iterable<ReadonlyArray<string>>
): ((...values: ReadonlyArray<string>) => M) => {
  const root = new Map<string, unknown>()
  const labelsOf = (values: ReadonlyArray<string>) => {
    const labels: Record<string, string> = {}
    names.forEach((name, i) => {
      labels[name] = values[i] ?? ""
    })
    return labels
  }
  for (const values of sets) {
    let node = root
    for (let i = 0; i < names.length - 1; i++) {
      let next = node.get(values[i]!) as Map<string, unknown> | undefined
      if (next === undefined) {
        next = new Map()
        node.set(values[i]!, next)
      }
      node = next
    }
    node.set(values[names.length - 1]!, withLabels(metric, labelsOf(values)))
  }
  return (...values) => {
    let node: unknown = root
    for (let i = 0; i < names.length && node !== undefined; i++) node = (node as Map<string, unknown>).get(values[i]!)
    return (node as M | undefined) ?? withLabels(metric, labelsOf(values))
  }
}

export class AgentMetrics extends Context.Tag("security-agent/AgentMetrics")<
  AgentMetrics,
  {
    readonly namespace: string
    /** False when AGENT_OBSERVABILITY_ENABLED=false: the agent_* series are neither written nor exported. */
    readonly agentSignalsEnabled: boolean
    readonly metrics: MetricSet
    /** Trace exemplars of the duration histograms (written by Telemetry, printed in OpenMetrics). */
    readonly exemplars: Exemplars
    /** The Prometheus text (0.0.4) of every series this service owns. */
    readonly exposition: Effect.Effect<string>
    /** The same series in the format a scraper negotiated (OpenMetrics carries exemplars). */
    readonly render: (format: ExpositionFormat) => Effect.Effect<string>
  }
>() {
  static readonly layer = Layer.scoped(
    AgentMetrics,
    Effect.gen(function* () {
      const config = yield* AppConfig
      const ns = config.observability.metricsNamespace
      const agentSignalsEnabled = config.observability.enabled
      const agentPrefix = `${ns}_agent_`
      // The drop counter stays even with agent signals off: its audit series guards the audit log.
      const droppedName = `${ns}_agent_trace_events_dropped_total`
      const include = (name: string) =>
        (name.startsWith(`${ns}_`) && (agentSignalsEnabled || !name.startsWith(agentPrefix) || name === droppedName)) ||
        name.startsWith("gen_ai_client_") ||
        isRuntimeMetric(name)
      const metrics = makeMetrics(ns)
      const build = readBuildInfo(config.observability.buildRevision)
      yield* Metric.set(
        withLabels(metrics.buildInfo, {
          node_version: build.nodeVersion,
          revision: build.revision,
          version: build.version
        }),
        1
      )
      const collectRuntime = yield* startRuntimeMetrics
      const exemplars = makeExemplars()
      const render = (format: ExpositionFormat) =>
        Effect.zipRight(
          collectRuntime,
          Effect.sync(() => renderPrometheus(Metric.unsafeSnapshot(), include, { format, exemplars }))
        )
      return {
        namespace: ns,
        agentSignalsEnabled,
        metrics,
        exemplars,
        exposition: render("prometheus"),
        render
      }
    })
  )
}
