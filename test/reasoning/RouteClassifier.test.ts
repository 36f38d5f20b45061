import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { resolveDataPath } from "../../src/config/DataPaths.js"
import { evaluateRouting, formatRoutingReport, ROUTING_EVAL_SET } from "../../src/eval/EvalRouting.js"
import { loadRoutingExamples, trainRouteClassifier } from "../../src/reasoning/RouteClassifier.js"

const normalise = (text: string) => text.toLowerCase().replace(/\s+/g, " ").trim()

describe("offline routing", () => {
  it("reaches at least 97 % on the held-out evaluation set and sends no order to a read-only agent", () => {
    const report = evaluateRouting()
    expect(report.total).toBeGreaterThanOrEqual(150)
    expect(report.accuracy).toBeGreaterThanOrEqual(0.97)
    expect(report.perRoute.config_manager.total).toBeGreaterThanOrEqual(50)
    expect(report.ordersMisrouted).toBe(0)
    expect(formatRoutingReport(report)).toContain("confusion")
  })

  it("never trains on the evaluation set: the two share no query", () => {
    const training = new Set(loadRoutingExamples().map((e) => normalise(e.text)))
    const evaluation: ReadonlyArray<{ text: string }> = JSON.parse(
      readFileSync(resolveDataPath(ROUTING_EVAL_SET), "utf8")
    )
    expect(evaluation.length).toBeGreaterThan(0)
    const shared = evaluation.filter((e) => training.has(normalise(e.text))).map((e) => e.text)
    expect(shared).toEqual([])
  })

  it("routes the orders the issue saw misread (polite, with a reason) to config_manager", () => {
    const classifier = trainRouteClassifier(loadRoutingExamples())
    for (const order of [
      "could you please blacklist 198.51.100.23, thank you",
      "switch to detect mode because the new release trips the sqli rule",
      "turn protection off, we are doing maintenance"
    ]) {
      expect(classifier.classify(order).route, order).toBe("config_manager")
    }
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
