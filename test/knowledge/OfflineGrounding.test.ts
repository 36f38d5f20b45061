// The offline draft (extractive, cited) and critic (support and coverage by overlap), on passages
// retrieved from the bundled documents.
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { checkCitations } from "../../src/knowledge/Citations.js"
import { KnowledgeBase } from "../../src/knowledge/KnowledgeBase.js"
import type { Passage } from "../../src/knowledge/Passage.js"
import { isVagueQuestion, offlineCritique, offlineDraft } from "../../src/reasoning/OfflineGrounding.js"

const DOCS = join(import.meta.dirname, "..", "..", "data", "docs")
const retrieve = (question: string, limit = 4) => Effect.flatMap(KnowledgeBase, (kb) => kb.search(question, { limit }))
const judge = (question: string, passages: ReadonlyArray<Passage>) => {
  const draft = offlineDraft({ question, passages })
  return { draft, critique: offlineCritique({ question, draft, passages }) }
}

describe("offline grounding", () => {
  const layer = KnowledgeBase.layerFromDir(DOCS)

  it.effect("drafts the best sentences of the passages, each cited, and the critic accepts them", () =>
    Effect.gen(function* () {
      const question = "How should we rotate the SafeLine API token?"
      const passages = yield* retrieve(question)
      const { draft, critique } = judge(question, passages)
      expect(draft).toMatch(/\[\d\]/)
      expect(draft).toMatch(/SAFELINE_API_TOKEN|rotate|Rotate/)
      expect(checkCitations(draft, passages, 1).ok).toBe(true)
      expect(critique).toEqual({ decision: "FINAL", reason: "grounded" })
    }).pipe(Effect.provide(layer))
  )

  it.effect("keeps a code block with the sentence introducing it", () =>
    Effect.gen(function* () {
      const question = "I lost the admin password for the SafeLine console, how do I reset it?"
      const { draft, critique } = judge(question, yield* retrieve(question))
      expect(draft).toContain("docker exec safeline-mgt resetadmin")
      expect(critique.decision).toBe("FINAL")
    }).pipe(Effect.provide(layer))
  )

  it.effect("asks for more evidence when the passages do not cover what the question names", () =>
    Effect.gen(function* () {
      for (const question of [
        "How do I configure SafeLine to send alerts to Slack?",
        "How much does a SafeLine enterprise license cost per year?"
      ]) {
        expect(judge(question, yield* retrieve(question, 10)).critique, question).toEqual({
          decision: "RETRY",
          reason: "insufficient_evidence"
        })
      }
    }).pipe(Effect.provide(layer))
  )

  it("escalates without passages and asks to clarify vague questions", () => {
    expect(offlineDraft({ question: "What is the capital of France?", passages: [] })).not.toMatch(/\[\d\]/)
    expect(offlineCritique({ question: "What is the capital of France?", draft: "", passages: [] })).toEqual({
      decision: "ESCALATE",
      reason: "no_evidence"
    })
    for (const vague of ["help", "it doesn't work", "can you check this?", "blocked"]) {
      expect(isVagueQuestion(vague), vague).toBe(true)
      expect(offlineCritique({ question: vague, draft: "", passages: [] }).decision).toBe("CLARIFY")
    }
    for (const precise of ["qps?", "dry_run?", "How do I block an IP?", "what is a WAF"])
      expect(isVagueQuestion(precise), precise).toBe(false)
  })

  it("rejects a draft whose citation does not support its sentence", () => {
    const passages: ReadonlyArray<Passage> = [
      {
        id: "a.md#0",
        source: "a.md",
        section: "Tokens",
        chunkIndex: 0,
        text: "Rotate the API token regularly.",
        score: 1
      }
    ]
    expect(
      offlineCritique({
        question: "How do I rotate the API token?",
        draft: "Bananas are yellow and sweet [1].",
        passages
      })
    ).toEqual({ decision: "RETRY", reason: "unsupported_citation" })
  })
})
