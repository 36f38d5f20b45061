// An exposition holding every metric the service can export (each signal recorded once), for
// checks that compare docs, alert rules and dashboards against what the code really exports.
import { Effect } from "effect"
import { AGENTS } from "../../src/domain/Agents.js"
import { LOCAL_CLI_PRINCIPAL } from "../../src/domain/Principal.js"
import { TOOLS } from "../../src/domain/Tools.js"
import { AgentMetrics } from "../../src/observability/AgentMetrics.js"
import { withTurnSpan } from "../../src/observability/Correlation.js"
import { Telemetry } from "../../src/observability/Telemetry.js"
import { testObservability } from "./layers.js"

export const recordEverySignal = (labelValues: ReadonlyArray<string> = ["model-a"]) =>
  Effect.gen(function* () {
    const t = yield* Telemetry
    yield* Effect.gen(function* () {
      for (const agent of AGENTS) yield* t.recordRoute(agent)
      yield* t.recordHandoff("supervisor", "rag_agent")
      for (const tool of TOOLS) {
        yield* t.recordToolCall({ agent: "monitor", tool, status: "ok", durationSeconds: 0.2 })
        yield* t.recordToolCall({
          agent: "monitor",
          tool,
          status: "error",
          durationSeconds: 12,
          error: labelValues.join("|")
        })
      }
      yield* t.recordGuardrail({ gate: "pre_tool_validation", decision: "deny", reason: "forbidden_target" })
      yield* t.recordSelfRagDecision({
        attempt: 2,
        decision: "RETRY",
        reason: "unsupported_citation",
        citationsOk: false,
        citations: [3]
      })
      yield* t.recordNodeRun("monitor", "ok")
      yield* t.recordTurnStarted({})
      yield* t.recordTurnCompleted(1.2, {})
      for (const model of labelValues) {
        yield* t.recordLlmCall({
          operation: "chat",
          provider: "openai",
          model,
          durationSeconds: 0.5,
          inputTokens: 10,
          outputTokens: 3
        })
        yield* t.recordLlmCall({
          operation: "chat",
          provider: "openai",
          model,
          durationSeconds: 0.5,
          errorType: "timeout"
        })
      }
      yield* t.recordChatRequest
      yield* t.recordChatFailure
      yield* t.recordChatRejected("invalid_json")
      yield* t.recordChatLatency(0.3)
      yield* t.recordHealthCheck
      yield* t.recordReadinessCheck
      yield* t.recordReadinessFailure("session_store")
      yield* t.setDependencyUp("safeline", true)
      yield* t.setDependencyUp("redis", false)
      yield* t.recordWafProtectionModes({ m_sqli: "disable", m_xss: "default" })
    }).pipe(withTurnSpan("s", "1", LOCAL_CLI_PRINCIPAL))
    const metrics = yield* AgentMetrics
    return { text: yield* metrics.exposition, namespace: metrics.namespace }
  })

/** The exposition of every metric under a fresh namespace. */
export const fullExposition = (labelValues?: ReadonlyArray<string>) =>
  Effect.runPromise(recordEverySignal(labelValues).pipe(Effect.provide(testObservability())))

/** family name → the set of label names its samples carry (le excluded). */
export const familyLabels = (text: string): Map<string, Set<string>> => {
  const families = new Map<string, Set<string>>()
  const types = new Map<string, string>()
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(m[1]!, m[2]!)
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue
    const name = line.match(/^[a-zA-Z_:][a-zA-Z0-9_:]*/)![0]
    const family = types.has(name) ? name : name.replace(/_(bucket|sum|count)$/, "")
    const labels = families.get(family) ?? new Set<string>()
    for (const l of line.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) if (l[1] !== "le") labels.add(l[1]!)
    families.set(family, labels)
  }
  return families
}
