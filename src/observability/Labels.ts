// The closed label sets of every metric: a label value outside these becomes `other`,
// so a metric's cardinality is bounded whatever a model or a user sends.

export const AGENTS = [
  "supervisor",
  "monitor",
  "log_analyst",
  "config_manager",
  "threat_intel",
  "tuner",
  "reporter",
  "rag_agent",
  "direct"
] as const
export type AgentName = (typeof AGENTS)[number]

/** The agents the supervisor may hand a turn to. */
export const SPECIALISTS = AGENTS.filter((a): a is Exclude<AgentName, "supervisor"> => a !== "supervisor")
export type SpecialistName = Exclude<AgentName, "supervisor">

export const TOOLS = [
  "tool_get_traffic_stats",
  "tool_get_attack_events",
  "tool_get_system_info",
  "tool_get_protection_mode",
  "tool_set_protection_mode",
  "tool_manage_ip_blacklist",
  "tool_cve_lookup",
  "tool_rag_search"
] as const
export type ToolName = (typeof TOOLS)[number]

/** Which agent calls which tool: these pairs start at 0 so rates exist before the first call. */
export const TOOLS_BY_AGENT: Readonly<Record<AgentName, ReadonlyArray<ToolName>>> = {
  supervisor: [],
  monitor: ["tool_get_traffic_stats", "tool_get_system_info", "tool_get_protection_mode"],
  log_analyst: ["tool_get_attack_events"],
  config_manager: ["tool_get_protection_mode", "tool_set_protection_mode", "tool_manage_ip_blacklist"],
  threat_intel: ["tool_get_attack_events", "tool_cve_lookup"],
  tuner: ["tool_get_attack_events", "tool_rag_search"],
  reporter: ["tool_get_attack_events", "tool_get_traffic_stats", "tool_get_protection_mode", "tool_cve_lookup"],
  rag_agent: ["tool_rag_search"],
  direct: []
}

export const TOOL_STATUSES = ["ok", "error"] as const
export type ToolStatus = (typeof TOOL_STATUSES)[number]

export const NODE_STATUSES = ["ok", "error", "interrupted"] as const
export type NodeStatus = (typeof NODE_STATUSES)[number]

export const GUARDRAIL_DECISIONS = ["allow", "deny", "challenge"] as const
export type GuardrailDecision = (typeof GUARDRAIL_DECISIONS)[number]

/** Every gate with the (decision, reason) pairs it can produce. */
export const GUARDRAIL_OUTCOMES = {
  route_parse: [
    ["allow", "allowed_token"],
    ["allow", "pending_confirmation"],
    ["deny", "invalid_token"]
  ],
  action_confirmation: [
    ["challenge", "confirmation_required"],
    ["allow", "nonce_match"],
    ["deny", "nonce_mismatch"],
    ["deny", "expired"],
    ["deny", "user_cancelled"],
    ["deny", "too_many_attempts"],
    ["deny", "no_pending_action"],
    ["deny", "action_pending"],
    ["deny", "code_throttled"]
  ],
  authorization: [
    ["allow", "role_ok"],
    ["deny", "insufficient_role"]
  ],
  change_audit: [
    ["allow", "audited"],
    ["deny", "audit_disabled"],
    ["deny", "audit_unavailable"],
    ["deny", "outcome_unaudited"]
  ],
  pre_tool_validation: [
    ["allow", "ip_valid"],
    ["allow", "mode_valid"],
    ["deny", "invalid_ip"],
    ["deny", "forbidden_target"],
    ["deny", "invalid_mode"],
    ["deny", "no_previous_mode"]
  ],
  post_tool_result: [
    ["allow", "tool_ok"],
    ["deny", "tool_error"]
  ],
  selfrag_retrieval: [
    ["allow", "evidence_found"],
    ["deny", "no_evidence"]
  ],
  selfrag_decision: [
    ["allow", "grounded"],
    ["deny", "missing_citations"],
    ["deny", "citation_out_of_range"],
    ["deny", "unsupported_citation"]
  ]
} as const satisfies Record<string, ReadonlyArray<readonly [GuardrailDecision, string]>>
export type GuardrailGate = keyof typeof GUARDRAIL_OUTCOMES
export const GUARDRAIL_GATES = Object.keys(GUARDRAIL_OUTCOMES) as ReadonlyArray<GuardrailGate>
export type GuardrailReason = (typeof GUARDRAIL_OUTCOMES)[GuardrailGate][number][1] | "other"

export const SELFRAG_DECISIONS = ["FINAL", "RETRY", "CLARIFY", "ESCALATE"] as const
export type SelfRagDecision = (typeof SELFRAG_DECISIONS)[number]

export const SELFRAG_OUTCOMES = [
  ["FINAL", "grounded"],
  ["RETRY", "missing_citations"],
  ["RETRY", "citation_out_of_range"],
  ["RETRY", "unsupported_citation"],
  ["RETRY", "insufficient_evidence"],
  ["RETRY", "invalid_critic_output"],
  ["CLARIFY", "ambiguous_question"],
  ["ESCALATE", "no_evidence"],
  ["ESCALATE", "attempts_exhausted"]
] as const satisfies ReadonlyArray<readonly [SelfRagDecision, string]>
export type SelfRagReason = (typeof SELFRAG_OUTCOMES)[number][1] | "other"

export const CHAT_REJECT_REASONS = [
  "invalid_json",
  "invalid_body",
  "invalid_session_id",
  "message_too_long",
  "body_too_large",
  "unauthorized",
  "session_busy",
  "session_store_unavailable",
  "rate_limited",
  "forbidden",
  "body_timeout"
] as const
export type ChatRejectReason = (typeof CHAT_REJECT_REASONS)[number]

/** Why a request was refused before any handler ran (every route, not only /v1/chat). */
export const ACCESS_DENIED_REASONS = [
  "unauthorized",
  "forbidden_role",
  "forbidden_host",
  "forbidden_origin",
  "non_canonical_target",
  "rate_limited"
] as const
export type AccessDeniedReason = (typeof ACCESS_DENIED_REASONS)[number]

/** The two audit writes around a WAF change: before it is applied, and its outcome after. */
export const CHANGE_AUDIT_PHASES = ["intent", "outcome"] as const
export type ChangeAuditPhase = (typeof CHANGE_AUDIT_PHASES)[number]

export const TOKENS_FILE_RELOAD_RESULTS = ["ok", "error"] as const
export type TokensFileReloadResult = (typeof TOKENS_FILE_RELOAD_RESULTS)[number]

export const READINESS_CHECKS = ["graph", "knowledge_base", "session_store"] as const
export type ReadinessCheck = (typeof READINESS_CHECKS)[number]

export const DEPENDENCIES = ["safeline", "llm", "redis", "otlp"] as const
export type Dependency = (typeof DEPENDENCIES)[number]

export const TRACE_EVENTS = [
  "turn.started",
  "turn.completed",
  "route.selected",
  "route.handoff",
  "tool.call",
  "guardrail.decision",
  "selfrag.decision",
  "llm.call"
] as const
export type TraceEventName = (typeof TRACE_EVENTS)[number]

export const TRACE_SINKS = ["jsonl", "audit"] as const
export type TraceSinkName = (typeof TRACE_SINKS)[number]

/** Maps a value to itself when it belongs to the closed set, else to `other`. */
export const bounded = <const T extends string>(allowed: ReadonlyArray<T>, value: string): T | "other" =>
  (allowed as ReadonlyArray<string>).includes(value) ? (value as T) : "other"
