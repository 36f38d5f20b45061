// One typed recorder per signal: each writes its metric, its trace event and (for guardrails)
// its audit record together, so the three can never drift apart.
import { Clock, Context, Effect, type Fiber, FiberRef, Layer, Metric, Tracer } from "effect"
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
import { AgentMetrics, exemplarHistogramNames, taggedTable, withLabels } from "./AgentMetrics.js"
import { AuditLog } from "./AuditLog.js"
import { currentTurn } from "./Correlation.js"
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
import { stampEventIn } from "./TraceEvent.js"
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
  for (const action of SCHEDULED_REVERT_ACTIONS) {
    for (const outcome of SCHEDULED_REVERT_OUTCOMES)
      yield* touch(withLabels(m.wafScheduledRevertsTotal, { action, outcome }))
  }
  yield* touch(m.wafScheduledRevertsPending)

  for (const result of WAF_MODE_READ_RESULTS) yield* touch(withLabels(m.wafProtectionModeReadsTotal, { result }))
  for (const [model] of Object.entries(llmPrices)) {
    for (const type of ["input", "output"]) {
      yield* touch(withLabels(m.llmCostUsdTotal, { gen_ai_request_model: model, gen_ai_token_type: type }))
    }
  }

  const toolNames = TOOLS as ReadonlyArray<ToolName>

  // The tagged metric of every label set of the closed sets (agents, tools, outcomes), built
  // once: a recorder looks its series up without building a key. Label sets outside them (an
  // `other`) fall back to withLabels.
  const agentsAndOther = [...AGENTS, "other"]
  const toolsAndOther = [...toolNames, "other"]
  const routeOf = taggedTable(
    m.routeTotal,
    ["selected_agent"],
    agentsAndOther.map((a) => [a])
  )
  const handoffOf = taggedTable(
    m.handoffTotal,
    ["from_agent", "to_agent"],
    agentsAndOther.flatMap((from) => agentsAndOther.map((to) => [from, to]))
  )
  const toolCallsOf = taggedTable(
    m.toolCallsTotal,
    ["agent", "tool", "status"],
    agentsAndOther.flatMap((agent) =>
      toolsAndOther.flatMap((tool) => [...TOOL_STATUSES, "other"].map((status) => [agent, tool, status]))
    )
  )
  const toolLatencyOf = taggedTable(
    m.toolLatency,
    ["agent", "tool"],
    agentsAndOther.flatMap((agent) => toolsAndOther.map((tool) => [agent, tool]))
  )
  /** The exemplar key of each (agent, tool) series, rendered once. */
  const toolSeriesKeys = new Map<string, string>()
  const toolSeriesKey = (agent: string, tool: string) => {
    const joined = `${agent}\u0000${tool}`
    let key = toolSeriesKeys.get(joined)
    if (key === undefined) {
      key = seriesLabelKey({ agent, tool })
      if (toolSeriesKeys.size < 10_000) toolSeriesKeys.set(joined, key)
    }
    return key
  }
  const guardrailOf = taggedTable(
    m.guardrailTotal,
    ["gate", "decision", "reason"],
    Object.entries(GUARDRAIL_OUTCOMES).flatMap(([gate, outcomes]) =>
      outcomes.map(([decision, reason]) => [gate, decision, reason])
    )
  )
  const selfragOf = taggedTable(
    m.selfragDecisionTotal,
    ["decision", "reason"],
    SELFRAG_OUTCOMES.map(([decision, reason]) => [decision, reason])
  )
  const nodeRunsOf = taggedTable(
    m.nodeRunsTotal,
    ["agent", "status"],
    agentsAndOther.flatMap((agent) => NODE_STATUSES.map((status) => [agent, status]))
  )
  const turnLatencyKey = seriesLabelKey({})
  const chatRejectedOf = taggedTable(
    m.chatRejectedTotal,
    ["reason"],
    [...CHAT_REJECT_REASONS, "other"].map((reason) => [reason])
  )
  const accessDeniedOf = taggedTable(
    m.accessDeniedTotal,
    ["reason"],
    [...ACCESS_DENIED_REASONS, "other"].map((reason) => [reason])
  )
  /** One synchronous update: what Metric.increment does, in one effect instead of three. */
  const count = (metric: Metric.Metric.Counter<number>) => Effect.sync(() => metric.unsafeUpdate(1, []))

  /** One synchronous step on the recorder's own fiber: each recorder is one effect. */
  const onFiber = (body: (fiber: Fiber.RuntimeFiber<unknown, unknown>) => void): Effect.Effect<void> =>
    Effect.withFiberRuntime((fiber) => {
      body(fiber)
      return Effect.void
    })

  /**
   * Keeps the current span's trace as an exemplar of one histogram observation, so the
   * OpenMetrics exposition can link the bucket to a trace. Outside any span there is nothing to link.
   */
  const exemplarIn = (fiber: Fiber.RuntimeFiber<unknown, unknown>, name: string, labelKey: string, value: number) => {
    const span = Context.getOption(fiber.getFiberRef(FiberRef.currentContext), Tracer.ParentSpan)
    if (span._tag === "None" || span.value._tag !== "Span") return
    exemplars.record(name, labelKey, {
      traceId: span.value.traceId,
      spanId: span.value.spanId,
      value,
      timestampMs: Context.get(fiber.currentDefaultServices, Clock.Clock).unsafeCurrentTimeMillis()
    })
  }

  /** Modules whose mode series exist, so a failed read can zero them. */
  const wafModules = new Set<string>()
  const setModuleMode = (module: string, current: string | undefined) =>
    Effect.forEach(WAF_MODULE_MODES, (mode) =>
      Metric.set(withLabels(m.wafProtectionMode, { mode, module }), mode === current ? 1 : 0)
    )

  return {
    recordRoute: (selectedAgent: AgentName, rawRoute?: string) =>
      whenAgentOn(
        onFiber((fiber) => {
          routeOf(bounded(AGENTS, selectedAgent)).unsafeUpdate(1, [])
          sink.unsafeEmit(
            fiber,
            "route.selected",
            rawRoute === undefined
              ? { selected_agent: selectedAgent }
              : { selected_agent: selectedAgent, raw_route: rawRoute.slice(0, 200) }
          )
        })
      ),

    recordHandoff: (fromAgent: AgentName, toAgent: AgentName) =>
      whenAgentOn(
        onFiber((fiber) => {
          handoffOf(bounded(AGENTS, fromAgent), bounded(AGENTS, toAgent)).unsafeUpdate(1, [])
          sink.unsafeEmit(fiber, "route.handoff", { from_agent: fromAgent, to_agent: toAgent })
        })
      ),

    recordToolCall: (call: ToolCallRecord) =>
      whenAgentOn(
        onFiber((fiber) => {
          const agent = bounded(AGENTS, call.agent)
          const tool = bounded(toolNames, call.tool)
          const status = bounded(TOOL_STATUSES, call.status)
          toolCallsOf(agent, tool, status).unsafeUpdate(1, [])
          toolLatencyOf(agent, tool).unsafeUpdate(call.durationSeconds, [])
          exemplarIn(fiber, exemplarNames.toolLatency, toolSeriesKey(agent, tool), call.durationSeconds)
          sink.unsafeEmit(fiber, "tool.call", {
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
      Effect.withFiberRuntime((fiber) => {
        const turn = fiber.getFiberRef(currentTurn)
        const event = stampEventIn(fiber, "guardrail.decision", {
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
        if (agentOn) {
          guardrailOf(record.gate, record.decision, record.reason).unsafeUpdate(1, [])
          sink.unsafeAppend(fiber, event)
        }
        return audit.record(event)
      }),

    recordSelfRagDecision: (record: SelfRagRecord) =>
      whenAgentOn(
        onFiber((fiber) => {
          selfragOf(record.decision, record.reason).unsafeUpdate(1, [])
          sink.unsafeEmit(fiber, "selfrag.decision", {
            attempt: record.attempt,
            decision: record.decision,
            reason: record.reason,
            citations_ok: record.citationsOk,
            citations: record.citations,
            ...record.metadata
          })
        })
      ),

    recordNodeRun: (agent: AgentName, status: NodeStatus) =>
      whenAgentOn(Effect.sync(() => nodeRunsOf(bounded(AGENTS, agent), status).unsafeUpdate(1, []))),

    recordTurnStarted: (metadata: Readonly<Record<string, unknown>>) => sink.emit("turn.started", metadata),

    recordTurnCompleted: (durationSeconds: number, metadata: Readonly<Record<string, unknown>>) =>
      whenAgentOn(
        onFiber((fiber) => {
          m.turnLatency.unsafeUpdate(durationSeconds, [])
          exemplarIn(fiber, exemplarNames.turnLatency, turnLatencyKey, durationSeconds)
          sink.unsafeEmit(fiber, "turn.completed", { duration_seconds: durationSeconds, ...metadata })
        })
      ),

    recordLlmCall: (call: LlmCallRecord) =>
      onFiber((fiber) => {
        const base = {
          gen_ai_operation_name: call.operation,
          gen_ai_provider_name: call.provider,
          gen_ai_request_model: call.model
        }
        const durationLabels = call.errorType === undefined ? base : { ...base, error_type: call.errorType }
        withLabels(m.genAiOperationDuration, durationLabels).unsafeUpdate(call.durationSeconds, [])
        exemplarIn(fiber, exemplarNames.genAiOperationDuration, seriesLabelKey(durationLabels), call.durationSeconds)
        const price = llmPrices[call.model]
        const spend = (type: "input" | "output", tokens: number, perMillion: number) =>
          withLabels(m.llmCostUsdTotal, { gen_ai_request_model: call.model, gen_ai_token_type: type }).unsafeUpdate(
            (tokens * perMillion) / 1_000_000,
            []
          )
        if (call.inputTokens !== undefined) {
          withLabels(m.genAiTokenUsage, { ...base, gen_ai_token_type: "input" }).unsafeUpdate(call.inputTokens, [])
          spend("input", call.inputTokens, price?.inputPerMillion ?? 0)
        }
        if (call.outputTokens !== undefined) {
          withLabels(m.genAiTokenUsage, { ...base, gen_ai_token_type: "output" }).unsafeUpdate(call.outputTokens, [])
          spend("output", call.outputTokens, price?.outputPerMillion ?? 0)
        }
        sink.unsafeEmit(fiber, "llm.call", {
          provider: call.provider,
          model: call.model,
          operation: call.operation,
          duration_seconds: call.durationSeconds,
          input_tokens: call.inputTokens ?? 0,
          output_tokens: call.outputTokens ?? 0,
          ...(call.errorType === undefined ? {} : { error_type: call.errorType })
        })
      }),

    recordChatRequest: count(m.chatRequestsTotal),
    recordChatFailure: count(m.chatFailuresTotal),
    recordChatRejected: (reason: ChatRejectReason) => count(chatRejectedOf(bounded(CHAT_REJECT_REASONS, reason))),
    recordChatLatency: (seconds: number) => Effect.sync(() => m.chatLatency.unsafeUpdate(seconds, [])),
    recordAccessDenied: (reason: AccessDeniedReason) => count(accessDeniedOf(bounded(ACCESS_DENIED_REASONS, reason))),
    setUnauthenticatedExposed: (exposed: boolean) => Metric.set(m.unauthenticatedExposed, exposed ? 1 : 0),
    recordTokensFileReload: (result: TokensFileReloadResult) =>
      Metric.increment(withLabels(m.tokensFileReloadsTotal, { result })),
    recordConfirmationCodeFailure: Metric.increment(m.confirmationCodeFailuresTotal),
    recordChangeAuditFailure: (phase: ChangeAuditPhase) =>
      Metric.increment(withLabels(m.wafChangeAuditFailuresTotal, { phase })),
    recordHealthCheck: count(m.healthChecksTotal),
    recordReadinessCheck: count(m.readinessChecksTotal),
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
      Metric.set(withLabels(m.dependencyUp, { dependency: bounded(DEPENDENCIES, dependency) }), up ? 1 : 0),
    /** One due revert of a timed WAF change run by the scheduler (src/app/RevertScheduler.ts). */
    recordScheduledRevert: (action: ScheduledRevertAction, outcome: ScheduledRevertOutcome) =>
      Metric.increment(
        withLabels(m.wafScheduledRevertsTotal, {
          action: bounded(SCHEDULED_REVERT_ACTIONS, action),
          outcome: bounded(SCHEDULED_REVERT_OUTCOMES, outcome)
        })
      ),
    setScheduledRevertsPending: (pending: number) => Metric.set(m.wafScheduledRevertsPending, pending)
  } as const
})

/** The timed change a scheduled revert undoes, and how the revert ended. */
export const SCHEDULED_REVERT_ACTIONS = ["set_mode", "blacklist_add"] as const
export type ScheduledRevertAction = (typeof SCHEDULED_REVERT_ACTIONS)[number]
export const SCHEDULED_REVERT_OUTCOMES = ["ok", "skipped", "error"] as const
export type ScheduledRevertOutcome = (typeof SCHEDULED_REVERT_OUTCOMES)[number]

export class Telemetry extends Context.Tag("security-agent/Telemetry")<
  Telemetry,
  Effect.Effect.Success<typeof make>
>() {
  static readonly layer = Layer.effect(Telemetry, make)
}
