// Routing evaluation: the offline classifier against the labelled set in data/eval/routing.json,
// which is kept apart from the training examples; accuracy per route and a confusion matrix.
import { readFileSync } from "node:fs"
import { resolveDataPath } from "../config/DataPaths.js"
import { SPECIALISTS, type SpecialistName } from "../domain/Agents.js"
import { type LabelledExample, loadRoutingExamples, trainRouteClassifier } from "../reasoning/RouteClassifier.js"

export const ROUTING_EVAL_SET = "data/eval/routing.json"

export interface RoutingReport {
  readonly total: number
  readonly correct: number
  readonly accuracy: number
  readonly perRoute: Record<
    SpecialistName,
    { readonly total: number; readonly correct: number; readonly accuracy: number }
  >
  /** confusion[expected][predicted] = count */
  readonly confusion: Record<SpecialistName, Record<SpecialistName, number>>
  /** Orders (expected config_manager) sent to a read-only agent or `direct`: must stay 0. */
  readonly ordersMisrouted: number
  readonly misses: ReadonlyArray<{
    readonly text: string
    readonly expected: SpecialistName
    readonly predicted: SpecialistName
  }>
}

export const evaluateRouting = (
  training: ReadonlyArray<LabelledExample> = loadRoutingExamples(),
  evaluation: ReadonlyArray<LabelledExample> = JSON.parse(readFileSync(resolveDataPath(ROUTING_EVAL_SET), "utf8"))
): RoutingReport => {
  const classifier = trainRouteClassifier(training)
  const zeroRow = () => Object.fromEntries(SPECIALISTS.map((s) => [s, 0])) as Record<SpecialistName, number>
  const confusion = Object.fromEntries(SPECIALISTS.map((s) => [s, zeroRow()])) as RoutingReport["confusion"]
  const misses: Array<RoutingReport["misses"][number]> = []
  for (const example of evaluation) {
    const predicted = classifier.classify(example.text).route
    confusion[example.route][predicted] += 1
    if (predicted !== example.route) misses.push({ text: example.text, expected: example.route, predicted })
  }
  const perRoute = Object.fromEntries(
    SPECIALISTS.map((route) => {
      const total = Object.values(confusion[route]).reduce((a, b) => a + b, 0)
      const correct = confusion[route][route]
      return [route, { total, correct, accuracy: total === 0 ? 1 : correct / total }]
    })
  ) as RoutingReport["perRoute"]
  const total = evaluation.length
  const correct = total - misses.length
  const ordersMisrouted = misses.filter((m) => m.expected === "config_manager").length
  return { total, correct, accuracy: total === 0 ? 0 : correct / total, perRoute, confusion, ordersMisrouted, misses }
}

const pad = (text: string, width: number) => text.padStart(width)

export const formatRoutingReport = (report: RoutingReport): string => {
  const abbreviations = SPECIALISTS.map((s) => s.slice(0, 6))
  const lines = [
    `Routing accuracy: ${(report.accuracy * 100).toFixed(1)} % (${report.correct}/${report.total})`,
    `Orders (config_manager) routed to a read-only agent or direct: ${report.ordersMisrouted}`,
    "",
    "route            accuracy",
    ...SPECIALISTS.map(
      (r) =>
        `${r.padEnd(16)} ${(report.perRoute[r].accuracy * 100).toFixed(0).padStart(5)} %  (${report.perRoute[r].correct}/${report.perRoute[r].total})`
    ),
    "",
    "confusion (rows: expected, columns: predicted)",
    `${"".padEnd(16)}${abbreviations.map((a) => pad(a, 7)).join("")}`,
    ...SPECIALISTS.map(
      (r) => `${r.padEnd(16)}${SPECIALISTS.map((p) => pad(String(report.confusion[r][p]), 7)).join("")}`
    )
  ]
  if (report.misses.length > 0) {
    lines.push("", "misrouted:", ...report.misses.map((m) => `  ${m.expected} → ${m.predicted}: ${m.text}`))
  }
  return lines.join("\n")
}
