// The offline router: a multinomial logistic regression (softmax, L2-regularised, trained by
// deterministic stochastic gradient descent) over stemmed words, stem bigrams, character trigrams
// (so "blaklist" and "swich" still land) and shape features (IP, CVE, CWE, confirmation code),
// trained on the labelled examples in data/routing/train.json: learned from examples, not keywords.
import { readFileSync } from "node:fs"
import { stemmer } from "stemmer"
import { resolveDataPath } from "../config/DataPaths.js"
import { SPECIALISTS, type SpecialistName } from "../domain/Agents.js"

export interface LabelledExample {
  readonly text: string
  readonly route: SpecialistName
}

const STOP = new Set([
  "the",
  "a",
  "an",
  "is",
  "are",
  "to",
  "of",
  "in",
  "on",
  "for",
  "me",
  "my",
  "our",
  "we",
  "us",
  "please",
  "it",
  "this",
  "that",
  "i",
  "do",
  "be"
])

/** The features of a message: shape markers first, then stems, stem bigrams and character trigrams. */
export const featuresOf = (text: string): Array<string> => {
  const lower = text.toLowerCase()
  const features: Array<string> = []
  if (/\b\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?\b/.test(lower) || /\b[0-9a-f]{1,4}(:[0-9a-f]{0,4}){2,7}\b/.test(lower)) {
    features.push("#ip")
  }
  if (/\bcve-\d{4}-\d+/.test(lower)) features.push("#cve")
  if (/\bcwe-?\d+/.test(lower)) features.push("#cwe")
  if (/^\s*confirm\s+\d{6}\s*$/.test(lower)) features.push("#confirm")
  const words = lower
    .replace(/\bcve-\d{4}-\d+|\bcwe-?\d+|\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?/g, " ")
    .match(/[a-z][a-z0-9_'-]*/g)
  const kept = (words ?? []).map((w) => w.replace(/'s$/, "")).filter((w) => !STOP.has(w))
  const stems = kept.map((w) => stemmer(w))
  features.push(...stems)
  for (let i = 0; i + 1 < stems.length; i++) features.push(`${stems[i]}_${stems[i + 1]}`)
  for (const word of kept) {
    const padded = `<${word}>`
    for (let i = 0; i + 3 <= padded.length; i++) features.push(`~${padded.slice(i, i + 3)}`)
  }
  return [...new Set(features)]
}

export interface RouteClassifier {
  /** The most likely route and its posterior probability. */
  readonly classify: (text: string) => { readonly route: SpecialistName; readonly confidence: number }
}

export interface TrainingOptions {
  readonly epochs?: number
  readonly learningRate?: number
  readonly l2?: number
  readonly decay?: number
}

/**
 * Softmax regression: one weight per (feature, route) and a bias per route, fitted by full-batch
 * stochastic gradient descent from zero weights, so the same examples always give the same model. Feature
 * vectors are binary and scaled by 1/sqrt(n) so long messages do not dominate.
 */
export const trainRouteClassifier = (
  examples: ReadonlyArray<LabelledExample>,
  { epochs = 40, learningRate = 1, l2 = 1e-4, decay = 1e-3 }: TrainingOptions = {}
): RouteClassifier => {
  const routes = SPECIALISTS
  const routeIndex = new Map<SpecialistName, number>(routes.map((r, i) => [r, i]))
  const vocabulary = new Map<string, number>()
  const rows: Array<{ readonly ids: ReadonlyArray<number>; readonly label: number }> = []
  for (const { text, route } of examples) {
    const label = routeIndex.get(route)
    if (label === undefined) continue
    const ids = featuresOf(text).map((f) => {
      let id = vocabulary.get(f)
      if (id === undefined) {
        id = vocabulary.size
        vocabulary.set(f, id)
      }
      return id
    })
    rows.push({ ids, label })
  }
  const k = routes.length
  // Each route weighs the same in the loss: the training set's route sizes say nothing about real traffic.
  const perRoute = new Float64Array(k)
  for (const { label } of rows) perRoute[label] = perRoute[label]! + 1
  const present = perRoute.filter((n) => n > 0).length
  const classWeight = Array.from(perRoute, (n) => (n === 0 ? 0 : rows.length / (present * n)))
  const weights = new Float64Array(vocabulary.size * k)
  const bias = new Float64Array(k)
  const scores = new Float64Array(k)
  const softmax = (ids: ReadonlyArray<number>): Float64Array => {
    const scale = ids.length === 0 ? 0 : 1 / Math.sqrt(ids.length)
    for (let c = 0; c < k; c++) {
      let z = bias[c]!
      for (const id of ids) z += weights[id * k + c]! * scale
      scores[c] = z
    }
    const max = Math.max(...scores)
    let sum = 0
    for (let c = 0; c < k; c++) {
      scores[c] = Math.exp(scores[c]! - max)
      sum += scores[c]!
    }
    for (let c = 0; c < k; c++) scores[c] = scores[c]! / sum
    return scores
  }
  // Stochastic gradient descent in the examples' own order with a decaying step: deterministic,
  // and a few dozen passes are enough for a few hundred short messages.
  let t = 0
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (const { ids, label } of rows) {
      const step = learningRate / (1 + t++ * decay)
      const p = softmax(ids)
      const scale = ids.length === 0 ? 0 : 1 / Math.sqrt(ids.length)
      for (let c = 0; c < k; c++) {
        const error = (p[c]! - (c === label ? 1 : 0)) * classWeight[label]!
        bias[c] = bias[c]! - step * error
        for (const id of ids) {
          const w = id * k + c
          weights[w] = weights[w]! * (1 - step * l2) - step * error * scale
        }
      }
    }
  }
  return {
    classify: (text) => {
      const ids = featuresOf(text).flatMap((f) => {
        const id = vocabulary.get(f)
        return id === undefined ? [] : [id]
      })
      // Nothing recognised at all: a greeting or small talk is the safe default.
      if (ids.length === 0) return { route: "direct", confidence: 0 }
      const p = softmax(ids)
      let best = 0
      for (let c = 1; c < k; c++) if (p[c]! > p[best]!) best = c
      return { route: routes[best]!, confidence: p[best]! }
    }
  }
}

export const ROUTING_TRAINING_SET = "data/routing/train.json"

export const loadRoutingExamples = (path = ROUTING_TRAINING_SET): ReadonlyArray<LabelledExample> =>
  JSON.parse(readFileSync(resolveDataPath(path), "utf8")) as ReadonlyArray<LabelledExample>
