// The eval's side-by-side lines: the offline reasoner and a model, figure by figure, aligned.
import { describe, expect, it } from "@effect/vitest"
import { formatModelRoutingReport, formatSideBySide } from "../../src/eval/EvalModelRouting.js"

const model = {
  provider: "openai",
  model: "smollm2-135m",
  total: 164,
  correct: 120,
  accuracy: 120 / 164,
  modelShare: 0.25,
  modelAccuracy: 0.5
}
const grounding = { groundingRate: 0.5, citationValidity: 0.75, escalationRate: 1 }

describe("formatSideBySide", () => {
  it("puts each figure of the offline reasoner beside the model's, in aligned columns", () => {
    const text = formatSideBySide({
      offline: { routingAccuracy: 0.95, grounding: { groundingRate: 0.875, citationValidity: 1, escalationRate: 1 } },
      model: { ...model, grounding }
    })
    const lines = text.split("\n")
    expect(lines[0]).toMatch(/^Side by side:\s+offline\s+openai smollm2-135m$/)
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(/^ {2}routing accuracy\s+95\.0 %\s+73\.2 %$/),
      expect.stringMatching(/^ {2}grounding rate\s+87\.5 %\s+50\.0 %$/),
      expect.stringMatching(/^ {2}citation validity\s+100\.0 %\s+75\.0 %$/),
      expect.stringMatching(/^ {2}escalation \(unanswerable\)\s+100\.0 %\s+100\.0 %$/)
    ])
    // Every row ends in the same column as the header.
    expect(new Set(lines.map((l) => l.length)).size).toBe(1)
  })

  it("a hostile model name (very long, with newlines) cannot break the table into extra lines", () => {
    const name = `evil\nmodel ${"x".repeat(200)}`
    const text = formatSideBySide({
      offline: { routingAccuracy: 1, grounding },
      model: { ...model, model: name, grounding }
    })
    expect(text.split("\n")).toHaveLength(5)
  })
})

describe("formatModelRoutingReport", () => {
  it("says the model's share and its accuracy beside the overall accuracy", () => {
    const text = formatModelRoutingReport(model)
    expect(text).toContain("Routing with openai smollm2-135m: 73.2 % (120/164)")
    expect(text).toContain("routed by the model itself: 25.0 %, of which right: 50.0 %")
  })
})
