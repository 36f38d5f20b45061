// The metric families the service really exports, to check alert rules and dashboard queries
// against: a fresh registry (unique namespace) with one LLM call recorded with and without an
// error, so the gen_ai_* series and their error_type label exist too.
import { Effect } from "effect"
import { LOCAL_CLI_PRINCIPAL } from "../../src/domain/Principal.js"
import { AgentMetrics } from "../../src/observability/AgentMetrics.js"
import { withTurnSpan } from "../../src/observability/Correlation.js"
import { Telemetry } from "../../src/observability/Telemetry.js"
import { metricFamilies } from "../support/exposition.js"
import { testObservability } from "../support/layers.js"
import { DEFAULT_METRIC_PREFIX, familyOf, metricNamesIn } from "../support/rules.js"

export interface ExportedMetrics {
  readonly namespace: string
  /** Family name → type, from the exposition's `# TYPE` lines. */
  readonly families: ReadonlyMap<string, string>
  readonly text: string
}

export const exportedMetrics = (): Promise<ExportedMetrics> =>
  Effect.gen(function* () {
    const telemetry = yield* Telemetry
    const call = { operation: "chat", provider: "openai", model: "gpt-4o-mini", durationSeconds: 0.4 }
    yield* Effect.gen(function* () {
      yield* telemetry.recordLlmCall({ ...call, inputTokens: 120, outputTokens: 30 })
      yield* telemetry.recordLlmCall({ ...call, durationSeconds: 30, errorType: "timeout" })
      yield* telemetry.setDependencyUp("safeline", true)
      yield* telemetry.recordWafProtectionModes({ m_sqli: "default" })
    }).pipe(withTurnSpan("deploy-assets", "1", LOCAL_CLI_PRINCIPAL))
    const metrics = yield* AgentMetrics
    const text = yield* metrics.exposition
    return { namespace: metrics.namespace, families: metricFamilies(text), text }
  }).pipe(Effect.provide(testObservability()), Effect.runPromise)

/** Series Prometheus makes itself for every target (the scrape's health), not the service. */
export const SCRAPE_METRICS: ReadonlyArray<string> = ["up"]

/**
 * The metric names of `exprs` (written with the default prefix) that the exposition lacks,
 * after rewriting the default prefix to the exposition's namespace.
 */
export const missingMetrics = (exprs: ReadonlyArray<string>, exported: ExportedMetrics): Array<string> => {
  const missing = new Set<string>()
  for (const expr of exprs) {
    for (const name of metricNamesIn(expr)) {
      if (SCRAPE_METRICS.includes(name)) continue
      const renamed = name.startsWith(DEFAULT_METRIC_PREFIX)
        ? `${exported.namespace}_${name.slice(DEFAULT_METRIC_PREFIX.length)}`
        : name
      if (familyOf(renamed, exported.families) === undefined) missing.add(name)
    }
  }
  return [...missing].sort()
}
