// The grounding evaluation over the bundled set reports sensible figures: answerable questions
// are answered citing the right document, the unanswerable ones escalate.
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { evaluateGrounding, formatGroundingReport, loadGroundingCases } from "../../src/eval/EvalGrounding.js"

describe("evaluateGrounding", () => {
  it.effect("grounds at least 80 % of the answerable questions and escalates every unanswerable one", () =>
    Effect.gen(function* () {
      const cases = loadGroundingCases()
      expect(cases.filter((c) => c.expect === "FINAL").length).toBeGreaterThanOrEqual(20)
      expect(cases.filter((c) => c.expect === "ESCALATE").length).toBeGreaterThanOrEqual(3)
      const report = yield* evaluateGrounding(cases)
      console.info(formatGroundingReport(report))
      expect(report.total).toBe(cases.length)
      expect(report.perCase).toHaveLength(cases.length)
      expect(report.groundingRate).toBeGreaterThanOrEqual(0.8)
      expect(report.escalationRate).toBe(1)
      expect(report.citationValidity).toBeGreaterThanOrEqual(0.9)
      for (const c of report.perCase.filter((r) => r.expect === "ESCALATE")) expect(c.sources, c.question).toEqual([])
      expect(formatGroundingReport(report)).toMatch(/^Grounding rate: \d+\.\d % \(\d+\/\d+/)
    })
  )

  it.effect("counts a question answered from the wrong document as ungrounded", () =>
    Effect.gen(function* () {
      const report = yield* evaluateGrounding([
        { question: "How should we rotate the SafeLine API token?", expect: "FINAL", source: "owasp-top10-2021.md" }
      ])
      expect(report.groundingRate).toBe(0)
      expect(report.perCase[0]).toMatchObject({ decision: "FINAL", sourceHit: false, passed: false })
    })
  )
})
