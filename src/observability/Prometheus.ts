// Renders Effect metric snapshots as Prometheus text exposition 0.0.4.
// Hand-rendered rather than via @opentelemetry/exporter-prometheus: we need exact names (no
// `# UNIT` lines or scope labels), labels sorted by name, merged duplicate keys, and speed at
// 10k series; the format is small and promtool checks our output in the tests.
import type { MetricPair } from "effect"
import { MetricState } from "effect"

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

const escapeLabelValue = (value: string): string =>
  value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"')

const escapeHelp = (text: string): string => text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")

const formatNumber = (value: number | bigint): string => {
  if (typeof value === "bigint") return value.toString()
  if (Number.isNaN(value)) return "NaN"
  if (value === Number.POSITIVE_INFINITY) return "+Inf"
  if (value === Number.NEGATIVE_INFINITY) return "-Inf"
  return String(value)
}

/** Label names must be valid Prometheus identifiers; anything else is mapped to `_`. */
const sanitizeLabelName = (name: string): string => {
  const cleaned = name.replace(/[^a-zA-Z0-9_]/g, "_")
  return /^[0-9]/.test(cleaned) ? `_${cleaned}` : cleaned
}

const renderLabels = (labels: ReadonlyArray<readonly [string, string]>): string =>
  labels.length === 0 ? "" : `{${labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",")}}`

type Kind = "counter" | "gauge" | "histogram"

interface Family {
  kind: Kind
  help: string
  /** One entry per distinct label set; keys are the rendered label string. */
  series: Map<string, { labels: ReadonlyArray<readonly [string, string]>; state: MetricState.MetricState.Untyped }>
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
    const labels = pair.metricKey.tags
      .map((t) => [sanitizeLabelName(t.key), t.value] as const)
      .sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))
    const key = renderLabels(labels)
    const existing = family.series.get(key)
    family.series.set(key, {
      labels,
      state: existing === undefined ? pair.metricState : mergeStates(kind, existing.state, pair.metricState)
    })
  }

  const out: Array<string> = []
  for (const name of [...families.keys()].sort()) {
    const family = families.get(name)!
    out.push(`# HELP ${name} ${escapeHelp(family.help)}`, `# TYPE ${name} ${family.kind}`)
    for (const [labelText, { labels, state }] of family.series) {
      if (MetricState.isCounterState(state)) {
        out.push(`${name}${labelText} ${formatNumber(state.count)}`)
      } else if (MetricState.isGaugeState(state)) {
        out.push(`${name}${labelText} ${formatNumber(state.value)}`)
      } else if (MetricState.isHistogramState(state)) {
        const withLe = (le: string) => renderLabels([...labels, ["le", le]])
        for (const [bound, cumulative] of state.buckets) {
          if (bound === Number.POSITIVE_INFINITY) continue
          out.push(`${name}_bucket${withLe(formatNumber(bound))} ${cumulative}`)
        }
        out.push(`${name}_bucket${withLe("+Inf")} ${state.count}`)
        out.push(`${name}_sum${labelText} ${formatNumber(state.sum)}`)
        out.push(`${name}_count${labelText} ${state.count}`)
      }
    }
  }
  return out.length === 0 ? "" : `${out.join("\n")}\n`
}
