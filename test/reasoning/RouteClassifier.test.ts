import { describe, expect, it } from "vitest"
import { evaluateRouting, formatRoutingReport } from "../../src/eval/EvalRouting.js"
import { loadRoutingExamples, trainRouteClassifier } from "../../src/reasoning/RouteClassifier.js"

describe("offline routing", () => {
  it("reaches at least 90 % accuracy on the held-out evaluation set", () => {
    const report = evaluateRouting()
    expect(report.total).toBeGreaterThanOrEqual(80)
    expect(report.accuracy).toBeGreaterThanOrEqual(0.9)
    expect(formatRoutingReport(report)).toContain("confusion")
  })

  it("keeps the evaluation set apart from the training examples", () => {
    const training = new Set(loadRoutingExamples().map((e) => e.text.toLowerCase()))
    const report = evaluateRouting()
    expect(report.total).toBeGreaterThan(0)
    const evaluation = evaluateRouting(loadRoutingExamples(), [])
    expect(evaluation.total).toBe(0)
    for (const miss of report.misses) expect(training.has(miss.text.toLowerCase())).toBe(false)
  })

  it("is learned from examples: a new label set changes its answers", () => {
    const classifier = trainRouteClassifier([
      { text: "purple elephants", route: "tuner" },
      { text: "green giraffes", route: "reporter" }
    ])
    expect(classifier.classify("elephants").route).toBe("tuner")
    expect(classifier.classify("giraffes").route).toBe("reporter")
    expect(classifier.classify("zzz").route).toBe("direct")
  })
})
