// The Self-RAG loop of rag_agent: retrieve → draft citing `[n]` → critic → citation guardrail,
// FINAL only when critic and guardrail agree; RETRY widens retrieval; each attempt is a
// `selfrag.attempt <n>` span recording its guardrail gates and its decision.
import { Effect } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import type { AgentName } from "../domain/Agents.js"
import type { SourceRef } from "../domain/Chat.js"
import { SELFRAG_OUTCOMES, type SelfRagDecision, type SelfRagReason } from "../domain/Outcomes.js"
import { type CitationCheck, checkCitations } from "../knowledge/Citations.js"
import type { Passage } from "../knowledge/Passage.js"
import { withTurnChildSpan } from "../observability/Correlation.js"
import { bounded } from "../observability/Labels.js"
import { Telemetry } from "../observability/Telemetry.js"
import { type Critique, Reasoner, type ReasonerError } from "../reasoning/Reasoner.js"
import { RagSearchTool } from "../tools/RagSearchTool.js"
import type { ToolError } from "../tools/ToolError.js"

export interface SelfRagAttempt {
  readonly attempt: number
  readonly decision: SelfRagDecision
  readonly reason: SelfRagReason
  /** The passage numbers the draft cited. */
  readonly citations: ReadonlyArray<number>
  /** Whether the citation guardrail passed. */
  readonly citationsOk: boolean
}

export interface SelfRagOutcome {
  readonly decision: Exclude<SelfRagDecision, "RETRY">
  readonly reason: SelfRagReason
  /** The answer, its "Sources:" list, a clarifying question, or why the docs can't answer. */
  readonly reply: string
  /** File and section of the passages the final answer cites (empty unless FINAL). */
  readonly sources: ReadonlyArray<SourceRef>
  readonly attempts: ReadonlyArray<SelfRagAttempt>
}

export interface SelfRagOptions {
  /** Limit the first retrieval to these documents; retries drop the scope. */
  readonly sources?: ReadonlyArray<string>
}

/** Passages per attempt: the first look is narrow, each retry casts a wider net. */
export const retrievalPlan = (attempt: number, options: SelfRagOptions) =>
  attempt === 1
    ? { limit: 4, broaden: false, sources: options.sources }
    : { limit: 4 + 3 * (attempt - 1), broaden: true, sources: undefined }

const reasonsFor = (decision: SelfRagDecision): ReadonlyArray<string> =>
  SELFRAG_OUTCOMES.filter(([d]) => d === decision).map(([, r]) => r)

/** The loop's verdict on one attempt: FINAL needs the critic's FINAL and a passing guardrail. */
const decide = (critique: Critique, check: CitationCheck): { decision: SelfRagDecision; reason: SelfRagReason } => {
  switch (critique.decision) {
    case "FINAL":
      return check.ok ? { decision: "FINAL", reason: "grounded" } : { decision: "RETRY", reason: check.verdict }
    case "RETRY":
      return { decision: "RETRY", reason: bounded(reasonsFor("RETRY"), critique.reason) as SelfRagReason }
    case "CLARIFY":
      return { decision: "CLARIFY", reason: "ambiguous_question" }
    case "ESCALATE":
      return { decision: "ESCALATE", reason: "no_evidence" }
  }
}

const uniqueSources = (passages: ReadonlyArray<Passage>): Array<SourceRef> => {
  const seen = new Set<string>()
  const refs: Array<SourceRef> = []
  for (const p of passages) {
    const key = `${p.source}\u0000${p.section}`
    if (seen.has(key)) continue
    seen.add(key)
    refs.push({ source: p.source, section: p.section })
  }
  return refs
}

const finalReply = (draft: string, passages: ReadonlyArray<Passage>, citations: ReadonlyArray<number>) => {
  const lines = citations
    .filter((n) => passages[n - 1] !== undefined)
    .map((n) => `[${n}] ${passages[n - 1]!.source} — ${passages[n - 1]!.section}`)
  return `${draft.trim()}\n\nSources:\n${lines.join("\n")}`
}

const CLARIFY_REPLY = [
  "Could you tell me a bit more about what you need? Which feature or task is it about (blocking an IP, protection modes, rate limiting, the API token, an incident...), and what did you try or see?",
  'A full question works best, for example "How do I rotate the SafeLine API token?" or "What does dry_run mode do?".'
].join("\n")

const ESCALATION_ADVICE =
  'Please check SafeLine\'s official documentation or ask your SafeLine administrator or security team; for live data (attacks, traffic, protection mode) ask me directly, for example "show attacks in the last hour".'

const escalateReply = (reason: SelfRagReason, attempts: number, nearest: ReadonlyArray<Passage>) => {
  const closest = uniqueSources(nearest)
    .slice(0, 3)
    .map((s) => `${s.source} — ${s.section}`)
  return [
    reason === "attempts_exhausted"
      ? `The bundled documentation doesn't answer this confidently (${attempts} attempts to find supporting passages), so I won't guess.`
      : "The bundled documentation doesn't cover this, so I won't guess.",
    closest.length > 0 ? `The closest sections I found, which may help you look further: ${closest.join("; ")}.` : "",
    ESCALATION_ADVICE
  ]
    .filter((l) => l !== "")
    .join("\n")
}

interface AttemptResult extends SelfRagAttempt {
  readonly passages: ReadonlyArray<Passage>
  readonly draft: string
}

/**
 * Answers a documentation question with cited passages, or asks for clarification, or says the
 * documentation does not answer it. Reasoner and tool failures surface as typed errors.
 */
export const runSelfRag = (
  question: string,
  agent: AgentName,
  options: SelfRagOptions = {}
): Effect.Effect<SelfRagOutcome, ReasonerError | ToolError, AppConfig | RagSearchTool | Reasoner | Telemetry> =>
  Effect.gen(function* () {
    const { selfragMaxAttempts: maxAttempts, selfragMinCitations: minCitations } = (yield* AppConfig).rag
    const rag = yield* RagSearchTool
    const reasoner = yield* Reasoner
    const telemetry = yield* Telemetry

    const runAttempt = (attempt: number) =>
      Effect.gen(function* () {
        const plan = retrievalPlan(attempt, options)
        const scoped = plan.sources !== undefined && plan.sources.length > 0
        const passages = yield* rag.search(agent, question, {
          limit: plan.limit,
          broaden: plan.broaden,
          ...(scoped ? { sources: plan.sources } : {})
        })
        const retrievalMeta = { attempt, passages: passages.length, limit: plan.limit, broaden: plan.broaden, scoped }
        let result: AttemptResult
        let critic: Record<string, unknown> = {}
        if (passages.length === 0) {
          yield* telemetry.recordGuardrail({
            gate: "selfrag_retrieval",
            decision: "deny",
            reason: "no_evidence",
            metadata: retrievalMeta
          })
          // A scoped search that found nothing gets another chance without the scope.
          const retry = scoped && attempt < maxAttempts
          result = {
            attempt,
            decision: retry ? "RETRY" : "ESCALATE",
            reason: retry ? "insufficient_evidence" : "no_evidence",
            citations: [],
            citationsOk: false,
            passages,
            draft: ""
          }
        } else {
          yield* telemetry.recordGuardrail({
            gate: "selfrag_retrieval",
            decision: "allow",
            reason: "evidence_found",
            metadata: retrievalMeta
          })
          const draft = yield* reasoner.draftAnswer({ question, passages })
          const critique = yield* reasoner.critique({ question, draft, passages })
          const check = checkCitations(draft, passages, minCitations)
          yield* telemetry.recordGuardrail({
            gate: "selfrag_decision",
            decision: check.ok ? "allow" : "deny",
            reason: check.verdict,
            metadata: {
              attempt,
              citations: check.citations,
              ...(check.outOfRange.length > 0 ? { out_of_range: check.outOfRange } : {}),
              ...(check.unsupported.length > 0 ? { unsupported: check.unsupported.map((u) => u.citation) } : {})
            }
          })
          result = {
            attempt,
            ...decide(critique, check),
            citations: check.citations,
            citationsOk: check.ok,
            passages,
            draft
          }
          critic = { critic_decision: critique.decision, critic_reason: critique.reason.slice(0, 100) }
        }
        if (result.decision === "RETRY" && attempt === maxAttempts) {
          result = { ...result, decision: "ESCALATE", reason: "attempts_exhausted" }
        }
        yield* telemetry.recordSelfRagDecision({
          attempt,
          decision: result.decision,
          reason: result.reason,
          citationsOk: result.citationsOk,
          citations: result.citations,
          metadata: { ...critic, passages: passages.length }
        })
        yield* Effect.annotateCurrentSpan({
          "security_agent.selfrag.decision": result.decision,
          "security_agent.selfrag.reason": result.reason,
          "security_agent.selfrag.citations_ok": result.citationsOk,
          ...Object.fromEntries(Object.entries(critic).map(([k, v]) => [`security_agent.selfrag.${k}`, v]))
        })
        return result
      }).pipe(
        withTurnChildSpan(`selfrag.attempt ${attempt}`, {
          "security_agent.selfrag.attempt": attempt,
          "gen_ai.agent.name": agent
        })
      )

    const attempts: Array<AttemptResult> = []
    let last: AttemptResult | undefined
    for (let n = 1; n <= maxAttempts; n++) {
      last = yield* runAttempt(n)
      attempts.push(last)
      if (last.decision !== "RETRY") break
    }
    const final = last!
    const trace: ReadonlyArray<SelfRagAttempt> = attempts.map(
      ({ attempt, decision, reason, citations, citationsOk }) => ({
        attempt,
        decision,
        reason,
        citations,
        citationsOk
      })
    )
    const nearest = attempts.flatMap((a) => a.passages)
    switch (final.decision) {
      case "FINAL":
        return {
          decision: "FINAL",
          reason: final.reason,
          reply: finalReply(final.draft, final.passages, final.citations),
          sources: uniqueSources(final.citations.map((n) => final.passages[n - 1]!)),
          attempts: trace
        }
      case "CLARIFY":
        return { decision: "CLARIFY", reason: final.reason, reply: CLARIFY_REPLY, sources: [], attempts: trace }
      default:
        // ESCALATE (the loop never ends on RETRY: the last attempt's RETRY became attempts_exhausted).
        return {
          decision: "ESCALATE",
          reason: final.reason,
          reply: escalateReply(final.reason, attempts.length, nearest),
          sources: [],
          attempts: trace
        }
    }
  })
