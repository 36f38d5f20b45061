// One typed recorder per signal: each writes its metric, its trace event and (for guardrails)
// its audit record together, so the three can never drift apart.
import { Clock, Context, Effect, Layer, Metric, Option } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { AGENTS, type AgentName } from "../domain/Agents.js"
import {
  CHANGE_AUDIT_PHASES,
  type ChangeAuditPhase,
  GUARDRAIL_OUTCOMES,
  type GuardrailDecision,
  type GuardrailGate,
  type GuardrailReason,
  NODE_STATUSES,
  type NodeStatus,
  SELFRAG_OUTCOMES,
  type SelfRagDecision,
  type SelfRagReason
} from "../domain/Outcomes.js"
import { TOOL_STATUSES, TOOLS, TOOLS_BY_AGENT, type ToolName, type ToolStatus } from "../domain/Tools.js"
import { AgentMetrics, exemplarHistogramNames, withLabels } from "./AgentMetrics.js"
import { AuditLog } from "./AuditLog.js"
import { getTurn } from "./Correlation.js"
import {
  ACCESS_DENIED_REASONS,
  type AccessDeniedReason,
  bounded,
  CHAT_REJECT_REASONS,
  type ChatRejectReason,
  DEPENDENCIES,
  type Dependency,
  MAX_WAF_MODULES,
  READINESS_CHECKS,
  type ReadinessCheck,
  TOKENS_FILE_RELOAD_RESULTS,
  type TokensFileReloadResult,
  TRACE_EVENTS,
  TRACE_SINKS,
  WAF_MODE_READ_RESULTS,
  WAF_MODULE_MODES
} from "./Labels.js"
import { seriesLabelKey } from "./Prometheus.js"
import { stampEvent } from "./TraceEvent.js"
import { TraceSink } from "./TraceSink.js"

export interface ToolCallRecord {
  readonly agent: AgentName
  readonly tool: ToolName
  readonly status: ToolStatus
  readonly durationSeconds: number
  readonly error?: string | undefined
  readonly errorType?: string | undefined
}

export interface GuardrailRecord {
  readonly gate: GuardrailGate
  readonly decision: GuardrailDecision
  readonly reason: GuardrailReason
  readonly metadata?: Readonly<Record<string, unknown>>
}

export interface SelfRagRecord {
  readonly attempt: number
  readonly decision: SelfRagDecision
  readonly reason: SelfRagReason
  readonly citationsOk: boolean
  readonly citations: ReadonlyArray<number>
  readonly metadata?: Readonly<Record<string, unknown>>
}

export interface LlmCallRecord {
  readonly operation: string
  readonly provider: string
  readonly model: string
  readonly durationSeconds: number
  readonly inputTokens?: number | undefined
  readonly outputTokens?: number | undefined
  readonly errorType?: string | undefined
}

const make = Effect.gen(function* () {
  const { metrics: m, agentSignalsEnabled: agentOn, exemplars, namespace } = yield* AgentMetrics
  const { llmPrices } = (yield* AppConfig).observability
  const exemplarNames = exemplarHistogramNames(namespace)
  const sink = yield* TraceSink
  const audit = yield* AuditLog
  const whenAgentOn = (effect: Effect.Effect<void>) => (agentOn ? effect : Effect.void)

  // Known label values start at 0, so rate() and absent-series alerts work from the first scrape.
  const touch = (metric: Metric.Metric<any, any, any>) => Metric.value(metric)
  if (agentOn) {
    yield* Effect.forEach(AGENTS, (agent) => touch(withLabels(m.routeTotal, { selected_agent: agent })))
    yield* Effect.forEach(AGENTS, (agent) =>
      agent === "supervisor"
        ? Effect.void
        : touch(withLabels(m.handoffTotal, { from_agent: "supervisor", to_agent: agent }))
    )
    for (const agent of AGENTS) {
      for (const tool of TOOLS_BY_AGENT[agent]) {
        yield* touch(withLabels(m.toolLatency, { agent, tool }))
        for (const status of TOOL_STATUSES) yield* touch(withLabels(m.toolCallsTotal, { agent, status, tool }))
      }
      for (const status of NODE_STATUSES) yield* touch(withLabels(m.nodeRunsTotal, { agent, status }))
    }
    for (const [gate, outcomes] of Object.entries(GUARDRAIL_OUTCOMES)) {
      for (const [decision, reason] of outcomes) yield* touch(withLabels(m.guardrailTotal, { decision, gate, reason }))
    }
    for (const [decision, reason] of SELFRAG_OUTCOMES) {
      yield* touch(withLabels(m.selfragDecisionTotal, { decision, reason }))
    }
    yield* touch(m.turnLatency)
    for (const event of TRACE_EVENTS) yield* touch(withLabels(m.traceEventsTotal, { event }))
    for (const s of TRACE_SINKS) yield* touch(withLabels(m.traceEventsDroppedTotal, { sink: s }))
  } else {
    yield* touch(withLabels(m.traceEventsDroppedTotal, { sink: "audit" }))
  }
  yield* touch(m.chatRequestsTotal)
  yield* touch(m.chatFailuresTotal)
  yield* touch(m.chatLatency)
  yield* touch(m.healthChecksTotal)
  yield* touch(m.readinessChecksTotal)
  for (const reason of CHAT_REJECT_REASONS) yield* touch(withLabels(m.chatRejectedTotal, { reason }))
  for (const check of READINESS_CHECKS) yield* touch(withLabels(m.readinessFailuresTotal, { check }))
  for (const reason of ACCESS_DENIED_REASONS) yield* touch(withLabels(m.accessDeniedTotal, { reason }))
  for (const result of TOKENS_FILE_RELOAD_RESULTS) yield* touch(withLabels(m.tokensFileReloadsTotal, { result }))
  for (const phase of CHANGE_AUDIT_PHASES) yield* touch(withLabels(m.wafChangeAuditFailuresTotal, { phase }))
  yield* touch(m.confirmationCodeFailuresTotal)
  yield* touch(m.unauthenticatedExposed)

  for (const result of WAF_MODE_READ_RESULTS) yield* touch(withLabels(m.wafProtectionModeReadsTotal, { result }))
  for (const [model] of Object.entries(llmPrices)) {
    for (const type of ["input", "output"]) {
      yield* touch(withLabels(m.llmCostUsdTotal, { gen_ai_request_model: model, gen_ai_token_type: type }))
    }
  }

  const toolNames = TOOLS as ReadonlyArray<ToolName>

  /**
   * Keeps the current span's trace as an exemplar of one histogram observation, so the
   * OpenMetrics exposition can link the bucket to a trace. Outside any span there is nothing to link.
   */
  const exemplar = (name: string, labels: Readonly<Record<string, string>>, value: number) =>
    Effect.flatMap(Effect.option(Effect.currentSpan), (span) =>
      Option.isNone(span)
        ? Effect.void
        : Effect.map(Clock.currentTimeMillis, (timestampMs) =>
            exemplars.record(name, seriesLabelKey(labels), {
              traceId: span.value.traceId,
              spanId: span.value.spanId,
              value,
              timestampMs
            })
          )
    )

  /** Modules whose mode series exist, so a failed read can zero them. */
  const wafModules = new Set<string>()
  const setModuleMode = (module: string, current: string | undefined) =>
    Effect.forEach(WAF_MODULE_MODES, (mode) =>
      Metric.set(withLabels(m.wafProtectionMode, { mode, module }), mode === current ? 1 : 0)
    )

  return {
    recordRoute: (selectedAgent: AgentName, rawRoute?: string) =>
      whenAgentOn(
        Metric.increment(withLabels(m.routeTotal, { selected_agent: bounded(AGENTS, selectedAgent) })).pipe(
          Effect.zipRight(
            sink.emit(
              "route.selected",
              rawRoute === undefined
                ? { selected_agent: selectedAgent }
                : { selected_agent: selectedAgent, raw_route: rawRoute.slice(0, 200) }
            )
          )
        )
      ),

    recordHandoff: (fromAgent: AgentName, toAgent: AgentName) =>
      whenAgentOn(
        Metric.increment(
          withLabels(m.handoffTotal, { from_agent: bounded(AGENTS, fromAgent), to_agent: bounded(AGENTS, toAgent) })
        ).pipe(Effect.zipRight(sink.emit("route.handoff", { from_agent: fromAgent, to_agent: toAgent })))
      ),

    recordToolCall: (call: ToolCallRecord) =>
      whenAgentOn(
        Effect.gen(function* () {
          const agent = bounded(AGENTS, call.agent)
          const tool = bounded(toolNames, call.tool)
          const status = bounded(TOOL_STATUSES, call.status)
          yield* Metric.increment(withLabels(m.toolCallsTotal, { agent, status, tool }))
          yield* Metric.update(withLabels(m.toolLatency, { agent, tool }), call.durationSeconds)
          yield* exemplar(exemplarNames.toolLatency, { agent, tool }, call.durationSeconds)
          yield* sink.emit("tool.call", {
            agent: call.agent,
            tool: call.tool,
            status: call.status,
            duration_seconds: call.durationSeconds,
            ...(call.error === undefined ? {} : { error: call.error.slice(0, 500), error_type: call.errorType })
          })
        })
      ),

    /**
     * Guardrail decisions go to the audit log even when agent observability is off; each names
     * the principal (and role) the turn acts for.
     */
    recordGuardrail: (record: GuardrailRecord) =>
      Effect.gen(function* () {
        const turn = yield* getTurn
        const event = yield* stampEvent("guardrail.decision", {
          gate: record.gate,
          decision: record.decision,
          reason: record.reason,
          ...(turn._tag === "Some"
            ? {
                principal: turn.value.principal.name,
                role: turn.value.principal.role,
                ...(turn.value.clientAddress === undefined ? {} : { client_address: turn.value.clientAddress })
              }
            : {}),
          ...record.metadata
        })
        yield* audit.record(event)
        if (!agentOn) return
        yield* Metric.increment(
          withLabels(m.guardrailTotal, { decision: record.decision, gate: record.gate, reason: record.reason })
        )
        yield* sink.append(event)
      }),

    recordSelfRagDecision: (record: SelfRagRecord) =>
      whenAgentOn(
        Metric.increment(withLabels(m.selfragDecisionTotal, { decision: record.decision, reason: record.reason })).pipe(
          Effect.zipRight(
            sink.emit("selfrag.decision", {
              attempt: record.attempt,
              decision: record.decision,
              reason: record.reason,
              citations_ok: record.citationsOk,
              citations: record.citations,
              ...record.metadata
            })
          )
        )
      ),

    recordNodeRun: (agent: AgentName, status: NodeStatus) =>
      whenAgentOn(Metric.increment(withLabels(m.nodeRunsTotal, { agent: bounded(AGENTS, agent), status }))),

    recordTurnStarted: (metadata: Readonly<Record<string, unknown>>) => sink.emit("turn.started", metadata),

    recordTurnCompleted: (durationSeconds: number, metadata: Readonly<Record<string, unknown>>) =>
      whenAgentOn(
        Metric.update(m.turnLatency, durationSeconds).pipe(
          Effect.zipRight(exemplar(exemplarNames.turnLatency, {}, durationSeconds)),
          Effect.zipRight(sink.emit("turn.completed", { duration_seconds: durationSeconds, ...metadata }))
        )
      ),

    recordLlmCall: (call: LlmCallRecord) =>
      Effect.gen(function* () {
        const base = {
          gen_ai_operation_name: call.operation,
          gen_ai_provider_name: call.provider,
          gen_ai_request_model: call.model
        }
        const durationLabels = call.errorType === undefined ? base : { ...base, error_type: call.errorType }
        yield* Metric.update(withLabels(m.genAiOperationDuration, durationLabels), call.durationSeconds)
        yield* exemplar(exemplarNames.genAiOperationDuration, durationLabels, call.durationSeconds)
        const price = llmPrices[call.model]
        const spend = (type: "input" | "output", tokens: number, perMillion: number) =>
          Metric.incrementBy(
            withLabels(m.llmCostUsdTotal, { gen_ai_request_model: call.model, gen_ai_token_type: type }),
            (tokens * perMillion) / 1_000_000
          )
        if (call.inputTokens !== undefined) {
          yield* Metric.update(withLabels(m.genAiTokenUsage, { ...base, gen_ai_token_type: "input" }), call.inputTokens)
          yield* spend("input", call.inputTokens, price?.inputPerMillion ?? 0)
        }
        if (call.outputTokens !== undefined) {
          yield* Metric.update(
            withLabels(m.genAiTokenUsage, { ...base, gen_ai_token_type: "output" }),
            call.outputTokens
          )
          yield* spend("output", call.outputTokens, price?.outputPerMillion ?? 0)
        }
        yield* sink.emit("llm.call", {
          provider: call.provider,
          model: call.model,
          operation: call.operation,
          duration_seconds: call.durationSeconds,
          input_tokens: call.inputTokens ?? 0,
          output_tokens: call.outputTokens ?? 0,
          ...(call.errorType === undefined ? {} : { error_type: call.errorType })
        })
      }),

    recordChatRequest: Metric.increment(m.chatRequestsTotal),
    recordChatFailure: Metric.increment(m.chatFailuresTotal),
    recordChatRejected: (reason: ChatRejectReason) =>
      Metric.increment(withLabels(m.chatRejectedTotal, { reason: bounded(CHAT_REJECT_REASONS, reason) })),
    recordChatLatency: (seconds: number) => Metric.update(m.chatLatency, seconds),
    recordAccessDenied: (reason: AccessDeniedReason) =>
      Metric.increment(withLabels(m.accessDeniedTotal, { reason: bounded(ACCESS_DENIED_REASONS, reason) })),
    setUnauthenticatedExposed: (exposed: boolean) => Metric.set(m.unauthenticatedExposed, exposed ? 1 : 0),
    recordTokensFileReload: (result: TokensFileReloadResult) =>
      Metric.increment(withLabels(m.tokensFileReloadsTotal, { result })),
    recordConfirmationCodeFailure: Metric.increment(m.confirmationCodeFailuresTotal),
    recordChangeAuditFailure: (phase: ChangeAuditPhase) =>
      Metric.increment(withLabels(m.wafChangeAuditFailuresTotal, { phase })),
    recordHealthCheck: Metric.increment(m.healthChecksTotal),
    recordReadinessCheck: Metric.increment(m.readinessChecksTotal),
    recordReadinessFailure: (check: ReadinessCheck) =>
      Metric.increment(withLabels(m.readinessFailuresTotal, { check: bounded(READINESS_CHECKS, check) })),
    /**
     * One read of SafeLine's protection modes (module → SafeLine value): 1 on each module's mode,
     * 0 on its other modes. A module missing from the read is zeroed.
     */
    recordWafProtectionModes: (modules: Readonly<Record<string, string>>) =>
      Effect.gen(function* () {
        const seen = Object.keys(modules).slice(0, MAX_WAF_MODULES)
        for (const module of wafModules) if (!seen.includes(module)) yield* setModuleMode(module, undefined)
        for (const module of seen) {
          wafModules.add(module)
          yield* setModuleMode(module, modules[module])
        }
        yield* Metric.increment(withLabels(m.wafProtectionModeReadsTotal, { result: "ok" }))
      }),
    /** A failed read: the mode is unknown, so no module reports one (the alert must not fire on stale data). */
    recordWafProtectionModeReadFailure: Effect.gen(function* () {
      for (const module of wafModules) yield* setModuleMode(module, undefined)
      yield* Metric.increment(withLabels(m.wafProtectionModeReadsTotal, { result: "error" }))
    }),
    setDependencyUp: (dependency: Dependency, up: boolean) =>
      Metric.set(withLabels(m.dependencyUp, { dependency: bounded(DEPENDENCIES, dependency) }), up ? 1 : 0)
  } as const
})

export class Telemetry extends Context.Tag("security-agent/Telemetry")<
  Telemetry,
  Effect.Effect.Success<typeof make>
>() {
  static readonly layer = Layer.effect(Telemetry, make)
}
