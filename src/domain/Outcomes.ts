// Every outcome a step can have: node runs, guardrail decisions (each gate with its closed set of
// (decision, reason) pairs), Self-RAG decisions and the two phases of a WAF change's audit.

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
    ["deny", "code_throttled"],
    ["deny", "code_missing"]
  ],
  /** A multi-step plan: made from the operator's words before any tool runs, at most one WAF change, last. */
  plan_validation: [
    ["allow", "plan_valid"],
    ["deny", "invalid_plan"],
    ["deny", "second_change"]
  ],
  /** AGENT_MAX_HOPS specialist steps per turn: the steps beyond it are not run, and the reply says so. */
  hop_budget: [
    ["allow", "within_budget"],
    ["deny", "budget_exhausted"]
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
    ["deny", "invalid_duration"],
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

/** The two audit writes around a WAF change: before it is applied, and its outcome after. */
export const CHANGE_AUDIT_PHASES = ["intent", "outcome"] as const

export type ChangeAuditPhase = (typeof CHANGE_AUDIT_PHASES)[number]
