// Grounding evaluation: the Self-RAG loop over the bundled question set data/eval/grounding.json
// (documentation questions with the document that answers them, and questions the docs cannot
// answer, which must escalate), with the offline draft and critic unless another reasoner is given.
import { randomUUID } from "node:crypto"
import { readFileSync } from "node:fs"
import { ConfigProvider, Effect, Layer } from "effect"
import { runSelfRag } from "../agent/SelfRag.js"
import { appLayer } from "../app/AppLayer.js"
import { FileSinks } from "../app/ObservabilityLayer.js"
import { SafeLineClientOf } from "../app/SafeLineLive.js"
import { AppConfig } from "../config/AppConfig.js"
import { resolveDataPath } from "../config/DataPaths.js"
import type { SourceRef } from "../domain/Chat.js"
import type { SelfRagDecision } from "../domain/Outcomes.js"
import { LlmReasonerLive } from "../reasoning/LlmReasoner.js"
import { offlineCritique, offlineDraft } from "../reasoning/OfflineGrounding.js"
import { Reasoner, ReasonerError, type ReasonerService } from "../reasoning/Reasoner.js"
import { MemorySessionStore } from "../sessions/MemorySessionStore.js"
import { SafeLineSimulator } from "../simulator/Simulator.js"

export const GROUNDING_EVAL_SET = "data/eval/grounding.json"

export interface GroundingCase {
  readonly question: string
  /** What the loop should end with: FINAL for answerable questions, ESCALATE for the others. */
  readonly expect: Exclude<SelfRagDecision, "RETRY">
  /** The document that answers it (answerable questions). */
  readonly source?: string
  /** The heading of the answering section, when one section clearly does. */
  readonly section?: string
}

export interface GroundingCaseResult {
  readonly question: string
  readonly expect: GroundingCase["expect"]
  readonly expectedSource?: string
  readonly expectedSection?: string
  readonly decision: SelfRagDecision
  readonly reason: string
  readonly attempts: number
  readonly sources: ReadonlyArray<SourceRef>
  /** The reply cites the expected document. */
  readonly sourceHit: boolean
  /** The reply cites the expected section (when the case names one). */
  readonly sectionHit: boolean
  readonly passed: boolean
}

export interface GroundingReport {
  readonly total: number
  readonly answerable: number
  readonly unanswerable: number
  /** Answerable questions answered FINAL citing the expected document. */
  readonly groundingRate: number
  /** Drafts whose citations passed the guardrail (in range, each supported by its passage). */
  readonly citationValidity: number
  /** Unanswerable questions that ended as expected (ESCALATE). */
  readonly escalationRate: number
  /** Answerable questions citing the expected section, among those that name one. */
  readonly sectionHitRate: number
  readonly perCase: ReadonlyArray<GroundingCaseResult>
}

export const loadGroundingCases = (path: string = GROUNDING_EVAL_SET): ReadonlyArray<GroundingCase> =>
  JSON.parse(readFileSync(resolveDataPath(path), "utf8")) as ReadonlyArray<GroundingCase>

const unused = (what: string) =>
  Effect.fail(new ReasonerError({ message: `${what} is not part of the grounding evaluation`, errorType: "other" }))

/** The offline draft and critic alone: what the grounding evaluation measures by default. */
export const offlineGroundingReasoner: ReasonerService = {
  provider: "offline",
  model: "offline-extractive",
  offline: true,
  proposeRoute: () => unused("routing"),
  compose: () => unused("composing"),
  draftAnswer: (request) => Effect.sync(() => offlineDraft(request)),
  critique: (request) => Effect.sync(() => offlineCritique(request)),
  ping: Effect.void
}

export interface GroundingEvalOptions {
  readonly reasoner?: ReasonerService
  /** Settings on top of the defaults (e.g. SELFRAG_MAX_ATTEMPTS, KNOWLEDGE_DOCS_DIR). */
  readonly env?: Readonly<Record<string, string>>
  /**
   * A language model instead of the offline reasoner: the LLM reasoner of that provider, with its
   * settings (OPENAI_BASE_URL, OPENAI_MODEL, LLM_CONTEXT_TOKENS, ...) read from the environment.
   */
  readonly provider?: "openai" | "google" | "anthropic"
}

/**
 * The app's recipe with the evaluation's choices; SafeLine is a quiet stand-in nobody calls.
 * With a provider, the environment's settings apply under the evaluation's own.
 */
export const evaluationApp = (options: GroundingEvalOptions = {}) => {
  const settings = {
    AGENT_OBSERVABILITY_ENABLED: "false",
    GUARDRAIL_AUDIT_ENABLED: "false",
    AGENT_METRICS_NAMESPACE: "security_agent_grounding_eval",
    ...(options.provider === undefined ? {} : { LLM_PROVIDER: options.provider }),
    ...options.env
  }
  const config =
    options.provider === undefined
      ? AppConfig.layerWith(settings)
      : AppConfig.layer.pipe(
          Layer.provide(
            Layer.setConfigProvider(
              ConfigProvider.fromMap(new Map(Object.entries(settings))).pipe(
                ConfigProvider.orElse(() => ConfigProvider.fromEnv())
              )
            )
          )
        )
  return appLayer({
    config,
    safeline: SafeLineClientOf(SafeLineSimulator.layer({ token: randomUUID(), historyMinutes: 0 })),
    reasoner:
      options.provider === undefined
        ? Layer.succeed(Reasoner, options.reasoner ?? offlineGroundingReasoner)
        : LlmReasonerLive,
    sessions: MemorySessionStore.layer,
    sinks: FileSinks
  })
}

const leaf = (section: string) => section.split(" > ").pop() ?? section
const ratio = (part: number, whole: number) => (whole === 0 ? 1 : part / whole)

/** Runs every case through runSelfRag over the knowledge base, with quiet (in-process, file-less) telemetry. */
export const evaluateGrounding = (
  cases: ReadonlyArray<GroundingCase> = loadGroundingCases(),
  options: GroundingEvalOptions = {}
) => {
  const app = evaluationApp(options)

  return Effect.gen(function* () {
    let drafted = 0
    let validDrafts = 0
    const perCase: Array<GroundingCaseResult> = []
    for (const c of cases) {
      const outcome = yield* runSelfRag(c.question, "rag_agent")
      for (const a of outcome.attempts) {
        if (a.citations.length > 0 || a.citationsOk) {
          drafted++
          if (a.citationsOk) validDrafts++
        }
      }
      const sourceHit = c.source !== undefined && outcome.sources.some((s) => s.source === c.source)
      const sectionHit =
        c.section !== undefined && outcome.sources.some((s) => s.source === c.source && leaf(s.section) === c.section)
      perCase.push({
        question: c.question,
        expect: c.expect,
        ...(c.source === undefined ? {} : { expectedSource: c.source }),
        ...(c.section === undefined ? {} : { expectedSection: c.section }),
        decision: outcome.decision,
        reason: outcome.reason,
        attempts: outcome.attempts.length,
        sources: outcome.sources,
        sourceHit,
        sectionHit,
        passed: c.expect === "FINAL" ? outcome.decision === "FINAL" && sourceHit : outcome.decision === c.expect
      })
    }
    const answerable = perCase.filter((r) => r.expect === "FINAL")
    const unanswerable = perCase.filter((r) => r.expect !== "FINAL")
    const withSection = answerable.filter((r) => r.expectedSection !== undefined)
    return {
      total: perCase.length,
      answerable: answerable.length,
      unanswerable: unanswerable.length,
      groundingRate: ratio(answerable.filter((r) => r.passed).length, answerable.length),
      citationValidity: ratio(validDrafts, drafted),
      escalationRate: ratio(unanswerable.filter((r) => r.passed).length, unanswerable.length),
      sectionHitRate: ratio(withSection.filter((r) => r.sectionHit).length, withSection.length),
      perCase
    } satisfies GroundingReport
  }).pipe(Effect.provide(app))
}

const percent = (x: number) => `${(x * 100).toFixed(1)} %`

export const formatGroundingReport = (report: GroundingReport): string => {
  const lines = [
    `Grounding rate: ${percent(report.groundingRate)} (${report.perCase.filter((r) => r.expect === "FINAL" && r.passed).length}/${report.answerable} answerable questions answered FINAL citing the expected document)`,
    `Citation validity: ${percent(report.citationValidity)} (drafts whose citations passed the guardrail)`,
    `Escalation on unanswerable questions: ${percent(report.escalationRate)} (${report.perCase.filter((r) => r.expect !== "FINAL" && r.passed).length}/${report.unanswerable})`,
    `Expected section cited: ${percent(report.sectionHitRate)}`
  ]
  const failed = report.perCase.filter((r) => !r.passed)
  if (failed.length > 0) {
    lines.push(
      "",
      "not as expected:",
      ...failed.map(
        (r) =>
          `  expected ${r.expect}, got ${r.decision} (${r.reason}, ${r.attempts} attempt${r.attempts === 1 ? "" : "s"}): ${r.question}` +
          (r.sources.length > 0 ? ` [cited ${r.sources.map((s) => s.source).join(", ")}]` : "")
      )
    )
  }
  return lines.join("\n")
}
