// The offline Reasoner: no network, fully deterministic. Routes with the n-gram logistic-regression classifier
// trained on data/routing, replies with the specialists' factual drafts, and drafts / critiques
// documentation answers extractively — so the whole product works, and is measured, without an LLM.
import { Effect, Layer } from "effect"
import { offlineCritique, offlineDraft } from "./OfflineGrounding.js"
import { Reasoner, type ReasonerService } from "./Reasoner.js"
import { type LabelledExample, loadRoutingExamples, trainRouteClassifier } from "./RouteClassifier.js"

export const makeOfflineReasoner = (examples: ReadonlyArray<LabelledExample>): ReasonerService => {
  const classifier = trainRouteClassifier(examples)
  return {
    provider: "offline",
    model: "offline-ngram-logreg",
    offline: true,
    proposeRoute: (message) => Effect.sync(() => classifier.classify(message).route),
    compose: (request) => Effect.succeed(request.draft),
    draftAnswer: (request) => Effect.sync(() => offlineDraft(request)),
    critique: (request) => Effect.sync(() => offlineCritique(request)),
    ping: Effect.void
  }
}

export const OfflineReasonerLive = Layer.effect(
  Reasoner,
  Effect.sync(() => makeOfflineReasoner(loadRoutingExamples()))
)
