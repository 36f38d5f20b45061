// Routing evaluation with a language model: the held-out set of data/eval/routing.json through the
// configured LLM reasoner's `proposeRoute` (the model's answer behind the route guardrail and the
// classifier's override), beside the offline classifier, so a user can compare models on their server.
import { readFileSync } from "node:fs"
import { Effect } from "effect"
import { resolveDataPath } from "../config/DataPaths.js"
import { SPECIALISTS, type SpecialistName } from "../domain/Agents.js"
import { ROUTE_OVERRIDE_CONFIDENCE } from "../reasoning/LlmReasoner.js"
import { Reasoner } from "../reasoning/Reasoner.js"
import { type LabelledExample, loadRoutingExamples, trainRouteClassifier } from "../reasoning/RouteClassifier.js"
import { evaluationApp } from "./EvalGrounding.js"
import { ROUTING_EVAL_SET } from "./EvalRouting.js"

export interface ModelRoutingReport {
  readonly provider: string
  readonly model: string
  readonly total: number
  readonly correct: number
  /** Routes that ended right, whoever chose them. */
  readonly accuracy: number
  /** Routes the classifier could not have decided alone (the model's answer differs from it, or it was unsure). */
  readonly modelShare: number
  /** Accuracy of the routes the model chose. */
  readonly modelAccuracy: number
}

export const evaluateModelRouting = (
  provider: "openai" | "google" | "anthropic",
  evaluation: ReadonlyArray<LabelledExample> = JSON.parse(readFileSync(resolveDataPath(ROUTING_EVAL_SET), "utf8"))
) =>
  Effect.gen(function* () {
    const reasoner = yield* Reasoner
    const classifier = trainRouteClassifier(loadRoutingExamples())
    let correct = 0
    let byModel = 0
    let byModelCorrect = 0
    for (const example of evaluation) {
      const route = (yield* reasoner.proposeRoute(example.text, [])) as SpecialistName
      const offline = classifier.classify(example.text)
      // The guardrail overrules the model only with the classifier's own route: a route that
      // differs from it, or agrees with an unconfident classifier, is the model's.
      const modelChose = route !== offline.route || offline.confidence < ROUTE_OVERRIDE_CONFIDENCE
      if (modelChose) byModel++
      if (route === example.route) {
        correct++
        if (modelChose) byModelCorrect++
      }
    }
    const total = evaluation.length
    return {
      provider: reasoner.provider,
      model: reasoner.model,
      total,
      correct,
      accuracy: total === 0 ? 0 : correct / total,
      modelShare: total === 0 ? 0 : byModel / total,
      modelAccuracy: byModel === 0 ? 0 : byModelCorrect / byModel
    } satisfies ModelRoutingReport
  }).pipe(Effect.provide(evaluationApp({ provider })))

const percent = (x: number) => `${(x * 100).toFixed(1)} %`

export const formatModelRoutingReport = (report: ModelRoutingReport): string =>
  [
    `Routing with ${report.provider} ${report.model}: ${percent(report.accuracy)} (${report.correct}/${report.total})`,
    `  routed by the model itself: ${percent(report.modelShare)}, of which right: ${percent(report.modelAccuracy)}`,
    `  (valid specialists: ${SPECIALISTS.join(", ")})`
  ].join("\n")

interface SideBySideInput {
  readonly offline: { readonly routingAccuracy: number; readonly grounding: GroundingFigures }
  readonly model: ModelRoutingReport & { readonly grounding: GroundingFigures }
}

interface GroundingFigures {
  readonly groundingRate: number
  readonly citationValidity: number
  readonly escalationRate: number
}

/** The offline reasoner and the model, figure by figure, on the same sets. */
export const formatSideBySide = ({ offline, model }: SideBySideInput): string => {
  // A model name is whatever the server or the environment says: one line, in one column.
  const name = `${model.provider} ${model.model}`.replace(/\s+/g, " ")
  const width = Math.max(16, name.length + 2)
  const row = (label: string, a: number, b: number) =>
    `  ${label.padEnd(30)}${percent(a).padStart(10)}  ${percent(b).padStart(width)}`
  return [
    `${"Side by side:".padEnd(32)}${"offline".padStart(10)}  ${name.padStart(width)}`,
    row("routing accuracy", offline.routingAccuracy, model.accuracy),
    row("grounding rate", offline.grounding.groundingRate, model.grounding.groundingRate),
    row("citation validity", offline.grounding.citationValidity, model.grounding.citationValidity),
    row("escalation (unanswerable)", offline.grounding.escalationRate, model.grounding.escalationRate)
  ].join("\n")
}
