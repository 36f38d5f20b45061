// The latest trace exemplars of the duration histograms (turn, tool, GenAI), so a slow bucket on a
// dashboard links to one trace that landed in it. Effect metrics keep no exemplars: the recorders
// add them here, and the OpenMetrics exposition prints the newest one per bucket.

export interface Exemplar {
  readonly traceId: string
  readonly spanId: string
  readonly value: number
  /** Epoch milliseconds of the observation. */
  readonly timestampMs: number
}

/** Newest exemplars kept per series: enough to find one for each of the busy buckets. */
const PER_SERIES = 16
/** Series with exemplars, bounded like the label sets themselves. */
const MAX_SERIES = 10_000

export interface Exemplars {
  /** Keeps `exemplar` for the series `name{labelKey}` (labelKey as `seriesLabelKey` renders it). */
  readonly record: (name: string, labelKey: string, exemplar: Exemplar) => void
  /** The exemplars of a series, oldest first. */
  readonly of: (name: string, labelKey: string) => ReadonlyArray<Exemplar>
}

export const makeExemplars = (): Exemplars => {
  // By name, then label key: looked up without building a `name{labels}` string per observation.
  const byName = new Map<string, Map<string, Array<Exemplar>>>()
  let series = 0
  return {
    record: (name, labelKey, exemplar) => {
      let byLabels = byName.get(name)
      if (byLabels === undefined) {
        byLabels = new Map()
        byName.set(name, byLabels)
      }
      let list = byLabels.get(labelKey)
      if (list === undefined) {
        if (series >= MAX_SERIES) return
        list = []
        byLabels.set(labelKey, list)
        series++
      }
      list.push(exemplar)
      if (list.length > PER_SERIES) list.shift()
    },
    of: (name, labelKey) => byName.get(name)?.get(labelKey) ?? []
  }
}

/**
 * The newest exemplar whose value falls in the bucket (lower, upper]: OpenMetrics wants a
 * bucket's exemplar to lie within it.
 */
export const exemplarForBucket = (
  exemplars: ReadonlyArray<Exemplar>,
  lower: number,
  upper: number
): Exemplar | undefined => {
  for (let i = exemplars.length - 1; i >= 0; i--) {
    const e = exemplars[i]!
    if (e.value > lower && e.value <= upper) return e
  }
  return undefined
}
