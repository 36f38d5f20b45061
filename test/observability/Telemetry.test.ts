import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Ref } from "effect"
import { AGENTS } from "../../src/domain/Agents.js"
import { LOCAL_CLI_PRINCIPAL } from "../../src/domain/Principal.js"
import { AgentMetrics } from "../../src/observability/AgentMetrics.js"
import { MemoryAuditRecords } from "../../src/observability/AuditLog.js"
import { withTurnSpan } from "../../src/observability/Correlation.js"
import { Telemetry } from "../../src/observability/Telemetry.js"
import { MemoryTraceEvents } from "../../src/observability/TraceSink.js"
import { metricFamilies, sampleValue } from "../support/exposition.js"
import { testObservability } from "../support/layers.js"

const scenario = Effect.gen(function* () {
  const t = yield* Telemetry
  yield* t.recordRoute("monitor", "  'Monitor'. ")
  yield* t.recordHandoff("supervisor", "monitor")
  yield* t.recordToolCall({ agent: "monitor", tool: "tool_get_traffic_stats", status: "ok", durationSeconds: 0.07 })
  yield* t.recordToolCall({
    agent: "config_manager",
    tool: "tool_set_protection_mode",
    status: "error",
    durationSeconds: 1.5,
    error: "SafeLine token rejected",
    errorType: "SafeLineAuthError"
  })
  yield* t.recordGuardrail({
    gate: "action_confirmation",
    decision: "challenge",
    reason: "confirmation_required",
    metadata: { action: "set_mode", nonce: "123456" }
  })
  yield* t.recordSelfRagDecision({
    attempt: 1,
    decision: "FINAL",
    reason: "grounded",
    citationsOk: true,
    citations: [1]
  })
  yield* t.recordTurnCompleted(0.4, { route: "monitor" })
}).pipe(withTurnSpan("sess-1", "1", LOCAL_CLI_PRINCIPAL))

const read = Effect.gen(function* () {
  const text = yield* Effect.flatMap(AgentMetrics, (m) => m.exposition)
  const ns = (yield* AgentMetrics).namespace
  const events = yield* Ref.get(yield* MemoryTraceEvents)
  const audit = yield* Ref.get(yield* MemoryAuditRecords)
  return { text, ns, events, audit }
})

describe("Telemetry", () => {
  it.effect("starts known label values at 0", () =>
    Effect.gen(function* () {
      const { text, ns } = yield* read
      for (const agent of AGENTS) {
        expect(sampleValue(text, `${ns}_agent_route_total`, { selected_agent: agent })).toBe(0)
      }
      expect(
        sampleValue(text, `${ns}_agent_guardrail_total`, {
          decision: "deny",
          gate: "action_confirmation",
          reason: "expired"
        })
      ).toBe(0)
      expect(
        sampleValue(text, `${ns}_agent_selfrag_decision_total`, { decision: "ESCALATE", reason: "no_evidence" })
      ).toBe(0)
      expect(sampleValue(text, `${ns}_readiness_failures_total`, { check: "session_store" })).toBe(0)
      expect(sampleValue(text, `${ns}_agent_turn_latency_seconds_count`)).toBe(0)
    }).pipe(Effect.provide(testObservability()))
  )

  it.effect("writes metric, trace event and audit record together, with the turn's ids", () =>
    Effect.gen(function* () {
      yield* scenario
      const { text, ns, events, audit } = yield* read
      expect(sampleValue(text, `${ns}_agent_route_total`, { selected_agent: "monitor" })).toBe(1)
      expect(sampleValue(text, `${ns}_agent_handoff_total`, { from_agent: "supervisor", to_agent: "monitor" })).toBe(1)
      expect(
        sampleValue(text, `${ns}_agent_tool_calls_total`, {
          agent: "config_manager",
          status: "error",
          tool: "tool_set_protection_mode"
        })
      ).toBe(1)
      expect(
        sampleValue(text, `${ns}_agent_tool_latency_seconds_bucket`, {
          agent: "monitor",
          tool: "tool_get_traffic_stats",
          le: "0.1"
        })
      ).toBe(1)
      expect(
        sampleValue(text, `${ns}_agent_guardrail_total`, {
          decision: "challenge",
          gate: "action_confirmation",
          reason: "confirmation_required"
        })
      ).toBe(1)
      expect(sampleValue(text, `${ns}_agent_trace_events_total`, { event: "tool.call" })).toBe(2)
      expect(sampleValue(text, `${ns}_agent_turn_latency_seconds_count`)).toBe(1)

      expect(events.map((e) => e.event)).toEqual([
        "route.selected",
        "route.handoff",
        "tool.call",
        "tool.call",
        "guardrail.decision",
        "selfrag.decision",
        "turn.completed"
      ])
      const traceIds = new Set(events.map((e) => e.trace_id))
      expect(traceIds.size).toBe(1)
      expect([...traceIds][0]).toMatch(/^[0-9a-f]{32}$/)
      for (const e of events) {
        expect(e.session_id).toBe("sess-1")
        expect(e.turn_id).toBe("1")
        expect(e.ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
      }
      expect(events[2]!.metadata).toEqual({
        agent: "monitor",
        tool: "tool_get_traffic_stats",
        status: "ok",
        duration_seconds: 0.07
      })
      expect(events[3]!.metadata.error).toBe("SafeLine token rejected")
      expect(audit).toHaveLength(1)
      expect(audit[0]).toEqual(events[4])
      expect(JSON.stringify(audit)).not.toContain("123456")
    }).pipe(Effect.provide(testObservability()))
  )

  it.effect("bounds free-text label values to `other`", () =>
    Effect.gen(function* () {
      const t = yield* Telemetry
      yield* t.recordRoute('evil"agent' as never)
      const { text, ns } = yield* read
      expect(sampleValue(text, `${ns}_agent_route_total`, { selected_agent: "other" })).toBe(1)
      expect(text).not.toContain("evil")
    }).pipe(Effect.provide(testObservability()))
  )

  it.effect("with AGENT_OBSERVABILITY_ENABLED=false keeps service metrics and the audit log only", () =>
    Effect.gen(function* () {
      yield* scenario
      const t = yield* Telemetry
      yield* t.recordChatRequest
      const { text, ns, events, audit } = yield* read
      const families = [...metricFamilies(text).keys()]
      // Only the drop counter stays, for the audit sink (it guards the audit log).
      expect(families.filter((f) => f.startsWith(`${ns}_agent_`))).toEqual([`${ns}_agent_trace_events_dropped_total`])
      expect(text).toContain(`${ns}_agent_trace_events_dropped_total{sink="audit"} 0`)
      expect(text).not.toContain('sink="jsonl"')
      expect(sampleValue(text, `${ns}_chat_requests_total`)).toBe(1)
      expect(events).toEqual([])
      expect(audit).toHaveLength(1)
      expect(audit[0]!.trace_id).toMatch(/^[0-9a-f]{32}$/)
    }).pipe(Effect.provide(testObservability({ AGENT_OBSERVABILITY_ENABLED: "false" })))
  )

  it.effect("records GenAI metrics unprefixed, with error_type only on failures", () =>
    Effect.gen(function* () {
      const t = yield* Telemetry
      const model = `model-${Math.random().toString(36).slice(2)}`
      yield* t.recordLlmCall({
        operation: "chat",
        provider: "openai",
        model,
        durationSeconds: 0.3,
        inputTokens: 100,
        outputTokens: 20
      })
      yield* t.recordLlmCall({ operation: "chat", provider: "openai", model, durationSeconds: 2, errorType: "timeout" })
      const { text } = yield* read
      const base = { gen_ai_operation_name: "chat", gen_ai_provider_name: "openai", gen_ai_request_model: model }
      expect(sampleValue(text, "gen_ai_client_operation_duration_seconds_count", base)).toBe(1)
      expect(
        sampleValue(text, "gen_ai_client_operation_duration_seconds_count", { ...base, error_type: "timeout" })
      ).toBe(1)
      expect(sampleValue(text, "gen_ai_client_token_usage_sum", { ...base, gen_ai_token_type: "input" })).toBe(100)
      expect(sampleValue(text, "gen_ai_client_token_usage_sum", { ...base, gen_ai_token_type: "output" })).toBe(20)
    }).pipe(Effect.provide(testObservability()))
  )

  it.effect("excludes Effect's runtime metrics and other namespaces", () =>
    Effect.gen(function* () {
      const { text, ns } = yield* read
      expect(text).not.toContain("effect_fiber")
      for (const family of metricFamilies(text).keys()) {
        // Besides our namespace and the GenAI metrics: prom-client's process_* / nodejs_* runtime names.
        expect(
          family.startsWith(`${ns}_`) ||
            family.startsWith("gen_ai_client_") ||
            family.startsWith("process_") ||
            family.startsWith("nodejs_"),
          family
        ).toBe(true)
      }
    }).pipe(Effect.provide(Layer.fresh(testObservability())))
  )
})
