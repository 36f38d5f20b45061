// The closed label sets of the service's own metrics (the agent vocabulary lives in domain/): a
// label value outside these becomes `other`, so a metric's cardinality is bounded whatever a model
// or a user sends.

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

/** SafeLine's per-module protection values (`default` is SafeLine's name for block mode). */
export const WAF_MODULE_MODES = ["default", "strict", "dry_run", "disable"] as const

export type WafModuleMode = (typeof WAF_MODULE_MODES)[number]

export const WAF_MODE_READ_RESULTS = ["ok", "error"] as const

export type WafModeReadResult = (typeof WAF_MODE_READ_RESULTS)[number]

/** At most this many SafeLine modules get a mode series (SafeLine has about a dozen). */
export const MAX_WAF_MODULES = 64
