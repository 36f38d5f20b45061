// The offline router: a multinomial naive Bayes classifier over stemmed words, bigrams and
// shape features (IP, CVE, CWE, confirmation code), trained on the labelled examples in
// data/routing/train.json — learned from examples, not keyword if-chains.
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

/** The features of a message: shape markers first, then stems and stem bigrams. */
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
  const stems = (words ?? []).filter((w) => !STOP.has(w)).map((w) => stemmer(w.replace(/'s$/, "")))
  features.push(...stems)
  for (let i = 0; i + 1 < stems.length; i++) features.push(`${stems[i]}_${stems[i + 1]}`)
  return features
}

export interface RouteClassifier {
  /** The most likely route and its posterior probability. */
  readonly classify: (text: string) => { readonly route: SpecialistName; readonly confidence: number }
}

export const trainRouteClassifier = (examples: ReadonlyArray<LabelledExample>, smoothing = 0.3): RouteClassifier => {
  const routes = SPECIALISTS
  const counts = new Map<SpecialistName, Map<string, number>>(routes.map((r) => [r, new Map()]))
  const totals = new Map<SpecialistName, number>(routes.map((r) => [r, 0]))
  const vocabulary = new Set<string>()
  for (const { text, route } of examples) {
    const table = counts.get(route)
    if (table === undefined) continue
    for (const f of featuresOf(text)) {
      table.set(f, (table.get(f) ?? 0) + 1)
      totals.set(route, totals.get(route)! + 1)
      vocabulary.add(f)
    }
  }
  const v = vocabulary.size
  return {
    classify: (text) => {
      const features = featuresOf(text).filter((f) => vocabulary.has(f))
      // Uniform prior: the training set's route sizes say nothing about real traffic.
      const scores = routes.map((route) => {
        const table = counts.get(route)!
        const denominator = totals.get(route)! + smoothing * v
        let logProb = 0
        for (const f of features) logProb += Math.log(((table.get(f) ?? 0) + smoothing) / denominator)
        return [route, logProb] as const
      })
      const best = Math.max(...scores.map(([, s]) => s))
      const normaliser = scores.reduce((sum, [, s]) => sum + Math.exp(s - best), 0)
      const [route, score] = scores.reduce((a, b) => (b[1] > a[1] ? b : a))
      // Nothing recognised at all: a greeting or small talk is the safe default.
      if (features.length === 0) return { route: "direct", confidence: 0 }
      return { route, confidence: Math.exp(score - best) / normaliser }
    }
  }
}

export const ROUTING_TRAINING_SET = "data/routing/train.json"

export const loadRoutingExamples = (path = ROUTING_TRAINING_SET): ReadonlyArray<LabelledExample> =>
  JSON.parse(readFileSync(resolveDataPath(path), "utf8")) as ReadonlyArray<LabelledExample>
