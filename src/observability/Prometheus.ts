// Renders Effect metric snapshots as Prometheus text exposition 0.0.4.
// Hand-rendered rather than via @opentelemetry/exporter-prometheus: we need exact names (no
// `# UNIT` lines or scope labels), labels sorted by name, merged duplicate keys, and speed at
// 10k series; the format is small and promtool checks our output in the tests.
import type { MetricPair } from "effect"
import { MetricState } from "effect"

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

const NEEDS_ESCAPE = /[\\\n"]/

const escapeLabelValue = (value: string): string =>
  NEEDS_ESCAPE.test(value) ? value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"') : value

const escapeHelp = (text: string): string => text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")

const formatNumber = (value: number | bigint): string => {
  if (typeof value === "bigint") return value.toString()
  if (Number.isNaN(value)) return "NaN"
  if (value === Number.POSITIVE_INFINITY) return "+Inf"
  if (value === Number.NEGATIVE_INFINITY) return "-Inf"
  return String(value)
}

const VALID_LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/

/** Label names must be valid Prometheus identifiers; anything else is mapped to `_`. */
const sanitizeLabelName = (name: string): string => {
  if (VALID_LABEL_NAME.test(name)) return name
  const cleaned = name.replace(/[^a-zA-Z0-9_]/g, "_")
  return /^[0-9]/.test(cleaned) ? `_${cleaned}` : cleaned
}

/** `k="v",k2="v2"` (no braces), the labels already sorted by name. */
const renderLabelPairs = (labels: ReadonlyArray<readonly [string, string]>): string => {
  let text = ""
  for (let i = 0; i < labels.length; i++) {
    const [k, v] = labels[i]!
    text += `${i === 0 ? "" : ","}${k}="${escapeLabelValue(v)}"`
  }
  return text
}

const byName = (x: readonly [string, string], y: readonly [string, string]) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)

/** The tags as sanitised, name-sorted pairs (tags usually arrive sorted: sort only if not). */
const sortedLabels = (tags: ReadonlyArray<{ readonly key: string; readonly value: string }>) => {
  const labels: Array<readonly [string, string]> = new Array(tags.length)
  let sorted = true
  for (let i = 0; i < tags.length; i++) {
    const tag = tags[i]!
    labels[i] = [sanitizeLabelName(tag.key), tag.value]
    if (i > 0 && labels[i - 1]![0] > labels[i]![0]) sorted = false
  }
  return sorted ? labels : labels.sort(byName)
}

type Kind = "counter" | "gauge" | "histogram"

interface Family {
  kind: Kind
  help: string
  /** One entry per distinct label set, keyed by its rendered `k="v",...` pairs. */
  series: Map<string, MetricState.MetricState.Untyped>
}

const kindOf = (state: MetricState.MetricState.Untyped): Kind | undefined => {
  if (MetricState.isCounterState(state)) return "counter"
  if (MetricState.isGaugeState(state)) return "gauge"
  if (MetricState.isHistogramState(state)) return "histogram"
  return undefined
}

const mergeStates = (
  kind: Kind,
  a: MetricState.MetricState.Untyped,
  b: MetricState.MetricState.Untyped
): MetricState.MetricState.Untyped => {
  if (kind === "counter" && MetricState.isCounterState(a) && MetricState.isCounterState(b)) {
    return MetricState.counter(Number(a.count) + Number(b.count))
  }
  if (kind === "histogram" && MetricState.isHistogramState(a) && MetricState.isHistogramState(b)) {
    return MetricState.histogram({
      buckets: a.buckets.map(([le, n], i) => [le, n + (b.buckets[i]?.[1] ?? 0)] as const),
      count: a.count + b.count,
      min: Math.min(a.min, b.min),
      max: Math.max(a.max, b.max),
      sum: a.sum + b.sum
    })
  }
  return b
}

/**
 * Renders every metric whose name passes `include`. Two keys that differ only in description
 * or tag order render as one series (their values merged), so the output has no duplicates.
 */
export const renderPrometheus = (
  pairs: ReadonlyArray<MetricPair.MetricPair.Untyped>,
  include: (name: string) => boolean
): string => {
  const families = new Map<string, Family>()
  for (const pair of pairs) {
    const name = pair.metricKey.name
    if (!include(name)) continue
    const kind = kindOf(pair.metricState)
    if (kind === undefined) continue
    let family = families.get(name)
    if (family === undefined) {
      family = {
        kind,
        help: pair.metricKey.description._tag === "Some" ? pair.metricKey.description.value : name,
        series: new Map()
      }
      families.set(name, family)
    } else if (family.kind !== kind) {
      continue
    }
    const key = renderLabelPairs(sortedLabels(pair.metricKey.tags))
    const existing = family.series.get(key)
    family.series.set(key, existing === undefined ? pair.metricState : mergeStates(kind, existing, pair.metricState))
  }

  // Built by appending to one string; label pairs are rendered once per series (bucket lines
  // reuse them), which is what keeps 10k series at prom-client's speed or better.
  let out = ""
  for (const name of [...families.keys()].sort()) {
    const family = families.get(name)!
    out += `# HELP ${name} ${escapeHelp(family.help)}\n# TYPE ${name} ${family.kind}\n`
    for (const [labelPairs, state] of family.series) {
      const labelText = labelPairs === "" ? "" : `{${labelPairs}}`
      if (MetricState.isCounterState(state)) {
        out += `${name}${labelText} ${formatNumber(state.count)}\n`
      } else if (MetricState.isGaugeState(state)) {
        out += `${name}${labelText} ${formatNumber(state.value)}\n`
      } else if (MetricState.isHistogramState(state)) {
        // `le` goes last, after the sorted labels, as before; only its value changes per bucket.
        const lePrefix = `${name}_bucket{${labelPairs === "" ? "" : `${labelPairs},`}le="`
        for (const [bound, cumulative] of state.buckets) {
          if (bound === Number.POSITIVE_INFINITY) continue
          out += `${lePrefix}${formatNumber(bound)}"} ${cumulative}\n`
        }
        out += `${lePrefix}+Inf"} ${state.count}\n`
        out += `${name}_sum${labelText} ${formatNumber(state.sum)}\n`
        out += `${name}_count${labelText} ${state.count}\n`
      }
    }
  }
  return out
}
