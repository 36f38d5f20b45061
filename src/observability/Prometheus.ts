// Renders Effect metric snapshots as Prometheus text exposition 0.0.4 (the default) or, when a
// scraper asks for it, OpenMetrics 1.0 with trace exemplars on the duration histograms.
// Hand-rendered rather than via @opentelemetry/exporter-prometheus: we need exact names (no
// `# UNIT` lines or scope labels), labels sorted by name, merged duplicate keys, and speed at
// 10k series; the format is small and promtool checks our output in the tests.
import type { MetricPair } from "effect"
import { MetricState } from "effect"
import { type Exemplar, type Exemplars, exemplarForBucket } from "./Exemplars.js"

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
export const OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"

export type ExpositionFormat = "prometheus" | "openmetrics"

/**
 * The format an `Accept` header asks for: OpenMetrics when `application/openmetrics-text` is
 * acceptable (q > 0) and preferred at least as much as text/plain; text 0.0.4 otherwise (no
 * header, curl's `*\/*`, a browser).
 */
export const negotiateExposition = (accept: string | undefined): ExpositionFormat => {
  if (accept === undefined) return "prometheus"
  let openMetrics = 0
  let text = 0
  for (const part of accept.split(",")) {
    const [type = "", ...params] = part.split(";").map((p) => p.trim().toLowerCase())
    const qParam = params.find((p) => p.startsWith("q="))
    const q = qParam === undefined ? 1 : Number(qParam.slice(2))
    if (!Number.isFinite(q)) continue
    if (type === "application/openmetrics-text") openMetrics = Math.max(openMetrics, q)
    else if (type === "text/plain") text = Math.max(text, q)
  }
  return openMetrics > 0 && openMetrics >= text ? "openmetrics" : "prometheus"
}

const NEEDS_ESCAPE = /[\\\n"]/

const escapeLabelValue = (value: string): string =>
  NEEDS_ESCAPE.test(value) ? value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"') : value

const escapeHelp = (text: string): string => text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")
/** OpenMetrics escapes double quotes in HELP too. */
const escapeHelpOpenMetrics = (text: string): string => escapeHelp(text).replace(/"/g, '\\"')

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

/** The `k="v",...` key of a label set, as the renderer prints it: how exemplars find their series. */
export const seriesLabelKey = (labels: Readonly<Record<string, string>>): string =>
  renderLabelPairs(sortedLabels(Object.entries(labels).map(([key, value]) => ({ key, value }))))

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

const renderExemplar = (e: Exemplar): string =>
  ` # {span_id="${e.spanId}",trace_id="${e.traceId}"} ${formatNumber(e.value)} ${(e.timestampMs / 1000).toFixed(3)}`

export interface RenderOptions {
  readonly format?: ExpositionFormat
  /** Exemplars for histogram buckets; printed only in OpenMetrics (text 0.0.4 has no syntax for them). */
  readonly exemplars?: Exemplars
}

/**
 * Renders every metric whose name passes `include`. Two keys that differ only in description
 * or tag order render as one series (their values merged), so the output has no duplicates.
 * OpenMetrics differs in three ways: a counter family is named without `_total` (its sample keeps
 * it), buckets may carry a `trace_id` exemplar, and the text ends with `# EOF`.
 */
export const renderPrometheus = (
  pairs: ReadonlyArray<MetricPair.MetricPair.Untyped>,
  include: (name: string) => boolean,
  options: RenderOptions = {}
): string => {
  const openMetrics = options.format === "openmetrics"
  const exemplars = openMetrics ? options.exemplars : undefined
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
    if (openMetrics) {
      const counterBase = family.kind === "counter" && name.endsWith("_total") ? name.slice(0, -6) : undefined
      const familyName = counterBase ?? name
      const type = family.kind === "counter" && counterBase === undefined ? "unknown" : family.kind
      out += `# HELP ${familyName} ${escapeHelpOpenMetrics(family.help)}\n# TYPE ${familyName} ${type}\n`
    } else {
      out += `# HELP ${name} ${escapeHelp(family.help)}\n# TYPE ${name} ${family.kind}\n`
    }
    for (const [labelPairs, state] of family.series) {
      const labelText = labelPairs === "" ? "" : `{${labelPairs}}`
      if (MetricState.isCounterState(state)) {
        out += `${name}${labelText} ${formatNumber(state.count)}\n`
      } else if (MetricState.isGaugeState(state)) {
        out += `${name}${labelText} ${formatNumber(state.value)}\n`
      } else if (MetricState.isHistogramState(state)) {
        // `le` goes last, after the sorted labels, as before; only its value changes per bucket.
        const lePrefix = `${name}_bucket{${labelPairs === "" ? "" : `${labelPairs},`}le="`
        const seriesExemplars = exemplars?.of(name, labelPairs) ?? []
        let lower = Number.NEGATIVE_INFINITY
        for (const [bound, cumulative] of state.buckets) {
          if (bound === Number.POSITIVE_INFINITY) continue
          out += `${lePrefix}${formatNumber(bound)}"} ${cumulative}`
          const exemplar = seriesExemplars.length === 0 ? undefined : exemplarForBucket(seriesExemplars, lower, bound)
          out += exemplar === undefined ? "\n" : `${renderExemplar(exemplar)}\n`
          lower = bound
        }
        out += `${lePrefix}+Inf"} ${state.count}`
        const overflow =
          seriesExemplars.length === 0 ? undefined : exemplarForBucket(seriesExemplars, lower, Number.POSITIVE_INFINITY)
        out += overflow === undefined ? "\n" : `${renderExemplar(overflow)}\n`
        out += `${name}_sum${labelText} ${formatNumber(state.sum)}\n`
        out += `${name}_count${labelText} ${state.count}\n`
      }
    }
  }
  return openMetrics ? `${out}# EOF\n` : out
}
