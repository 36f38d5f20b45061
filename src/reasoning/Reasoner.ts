// The thinking part of the agents behind one interface: routing, composing a specialist's
// reply from tool data, and the Self-RAG draft and critic. Live layers: offline (no network)
// and LLM-backed (LangChain chat models); tests script it.
import { Context, Data, type Effect } from "effect"
import type { SpecialistName } from "../domain/Agents.js"
import type { SelfRagDecision } from "../domain/Outcomes.js"
import type { Passage } from "../knowledge/Passage.js"

export class ReasonerError extends Data.TaggedError("ReasonerError")<{
  readonly message: string
  /** Bounded kind for metrics and `error.type`: timeout, rate_limited, unavailable, invalid_response, other. */
  readonly errorType: "timeout" | "rate_limited" | "unavailable" | "invalid_response" | "other"
  readonly cause?: unknown
}> {}

export interface HistoryMessage {
  readonly role: "user" | "assistant"
  readonly content: string
}

export interface ComposeRequest {
  readonly agent: SpecialistName
  readonly question: string
  /** The tool results the reply must be built from (numbers, IPs, CWE ids...). */
  readonly facts: Readonly<Record<string, unknown>>
  /** A deterministic, complete reply built from the facts; the offline reasoner returns it. */
  readonly draft: string
}

export interface DraftRequest {
  readonly question: string
  /** Numbered from 1 in the order given: the draft cites them as `[n]`. */
  readonly passages: ReadonlyArray<Passage>
}

export interface CritiqueRequest {
  readonly question: string
  readonly draft: string
  readonly passages: ReadonlyArray<Passage>
}

export interface Critique {
  readonly decision: SelfRagDecision
  /** One of the Self-RAG reasons (grounded, insufficient_evidence, ambiguous_question, ...). */
  readonly reason: string
}

export interface ReasonerService {
  /** `offline`, `openai`, `google` or `anthropic`. */
  readonly provider: string
  readonly model: string
  readonly offline: boolean
  /** The raw route text (an agent name, perhaps wrapped in a sentence); parsed by the route guardrail. */
  readonly proposeRoute: (
    message: string,
    history: ReadonlyArray<HistoryMessage>
  ) => Effect.Effect<string, ReasonerError>
  /**
   * Optional: a model's multi-step plan for the message, as raw text (JSON
   * `{"steps":[{"agent":"log_analyst","request":"who attacked us most in the last hour?"}, ...]}`),
   * at most `maxSteps` steps, made from the operator's words alone. The plan guardrail
   * (src/agent/TurnPlan.ts) parses and bounds it; without this method, or when its answer cannot
   * be parsed, the rule-based planner splits the message and `proposeRoute` routes each part.
   */
  readonly proposePlan?: (
    message: string,
    history: ReadonlyArray<HistoryMessage>,
    maxSteps: number
  ) => Effect.Effect<string, ReasonerError>
  readonly compose: (request: ComposeRequest) => Effect.Effect<string, ReasonerError>
  readonly draftAnswer: (request: DraftRequest) => Effect.Effect<string, ReasonerError>
  readonly critique: (request: CritiqueRequest) => Effect.Effect<Critique, ReasonerError>
  /** Cheap reachability check for /readyz (offline: always fine). */
  readonly ping: Effect.Effect<void, ReasonerError>
}

/**
 * The OpenTelemetry `gen_ai.provider.name` of a Reasoner provider: Google's Gemini API is
 * `gcp.gemini` in the conventions; the offline reasoner keeps its own name.
 */
export const genAiProviderName = (provider: string): string => (provider === "google" ? "gcp.gemini" : provider)

export class Reasoner extends Context.Tag("security-agent/Reasoner")<Reasoner, ReasonerService>() {}
